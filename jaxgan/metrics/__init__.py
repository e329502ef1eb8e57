"""Evaluation metrics for GAN samples (host side, numpy / scikit-learn).

* :mod:`jaxgan.metrics.modes`: mode coverage, high-quality fraction and reverse KL on 2-D Gaussian
  mixtures, the VEEGAN / PacGAN protocol (``mode_metrics``, ``NUM_SAMPLES = 2500``).
* :mod:`jaxgan.metrics.digits`: a fixed 8x8 digits classifier (``classifier()``) and class-coverage
  metrics of generated digits (``digit_metrics``).

References:
  [VEEGAN] Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
           Learning", NeurIPS 2017.
  [PacGAN] Lin, Khetan, Fanti, Oh, "PacGAN: The Power of Two Samples in Generative Adversarial
           Networks", NeurIPS 2018.
"""

from jaxgan.metrics.digits import DigitsClassifier, classifier, digit_metrics
from jaxgan.metrics.modes import NUM_SAMPLES, kl_to_uniform, mode_metrics

__all__ = [
    "NUM_SAMPLES",
    "DigitsClassifier",
    "classifier",
    "digit_metrics",
    "kl_to_uniform",
    "mode_metrics",
]

"""Evaluation metrics for GAN samples (host side: numpy, SciPy, scikit-learn; Flax for Inception).

* :mod:`jaxgan.metrics.modes`: mode coverage, high-quality fraction and reverse KL on 2-D Gaussian
  mixtures, the VEEGAN / PacGAN protocol (``mode_metrics``, ``NUM_SAMPLES = 2500``).
* :mod:`jaxgan.metrics.digits`: a fixed 8x8 digits classifier (``classifier()``) and class-coverage
  metrics of generated digits (``digit_metrics``).
* :mod:`jaxgan.metrics.w1`: the exact Wasserstein-1 distance between two 2-D point sets (an
  assignment / optimal-transport problem).
* :mod:`jaxgan.metrics.swd`: PGGAN's multi-scale sliced Wasserstein distance between image sets.
* :mod:`jaxgan.metrics.fid`: FID, KID and the Inception Score from precomputed features.
* :mod:`jaxgan.metrics.inception`: the FID InceptionV3 in Flax and the loading and checking of its
  weights file.
* :mod:`jaxgan.metrics.protocol`: the protocol stored with each metric value, and the guard that
  refuses to compare values of different protocols.
* :mod:`jaxgan.metrics.evaluation`: the image metrics of one evaluation, each with its protocol.

Only ``modes`` and ``digits`` are re-exported here; import the others by module.

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

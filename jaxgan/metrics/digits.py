"""A fixed digits classifier and class-coverage metrics for GANs trained on the 8x8 digits.

The classifier is a one-hidden-layer ReLU MLP (128 units, Adam with learning rate 3e-3,
``random_state=0``; it converges in about 100 epochs) fitted with scikit-learn on a fixed stratified
80/20 split (``random_state=0``) of the scikit-learn digits scaled to [-1, 1] exactly as
:func:`jaxgan.data.digits.load_digits` scales them. It is trained once per process
(``functools.lru_cache``) in under a second and reaches 98.1% held-out accuracy.

Generated digits are scored the way mode collapse is scored on (stacked) MNIST: classify every
sample and inspect the class histogram [VEEGAN; PacGAN]: how many classes are covered, the reverse
KL ``KL(p_hat || U_10)`` to the uniform class distribution, and the largest class fraction. The hidden activations (``features``) are the embedding for a Fréchet distance in
the manner of FID [FID], computed elsewhere.

References:
  [VEEGAN] Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
           Learning", NeurIPS 2017.
  [PacGAN] Lin, Khetan, Fanti, Oh, "PacGAN: The Power of Two Samples in Generative Adversarial
           Networks", NeurIPS 2018.
  [FID]    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
           Equilibrium", NeurIPS 2017.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import threadpoolctl
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from jaxgan.data.digits import load_digits
from jaxgan.metrics.modes import kl_to_uniform

__all__ = ["NUM_CLASSES", "COVERAGE_FRACTION", "DigitsClassifier", "classifier", "digit_metrics"]

NUM_CLASSES = 10

COVERAGE_FRACTION = 0.01
"""A digit is covered when at least this fraction of the samples is classified as it."""

_HIDDEN = 128
_TEST_FRACTION = 0.2
_SEED = 0


def _flatten(images: np.ndarray) -> np.ndarray:
  """``[N, 8, 8, 1]`` or ``[N, 8, 8]`` images in [-1, 1] -> float64 ``[N, 64]``."""
  x = np.asarray(images, dtype=np.float64)
  if x.ndim == 4 and x.shape[-1] == 1:
    x = x[..., 0]
  if x.ndim != 3 or x.shape[1:] != (8, 8):
    raise ValueError(f"images must have shape [N, 8, 8, 1] or [N, 8, 8], got {np.shape(images)}.")
  return x.reshape(len(x), 64)


class DigitsClassifier:
  """A trained digits MLP with its held-out split; build it with ``classifier()``.

  Attributes:
    model: the fitted ``sklearn.neural_network.MLPClassifier``.
    test_images: the held-out 20% of the digits, float32 ``[360, 8, 8, 1]`` in [-1, 1].
    test_labels: their labels, int64 ``[360]``.
    test_accuracy: accuracy on the held-out split.
  """

  def __init__(self) -> None:
    images, labels = load_digits()
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=_TEST_FRACTION,
                                           stratify=labels, random_state=_SEED)
    self.model = MLPClassifier(hidden_layer_sizes=(_HIDDEN,), activation="relu",
                               learning_rate_init=3e-3, max_iter=500, random_state=_SEED)
    # One BLAS thread: the matrices are tiny, and multi-threaded OpenBLAS busy-waits badly on a
    # loaded machine (a 1 s fit took 50 s on 2 shared cores). It also keeps the fit
    # bit-reproducible.
    with threadpoolctl.threadpool_limits(limits=1):
      self.model.fit(_flatten(images[train_idx]), labels[train_idx])
    self.test_images = images[test_idx]
    self.test_labels = labels[test_idx]
    self.test_accuracy = float(np.mean(self.predict(self.test_images) == self.test_labels))

  def predict(self, images: np.ndarray) -> np.ndarray:
    """Predicted classes of ``images`` ([N, 8, 8, 1] in [-1, 1]) as int64 ``[N]``."""
    x = _flatten(images)
    if len(x) == 0:
      return np.zeros(0, np.int64)
    return self.model.predict(x).astype(np.int64)

  def predict_proba(self, images: np.ndarray) -> np.ndarray:
    """Class probabilities of ``images`` as float64 ``[N, 10]``."""
    return self.model.predict_proba(_flatten(images))

  def features(self, images: np.ndarray) -> np.ndarray:
    """Penultimate (hidden ReLU) activations ``relu(x W1 + b1)``, float64 ``[N, 128]``."""
    x = _flatten(images)
    return np.maximum(x @ self.model.coefs_[0] + self.model.intercepts_[0], 0.0)

  def digit_metrics(self, samples: np.ndarray) -> dict[str, Any]:
    """Class-coverage metrics of generated digits [VEEGAN; PacGAN].

    Args:
      samples: generated images, [N, 8, 8, 1] in [-1, 1], N >= 1.

    Returns:
      A dict with ``class_histogram`` (list of 10 ints: samples classified as each digit),
      ``digits_covered`` (classes receiving at least ``COVERAGE_FRACTION`` = 1% of the samples),
      ``kl_to_uniform`` (``KL(p_hat || U_10)`` in nats, ``0 log 0 = 0``) and ``max_class_fraction``
      (the largest class's share of the samples; 1/10 when perfectly balanced, 1 when collapsed).
    """
    predicted = self.predict(samples)
    n = len(predicted)
    if n == 0:
      raise ValueError("samples must hold at least one image.")
    histogram = np.bincount(predicted, minlength=NUM_CLASSES)
    return {
        "class_histogram": [int(c) for c in histogram],
        "digits_covered": int(np.count_nonzero(histogram >= COVERAGE_FRACTION * n)),
        "kl_to_uniform": kl_to_uniform(histogram),
        "max_class_fraction": float(histogram.max() / n),
    }


@functools.lru_cache(maxsize=1)
def classifier() -> DigitsClassifier:
  """The process-wide digits classifier, trained on first use (deterministic)."""
  return DigitsClassifier()


def digit_metrics(samples: np.ndarray) -> dict[str, Any]:
  """``classifier().digit_metrics(samples)``; see ``DigitsClassifier.digit_metrics``."""
  return classifier().digit_metrics(samples)

"""The scikit-learn 8x8 handwritten digits as a stateless, per-epoch-shuffled GAN dataset.

``sklearn.datasets.load_digits`` holds 1,797 grayscale 8x8 images with integer intensities 0..16
(the UCI "Optical Recognition of Handwritten Digits" test set [UCI]). They are scaled to [-1, 1] by
``x / 8 - 1`` (the range of a ``tanh`` generator) and shaped ``[N, 8, 8, 1]`` (NHWC).

Shuffling is a pure function of the seed (that of every image dataset, :mod:`jaxgan.data.shuffled`):
the global example ``g`` (see :mod:`jaxgan.data.toy`) lies in epoch ``e = g // N`` at position
``g % N`` and is image ``permutation_e[g % N]`` where
``permutation_e = np.random.default_rng([seed, e]).permutation(N)``. Every epoch visits every image
exactly once; a batch may straddle two epochs.

References:
  [UCI] Alpaydin, Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
        Repository, 1998, doi:10.24432/C50P49.
"""

from __future__ import annotations

import functools

import numpy as np
import sklearn.datasets

from jaxgan.data.shuffled import ShuffledImages

__all__ = ["load_digits", "Digits", "digits"]


@functools.lru_cache(maxsize=1)
def _load_raw() -> tuple[np.ndarray, np.ndarray]:
  """scikit-learn's digits as uint8 intensities 0..16 ``[1797, 8, 8, 1]`` and int64 labels."""
  bunch = sklearn.datasets.load_digits()
  raw = bunch.images.astype(np.uint8)[..., None]
  labels = bunch.target.astype(np.int64)
  raw.flags.writeable = False
  labels.flags.writeable = False
  return raw, labels


def _scale(raw: np.ndarray) -> np.ndarray:
  """Intensities 0..16 -> float32 ``x / 8 - 1`` in [-1, 1]."""
  return raw.astype(np.float32) / np.float32(8.0) - np.float32(1.0)


@functools.lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray]:
  """The 1,797 scikit-learn digits scaled to [-1, 1], cached per process (read-only arrays).

  Returns:
    ``(images, labels)``: float32 ``[1797, 8, 8, 1]`` with values ``x / 8 - 1`` for ``x`` in 0..16,
    and int64 ``[1797]`` class labels 0..9.
  """
  raw, labels = _load_raw()
  images = _scale(raw)
  images.flags.writeable = False
  return images, labels


class Digits(ShuffledImages):
  """The scikit-learn digits, shuffled per epoch from the seed; see the module docstring.

  The shuffling, per-process reading and evaluation sets are those of ``ShuffledImages``; the
  stored pixels are the intensities 0..16 (uint8) and ``pixels_to_float`` is ``x / 8 - 1``.

  Attributes:
    images: float32 ``[N, 8, 8, 1]`` in [-1, 1], in scikit-learn's order (read-only).
    labels: int64 ``[N]`` digit classes of ``images`` (read-only).
    size: ``N = 1797``.
  """

  name = "digits"
  sample_shape = (8, 8, 1)

  def __init__(self, seed: int) -> None:
    super().__init__(seed)
    self.images, self.labels = load_digits()
    self.size = len(self.images)

  def pixels_to_float(self, images: np.ndarray) -> np.ndarray:
    return _scale(images)

  def _load(self, rows: np.ndarray) -> np.ndarray:
    return _load_raw()[0][rows]


def digits(seed: int) -> Digits:
  """The scikit-learn digits dataset; see ``Digits``."""
  return Digits(seed)

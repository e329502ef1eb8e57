"""The scikit-learn 8x8 handwritten digits as a stateless, per-epoch-shuffled GAN dataset.

``sklearn.datasets.load_digits`` holds 1,797 grayscale 8x8 images with integer intensities 0..16
(the UCI "Optical Recognition of Handwritten Digits" test set [UCI]). They are scaled to [-1, 1] by
``x / 8 - 1`` (the range of a ``tanh`` generator) and shaped ``[N, 8, 8, 1]`` (NHWC).

Shuffling is a pure function of the seed: the global example ``g`` (see :mod:`jaxgan.data.toy`) lies
in epoch ``e = g // N`` at position ``g % N`` and is image ``permutation_e[g % N]`` where
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

from jaxgan.data.toy import EVAL_STREAM, Dataset, _check_int

__all__ = ["load_digits", "Digits", "digits"]


@functools.lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray]:
  """The 1,797 scikit-learn digits scaled to [-1, 1], cached per process (read-only arrays).

  Returns:
    ``(images, labels)``: float32 ``[1797, 8, 8, 1]`` with values ``x / 8 - 1`` for ``x`` in 0..16,
    and int64 ``[1797]`` class labels 0..9.
  """
  bunch = sklearn.datasets.load_digits()
  images = (bunch.images.astype(np.float32) / np.float32(8.0) - np.float32(1.0))[..., None]
  labels = bunch.target.astype(np.int64)
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels


class Digits(Dataset):
  """The scikit-learn digits, shuffled per epoch from the seed; see the module docstring.

  Attributes:
    images: float32 ``[N, 8, 8, 1]`` in [-1, 1], in scikit-learn's order (read-only).
    labels: int64 ``[N]`` digit classes of ``images`` (read-only).
    size: ``N = 1797``.
  """

  name = "digits"
  sample_shape = (8, 8, 1)
  modes = None

  def __init__(self, seed: int) -> None:
    super().__init__(seed)
    self.images, self.labels = load_digits()
    self.size = len(self.images)

  def _permutation(self, epoch: int) -> np.ndarray:
    return np.random.default_rng([self.seed, epoch]).permutation(self.size)

  def indices(self, first: int, count: int) -> np.ndarray:
    """Image indices of the global examples ``first .. first + count - 1`` (int64 ``[count]``)."""
    g = first + np.arange(count, dtype=np.int64)
    epochs, positions = np.divmod(g, self.size)
    out = np.empty(count, dtype=np.int64)
    for epoch in np.unique(epochs):
      sel = epochs == epoch
      out[sel] = self._permutation(int(epoch))[positions[sel]]
    return out

  def batch_indices(self, step: int, n_critic: int, batch_size: int) -> np.ndarray:
    """Image indices behind ``batch(step, n_critic, batch_size)``, int64 ``[n_critic, batch_size]``.

    ``labels[batch_indices(...)]`` are the classes of the batch (for conditional models).
    """
    step = _check_int(step, "step", 0)
    n_critic = _check_int(n_critic, "n_critic", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    count = n_critic * batch_size
    return self.indices(step * count, count).reshape(n_critic, batch_size)

  def _draw_step(self, step: int, first: int, count: int) -> np.ndarray:
    del step
    return self.images[self.indices(first, count)]

  def _draw_sample(self, n: int, seed: int) -> np.ndarray:
    # Whole permutations of the stream [seed, EVAL_STREAM], concatenated: no image repeats before
    # all N have appeared.
    rng = np.random.default_rng([seed, EVAL_STREAM])
    reps = -(-n // self.size)
    perms = [rng.permutation(self.size) for _ in range(reps)]
    idx = np.concatenate(perms) if perms else np.zeros(0, np.int64)
    return self.images[idx[:n]]


def digits(seed: int) -> Digits:
  """The scikit-learn digits dataset; see ``Digits``."""
  return Digits(seed)

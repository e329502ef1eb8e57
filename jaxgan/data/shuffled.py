"""``ShuffledImages``: a finite, randomly accessible set of uint8 images, shuffled per epoch.

The base of every image dataset (:mod:`jaxgan.data.digits`, :mod:`jaxgan.data.tfds`,
:mod:`jaxgan.data.image_folder`). Order: the global example ``g`` (see :mod:`jaxgan.data.toy`) is
the row ``permutation_e[g % N]`` of the dataset, ``e = g // N``, with
``permutation_e = np.random.default_rng([seed, e]).permutation(N)``: every epoch visits every row
exactly once, and a batch may straddle two epochs. ``sample(n, seed)`` concatenates permutations of
the stream ``[seed, EVAL_STREAM]`` (its rows: ``sample_rows(n, seed)``).

Reading is split in two so that the input pipeline (:mod:`jaxgan.data.pipeline`) can keep decoded
images in memory: ``decode(rows)`` returns the uint8 images of distinct rows (the expensive part:
file reads, PNG/JPEG decoding, resizing) and ``pixels_to_float`` maps uint8 pixels to float32 in
[-1, 1] (``x / 127.5 - 1`` unless a dataset says otherwise).
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, Sequence

import numpy as np

from jaxgan.data.toy import EVAL_STREAM, Dataset, _check_int, global_rows

__all__ = ["ShuffledImages", "shuffled_indices", "to_float"]

_PERMUTATION_CACHE = 4  # Epoch permutations kept per dataset (a batch can straddle two epochs).
_LOCK_TYPE = type(threading.Lock())


def shuffled_indices(seed: int, size: int, g: np.ndarray,
                     permutation: Callable[[int], np.ndarray] | None = None) -> np.ndarray:
  """Rows behind the global examples ``g``: ``permutation_e[g % size]`` with ``e = g // size``.

  ``permutation_e = np.random.default_rng([seed, e]).permutation(size)``, the order of
  :mod:`jaxgan.data.digits`; every epoch visits every row exactly once.

  Args:
    seed: the dataset's seed.
    size: the number of rows ``N``, ``>= 1``.
    g: int64 global example indices (any shape).
    permutation: optional cached ``epoch -> permutation`` with the same values.

  Returns:
    int64 array of the shape of ``g``.
  """
  g = np.asarray(g, dtype=np.int64)
  if permutation is None:

    def permutation(epoch: int) -> np.ndarray:
      return np.random.default_rng([seed, epoch]).permutation(size)

  epochs, positions = np.divmod(g, size)
  out = np.empty(g.shape, dtype=np.int64)
  for epoch in np.unique(epochs):
    sel = epochs == epoch
    out[sel] = permutation(int(epoch))[positions[sel]]
  return out


def to_float(images: np.ndarray) -> np.ndarray:
  """uint8 pixels ``x`` -> float32 ``x / 127.5 - 1`` (0 -> -1, 255 -> 1 exactly)."""
  return images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


class ShuffledImages(Dataset):
  """A finite, randomly accessible set of uint8 images, shuffled per epoch from the seed.

  Subclasses set ``name``, ``sample_shape`` and ``size`` and implement ``_load(rows)``: the uint8
  images ``[len(rows), *sample_shape]`` of the (sorted, distinct) rows. ``batch`` and ``sample``
  read only the rows they return.

  Attributes:
    size: the number of images ``N``.
  """

  modes = None
  size: int

  def __init__(self, seed: int) -> None:
    super().__init__(seed)
    self._permutations: dict[int, np.ndarray] = {}
    self._permutation_lock = threading.Lock()

  def __getstate__(self) -> dict[str, Any]:
    # Picklable for the input pipeline's worker processes: the locks (of this class and of
    # subclasses) are dropped here and made afresh there; the permutations are recomputed.
    state = {k: v for k, v in self.__dict__.items() if not isinstance(v, _LOCK_TYPE)}
    state["_permutations"] = {}
    state["_lock_names"] = [k for k, v in self.__dict__.items() if isinstance(v, _LOCK_TYPE)]
    return state

  def __setstate__(self, state: dict[str, Any]) -> None:
    state = dict(state)
    for name in state.pop("_lock_names"):
      state[name] = threading.Lock()
    self.__dict__.update(state)

  @property
  def decoded_nbytes(self) -> int:
    """Bytes of all ``size`` decoded uint8 images (what keeping the whole dataset in memory costs)."""
    return self.size * math.prod(self.sample_shape)

  def _permutation(self, epoch: int) -> np.ndarray:
    with self._permutation_lock:
      perm = self._permutations.get(epoch)
      if perm is None:
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.size)
        perm.flags.writeable = False
        if len(self._permutations) >= _PERMUTATION_CACHE:
          self._permutations.pop(next(iter(self._permutations)))
        self._permutations[epoch] = perm
      return perm

  def indices(self, first: int, count: int) -> np.ndarray:
    """Rows of the global examples ``first .. first + count - 1`` (int64 ``[count]``)."""
    return self.rows_of(first + np.arange(count, dtype=np.int64))

  def rows_of(self, g: np.ndarray) -> np.ndarray:
    """Rows of the global examples ``g`` (int64, same shape)."""
    return shuffled_indices(self.seed, self.size, g, self._permutation)

  def batch_indices(self, step: int, n_critic: int, batch_size: int, process_index: int = 0,
                    process_count: int = 1) -> np.ndarray:
    """Rows behind ``batch(...)`` with the same arguments, int64 ``[n_critic, local batch]``."""
    step = _check_int(step, "step", 0)
    n_critic = _check_int(n_critic, "n_critic", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    process_count = _check_int(process_count, "process_count", 1)
    process_index = _check_int(process_index, "process_index", 0)
    if process_index >= process_count or batch_size % process_count:
      raise ValueError(f"need 0 <= process_index < process_count and batch_size a multiple of "
                       f"process_count, got {process_index}, {process_count}, {batch_size}.")
    return self.rows_of(global_rows(step, n_critic, batch_size, process_index, process_count))

  def read(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The images of ``rows`` (any shape and order; repeats allowed, each distinct row loaded once).

    Returns:
      float32 ``[*rows.shape, *sample_shape]`` in [-1, 1]; ``read(batch_indices(...))`` equals
      ``batch(...)`` with the same arguments.
    """
    shape = np.shape(rows)
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= self.size):
      raise IndexError(f"{self.name}: rows must lie in [0, {self.size}).")
    unique, inverse = np.unique(rows, return_inverse=True)
    if not len(unique):
      return np.zeros(shape + tuple(self.sample_shape), np.float32)
    images = self.decode(unique)
    return self.pixels_to_float(images[inverse.reshape(-1)]).reshape(shape +
                                                                      tuple(self.sample_shape))

  def decode(self, rows: np.ndarray) -> np.ndarray:
    """uint8 ``[len(rows), *sample_shape]`` images of the sorted, distinct int64 ``rows``."""
    images = np.asarray(self._load(rows))
    expected = (len(rows),) + tuple(self.sample_shape)
    if images.shape != expected or images.dtype != np.uint8:
      raise AssertionError(f"{self.name}: _load returned {images.dtype} {images.shape}, "
                           f"expected uint8 {expected}.")
    return images

  def pixels_to_float(self, images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [-1, 1]: ``to_float`` (``x / 127.5 - 1``) unless overridden."""
    return to_float(images)

  def _load(self, rows: np.ndarray) -> np.ndarray:
    """uint8 ``[len(rows), *sample_shape]`` images of the sorted, distinct ``rows``."""
    raise NotImplementedError

  def _draw_step(self, step: int, first: int, count: int) -> np.ndarray:
    del step
    return self.read(self.indices(first, count))

  def _draw_rows(self, step: int, first: int, count: int, rows: np.ndarray) -> np.ndarray:
    del step, first, count
    return self.read(self.rows_of(rows))

  def sample_rows(self, n: int, seed: int) -> np.ndarray:
    """Rows behind ``sample(n, seed)`` (int64 ``[n]``): whole permutations of the stream
    ``[seed, EVAL_STREAM]``, concatenated, so no row repeats among the first ``size``; and the first
    ``m`` rows of ``sample_rows(n, seed)`` are ``sample_rows(m, seed)`` for ``m <= n``."""
    n = _check_int(n, "n", 0)
    rng = np.random.default_rng([_check_int(seed, "seed", 0), EVAL_STREAM])
    reps = -(-n // self.size)
    perms = [rng.permutation(self.size) for _ in range(reps)]
    return np.concatenate(perms)[:n].astype(np.int64) if perms else np.zeros(0, np.int64)

  def _draw_sample(self, n: int, seed: int) -> np.ndarray:
    return self.read(self.sample_rows(n, seed))



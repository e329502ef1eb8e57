"""The host side of the input pipeline: per-process step batches, a decoded cache, grain workers.

Three pieces, all NumPy (no JAX: they also run in grain's worker processes):

* ``StepReader``: the real batch of step ``s`` for process ``p`` of ``P``, float32
  ``[n_critic, b / P, *shape]``. It is ``dataset.batch(s, n_critic, b, p, P)`` (for a progressive run:
  ``b`` and the resolution of ``s``'s stage, box-downscaled), so it is a pure function of the
  dataset's seed, the step and the process, and a resumed run needs no iterator state. For image
  datasets (``ShuffledImages``) it computes the rows itself and reads them through a
  ``DecodedCache``, so a process decodes only its own rows.
* ``DecodedCache``: the decoded uint8 images of rows ``[0, capacity)`` of an image dataset, decoded
  on first use and kept, ``capacity = min(N, budget // bytes per image)``: a dataset whose decoded
  images fit the budget (CIFAR-10 150 MB, MNIST 61 MB, CelebA-64 2.0 GB) is decoded once. With
  ``shared=True`` the images live in a file in ``/dev/shm`` that grain's worker processes map, so
  every worker sees every decoded row. A row is marked decoded only after its pixels are written,
  under a lock (``fcntl.flock`` across processes), so a reader never sees half an image; two
  readers that miss the same row at the same moment both decode it (same bytes), which only happens
  when steps prepared concurrently straddle an epoch boundary.
* ``HostBatches``: grain runs ``StepReader`` over the steps ``start, start + 1, ...`` ahead of the
  loop: ``MapDataset.range(start, stop).map(reader)``, prepared by ``prefetch`` threads
  (``to_iter_dataset(ReadOptions(...))``) and, with ``workers > 0``, by that many worker processes
  (``mp_prefetch``: worker ``w`` prepares the steps ``start + w, start + w + workers, ...`` and grain
  interleaves them back in order). Each element is one step's batch, so every batch is still a pure
  function of (seed, step, process) whatever the number of workers or threads. A worker hands over
  ``StepReader.prepare``'s half (uint8 pixels of image datasets: a quarter of the float32 bytes) and
  the trainer's process applies ``finish`` (pixels to float32, PGGAN's downscale).

Why grain's engine but not its sampler: ``grain.IndexSampler`` shards the *records* over processes
(``ShardByJaxProcess``), so the global batch would depend on the process count; jaxgan's global
example order (``jaxgan.data.toy``) gives every process its columns of the same global batch, so
1 and P processes train the same model.
"""

from __future__ import annotations

import fcntl
import math
import os
import tempfile
import threading
import time
import weakref
from typing import Any, Callable

from absl import flags
import grain
import numpy as np

from jaxgan.data.shuffled import ShuffledImages
from jaxgan.data.toy import Dataset, global_rows

__all__ = ["DecodedCache", "HostBatches", "StepReader"]

_HEADER = 64  # bytes before the flags in a shared cache file: int64 decode counter, then padding.


def _remove_file(path: str) -> None:
  try:
    os.unlink(path)
  except FileNotFoundError:
    pass


class DecodedCache:
  """Decoded uint8 images of rows ``[0, capacity)`` of ``dataset``; see the module docstring.

  Attributes:
    dataset: the ``ShuffledImages`` read through this cache.
    capacity: rows kept (``0``: nothing is kept, every read decodes).
    shared: whether the images live in a file that worker processes map.
    path: that file (``None`` unless shared).
  """

  def __init__(self, dataset: ShuffledImages, budget_bytes: int, *, shared: bool = False,
               directory: str | None = None) -> None:
    """Sizes the cache; memory is touched only as rows are decoded.

    Args:
      dataset: the image dataset.
      budget_bytes: host memory for decoded images, ``>= 0``.
      shared: keep the images in a file (in ``directory``, default ``/dev/shm`` when it exists)
        that processes unpickling this object map; at most half of that file system's free space.
      directory: where the shared file goes.
    """
    self.dataset = dataset
    self.row_bytes = math.prod(dataset.sample_shape)
    self.capacity = int(min(dataset.size, max(budget_bytes, 0) // self.row_bytes))
    self.shared = bool(shared and self.capacity)
    self.path: str | None = None
    self._owner = True
    self._lock = threading.Lock()
    self._counter = 0
    if self.shared:
      directory = directory or ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
      stat = os.statvfs(directory)
      free = stat.f_bavail * stat.f_frsize
      self.capacity = int(min(self.capacity, (free // 2) // self.row_bytes))
      fd, self.path = tempfile.mkstemp(prefix="jaxgan-decoded-", suffix=".u8", dir=directory)
      os.ftruncate(fd, self._file_size())
      os.close(fd)
      # Deleted at close(), or when this object is collected or the program exits.
      self._remove = weakref.finalize(self, _remove_file, self.path)
      self._map()
    else:
      self._flags = np.zeros(self.capacity, np.uint8)
      self._images = np.zeros((self.capacity,) + tuple(dataset.sample_shape), np.uint8)

  def _data_offset(self) -> int:
    return -(-(_HEADER + self.capacity) // 64) * 64

  def _file_size(self) -> int:
    return self._data_offset() + self.capacity * self.row_bytes

  def _map(self) -> None:
    self._fd = os.open(self.path, os.O_RDWR)
    self._header = np.memmap(self.path, np.int64, "r+", 0, (_HEADER // 8,))
    self._flags = np.memmap(self.path, np.uint8, "r+", _HEADER, (self.capacity,))
    shape = (self.capacity,) + tuple(self.dataset.sample_shape)
    self._images = np.memmap(self.path, np.uint8, "r+", self._data_offset(), shape)

  def __getstate__(self) -> dict[str, Any]:
    if not self.shared and self.capacity:
      raise TypeError("a DecodedCache is sent to worker processes only when made with shared=True")
    state = {k: v for k, v in self.__dict__.items()
             if k not in ("_lock", "_fd", "_header", "_flags", "_images", "_remove")}
    state["_owner"] = False
    return state

  def __setstate__(self, state: dict[str, Any]) -> None:
    self.__dict__.update(state)
    self._lock = threading.Lock()
    if self.shared:
      self._map()
    else:
      self._flags = np.zeros(0, np.uint8)
      self._images = np.zeros((0,) + tuple(self.dataset.sample_shape), np.uint8)

  class _Locked:
    """The thread lock, and with a shared file an exclusive ``flock`` on it (a memory barrier)."""

    def __init__(self, cache: DecodedCache):
      self.cache = cache

    def __enter__(self):
      self.cache._lock.acquire()  # pylint: disable=protected-access
      if self.cache.shared:
        fcntl.flock(self.cache._fd, fcntl.LOCK_EX)  # pylint: disable=protected-access

    def __exit__(self, *exc):
      if self.cache.shared:
        fcntl.flock(self.cache._fd, fcntl.LOCK_UN)  # pylint: disable=protected-access
      self.cache._lock.release()  # pylint: disable=protected-access

  @property
  def records_decoded(self) -> int:
    """Images decoded through this cache (by every process sharing it)."""
    with self._Locked(self):
      return int(self._header[0]) if self.shared else self._counter

  def cached_rows(self) -> np.ndarray:
    """The rows decoded and kept so far (sorted int64)."""
    with self._Locked(self):
      return np.flatnonzero(np.asarray(self._flags)).astype(np.int64)

  def read(self, rows: np.ndarray) -> np.ndarray:
    """``dataset.read(rows)``: float32 ``[*rows.shape, *sample_shape]``, decoding only misses."""
    return self.dataset.pixels_to_float(self.read_pixels(rows))

  def read_pixels(self, rows: np.ndarray) -> np.ndarray:
    """The uint8 pixels behind ``read(rows)``, ``[*rows.shape, *sample_shape]``."""
    shape = np.shape(rows)
    flat = np.asarray(rows, np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= self.dataset.size):
      raise IndexError(f"{self.dataset.name}: rows must lie in [0, {self.dataset.size}).")
    unique, inverse = np.unique(flat, return_inverse=True)
    sample_shape = tuple(self.dataset.sample_shape)
    images = np.empty((len(unique),) + sample_shape, np.uint8)
    hit = np.zeros(len(unique), bool)
    if self.capacity:
      inside = unique < self.capacity
      with self._Locked(self):
        hit[inside] = np.asarray(self._flags[unique[inside]]) == 1
      images[hit] = self._images[unique[hit]]
    missing = unique[~hit]
    if len(missing):
      decoded = self.dataset.decode(missing)
      images[~hit] = decoded
      keep = missing < self.capacity
      if np.any(keep):
        self._images[missing[keep]] = decoded[keep]
      with self._Locked(self):
        if np.any(keep):
          self._flags[missing[keep]] = 1
        if self.shared:
          self._header[0] += len(missing)
        else:
          self._counter += len(missing)
    return images[inverse].reshape(shape + sample_shape)

  def close(self) -> None:
    """Unmaps the shared file and, in the process that made it, deletes it."""
    if self.shared and getattr(self, "_fd", None) is not None:
      os.close(self._fd)
      self._fd = None
      for name in ("_header", "_flags", "_images"):
        self.__dict__.pop(name, None)
      if self._owner:
        self._remove()


class StepReader:
  """This process's real batch of a step; see the module docstring.

  Attributes:
    dataset, n_critic, batch_size (global; a progressive run's per-stage sizes come from the
    schedule), process_index, process_count, cache (``DecodedCache`` or ``None``).
  """

  def __init__(self, dataset: Dataset, n_critic: int, batch_size: int, *, process_index: int = 0,
               process_count: int = 1, schedule: Any = None,
               downscale: Callable[[np.ndarray, int], np.ndarray] | None = None,
               cache: DecodedCache | None = None) -> None:
    """Args:
      dataset: the training set.
      n_critic: critic batches per step.
      batch_size: the global batch size (without a schedule).
      process_index, process_count: this process and the number of processes sharing each batch.
      schedule: a ``jaxgan.growing.Schedule`` (``at(step) -> (stage, alpha, batch)`` and
        ``resolutions``) for progressive runs, else ``None``.
      downscale: ``(images [..., S, S, C], resolution) -> images`` for progressive runs (PGGAN's
        box filter).
      cache: a ``DecodedCache`` of ``dataset`` (image datasets only), or ``None``.
    """
    if schedule is not None and downscale is None:
      raise ValueError("a progressive schedule needs the downscale function")
    if cache is not None and cache.dataset is not dataset:
      raise ValueError("the cache must be that of the dataset")
    self.dataset = dataset
    self.n_critic = n_critic
    self.batch_size = batch_size
    self.process_index = process_index
    self.process_count = process_count
    self.schedule = schedule
    self.downscale = downscale
    self.cache = cache

  def layout(self, step: int) -> tuple[int, int | None]:
    """``(global batch size, resolution or None)`` of ``step``."""
    if self.schedule is None:
      return self.batch_size, None
    stage, _, b = self.schedule.at(step)
    return b, self.schedule.resolutions[stage]

  def local_shape(self, step: int) -> tuple[int, ...]:
    """Shape of ``self(step)``: ``(n_critic, b / P, *sample shape at the step's resolution)``."""
    b, res = self.layout(step)
    shape = tuple(self.dataset.sample_shape)
    if res is not None:
      shape = (res, res) + shape[2:]
    return (self.n_critic, b // self.process_count) + shape

  def rows(self, step: int) -> np.ndarray:
    """Dataset rows of ``self(step)``, int64 ``[n_critic, b / P]`` (image datasets only)."""
    b, _ = self.layout(step)
    return self.dataset.rows_of(global_rows(step, self.n_critic, b, self.process_index,
                                            self.process_count))

  def __call__(self, step: int) -> np.ndarray:
    return self.finish(step, self.prepare(step))

  def prepare(self, step: int) -> np.ndarray:
    """The expensive half of ``self(step)`` (reading, decoding): uint8 pixels for image datasets
    (4x fewer bytes to hand from a worker process to the trainer), float32 examples otherwise."""
    b, _ = self.layout(step)
    if self.cache is not None:
      if b % self.process_count:
        raise ValueError(f"batch_size {b} must be a multiple of process_count "
                         f"{self.process_count}.")
      return self.cache.read_pixels(self.rows(step))
    if self.process_count == 1:
      return self.dataset.batch(step, self.n_critic, b)
    return self.dataset.batch(step, self.n_critic, b, process_index=self.process_index,
                              process_count=self.process_count)

  def finish(self, step: int, prepared: np.ndarray) -> np.ndarray:
    """``self(step)`` from ``prepare(step)``: pixels to float32 in [-1, 1], then the downscale."""
    x = prepared
    if self.cache is not None:
      x = self.dataset.pixels_to_float(x)
    _, res = self.layout(step)
    if res is not None:
      x = self.downscale(x, res)
    return np.asarray(x, np.float32)


class _Timed:
  """``step -> {'step', 'reals', 'seconds'}``: the reader's batch (whole, or only its ``prepare``
  half in worker processes) and the time it took."""

  def __init__(self, reader: StepReader, whole: bool):
    self.reader = reader
    self.whole = whole

  def __call__(self, step: int) -> dict[str, np.ndarray]:
    t = time.perf_counter()
    step = int(step)
    reals = self.reader(step) if self.whole else self.reader.prepare(step)
    return {"step": np.int64(step), "reals": reals,
            "seconds": np.float64(time.perf_counter() - t)}


class HostBatches:
  """This process's batches of the steps ``start .. stop - 1``, prepared ahead by grain.

  ``get(step)`` returns ``(batch, seconds to prepare it)``; asked for a step other than the next
  one, it starts over from that step (the batches are a function of the step, nothing is lost).
  """

  def __init__(self, reader: StepReader, stop: int, *, workers: int = 0, prefetch: int = 2) -> None:
    if workers < 0 or prefetch < 1:
      raise ValueError(f"need workers >= 0 and prefetch >= 1, got {workers} and {prefetch}")
    if workers and reader.cache is not None and reader.cache.capacity and not reader.cache.shared:
      raise ValueError("worker processes need a shared DecodedCache (shared=True)")
    self.reader = reader
    self.stop = stop
    self.workers = workers
    self.prefetch = prefetch
    self._iterator = None
    self._next = None

  def start(self, step: int) -> None:
    """Starts preparing ``step`` and the steps after it (worker processes start here)."""
    self.close()
    ds = grain.MapDataset.range(step, self.stop).map(_Timed(self.reader, not self.workers))
    if self.workers:
      if not flags.FLAGS.is_parsed():
        # grain's worker start-up reads its absl flags; a program that parsed none (jaxgan's CLI
        # uses argparse) gets their defaults.
        flags.FLAGS.mark_as_parsed()
      per_worker = max(1, -(-self.prefetch // self.workers))
      ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=1))
      ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=self.workers,
                                                       per_worker_buffer_size=per_worker))
    else:
      ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=self.prefetch,
                                                prefetch_buffer_size=self.prefetch))
    self._iterator = iter(ds)
    self._iterator.start_prefetch()
    self._next = step

  def get(self, step: int) -> tuple[np.ndarray, float]:
    if self._iterator is None or step != self._next:
      self.start(step)
    element = next(self._iterator)
    if int(element["step"]) != step:
      raise AssertionError(f"input pipeline out of order: asked for step {step}, got "
                           f"{int(element['step'])}")
    self._next = step + 1
    reals = element["reals"]
    if self.workers:
      # Workers hand over prepare()'s half (uint8 pixels for images); finish() here makes a new
      # array, so grain's shared-memory block is released now, not whenever the last view of it
      # (possibly one the device runtime holds) is collected.
      reals = self.reader.finish(step, np.array(reals, copy=self.reader.cache is None))
    return reals, float(element["seconds"])

  def close(self) -> None:
    if self._iterator is not None:
      close = getattr(self._iterator, "close", None)
      if close is not None:
        close()
      self._iterator = None

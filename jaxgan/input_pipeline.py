"""The trainer's input pipeline: this process's rows of each step, prepared ahead, placed on devices.

Usage (what ``jaxgan.train`` does)::

  pipeline = InputPipeline(config, dataset, schedule, data_parallel)
  pipeline.start(first_step)              # optional: workers start while the step compiles
  abstract = pipeline.abstract_batch(s)   # shape, dtype and sharding of step s's batch (no data read)
  reals = pipeline.batch(s)               # step s's global batch as a device array (prefetched)
  pipeline.stats()                        # {'data_wait_fraction', 'data_images_per_s', ...} since
                                          # the previous call
  pipeline.close()

Each process reads and decodes only its columns ``[p b / P, (p + 1) b / P)`` of every critic batch
(``jaxgan.data.pipeline.StepReader``) and places them with ``DataParallel.put_local_batch``; a batch is
a pure function of (seed, step, process), so a resumed run reads what an uninterrupted one would.
While step ``s`` runs on the devices, grain prepares steps ``s + 1 .. s + data_prefetch`` on
background threads, or on ``data_workers`` processes; image datasets keep their decoded uint8 pixels
in memory up to ``data_cache_mb`` (``jaxgan.data.pipeline.DecodedCache``).

Data wait: the time ``batch(s)`` blocks (the batch not ready, plus handing it to the devices) as a
fraction of the wall time between two ``stats()`` calls. The first batch of a run (worker start-up,
nothing prefetched yet) is reported apart, as ``data_startup_s``. Above 10% the pipeline says once,
on stderr, what to change.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import jax
import numpy as np

from jaxgan import ops
from jaxgan.data import ShuffledImages
from jaxgan.data import pipeline as host_pipeline

__all__ = ["InputPipeline", "WAIT_WARNING_FRACTION"]

WAIT_WARNING_FRACTION = 0.10
"""Data wait above this fraction of wall time (in one log window) prints a warning, once."""


class InputPipeline:
  """The real batches of a run, per process, prefetched; see the module docstring.

  Attributes:
    reader: the ``StepReader`` (host side, a pure function of the step).
    cache: its ``DecodedCache`` (image datasets), else ``None``.
    workers, prefetch: ``config.data_workers`` and ``config.data_prefetch``.
  """

  def __init__(self, config, dataset, schedule, data_parallel, *, downscale=None,
               process_index: int | None = None, process_count: int | None = None) -> None:
    """Args:
      config: the run's config (``n_critic``, ``batch_size``, ``num_steps``, ``data_workers``,
        ``data_prefetch``, ``data_cache_mb``).
      dataset: the training ``Dataset``.
      schedule: the progressive ``growing.Schedule`` or ``None``.
      data_parallel: the ``parallel.DataParallel`` that places batches.
      downscale: PGGAN's box filter ``(images, resolution) -> images`` (default: ``ops.downscale_to``).
      process_index, process_count: default ``jax.process_index()``, ``jax.process_count()``.
    """
    self.parallel = data_parallel
    self.process_index = jax.process_index() if process_index is None else process_index
    self.process_count = jax.process_count() if process_count is None else process_count
    self.workers = int(config.data_workers)
    self.prefetch = int(config.data_prefetch)
    self.cache_mb = int(config.data_cache_mb)
    if schedule is not None and downscale is None:
      downscale = ops.downscale_to
    self.cache = None
    if isinstance(dataset, ShuffledImages):
      self.cache = host_pipeline.DecodedCache(dataset, self.cache_mb << 20,
                                              shared=self.workers > 0)
    self.reader = host_pipeline.StepReader(
        dataset, config.n_critic, config.batch_size, process_index=self.process_index,
        process_count=self.process_count, schedule=schedule, downscale=downscale, cache=self.cache)
    self.host = host_pipeline.HostBatches(self.reader, config.num_steps, workers=self.workers,
                                          prefetch=self.prefetch)
    self.startup_s: float | None = None
    self._window_start = None
    self._wait = 0.0
    self._images = 0
    self._prepare_s = 0.0
    self._batches = 0
    self._warned = False
    self._windows = 0
    self._startup_reported = False

  # --- batches
  def start(self, step: int) -> None:
    """Starts preparing ``step`` and the following steps (optional: ``batch`` starts if needed)."""
    self.host.start(step)

  def batch(self, step: int):
    """Step ``step``'s global batch as a device array sharded over the batch axis."""
    t = time.perf_counter()
    reals, prepare_s = self.host.get(step)
    out = self.parallel.put_local_batch(reals, self.reader.layout(step)[0])
    self._account(t, reals, prepare_s)
    return out

  def abstract_batch(self, step: int) -> jax.ShapeDtypeStruct:
    """Shape, dtype and sharding of ``batch(step)``, without reading any data."""
    zeros = np.zeros(self.reader.local_shape(step), np.float32)
    placed = self.parallel.put_local_batch(zeros, self.reader.layout(step)[0])
    return jax.ShapeDtypeStruct(placed.shape, placed.dtype, sharding=placed.sharding)

  def _account(self, t0: float, reals: np.ndarray, prepare_s: float) -> None:
    now = time.perf_counter()
    if self.startup_s is None:
      self.startup_s = now - t0
      self._window_start = now
      return
    self._wait += now - t0
    self._images += int(reals.shape[0] * reals.shape[1])
    self._prepare_s += prepare_s
    self._batches += 1

  # --- statistics
  def stats(self) -> dict[str, Any]:
    """Input statistics since the previous call (then starts a new window).

    Returns:
      ``data_wait_fraction``: time ``batch`` blocked / wall time; ``data_images_per_s``: this
      process's real images delivered per second of wall time; ``data_prepare_ms``: mean time one
      worker (or thread) took to prepare a step's batch; ``data_startup_s``: the first batch's wait
      (once); ``data_cached_fraction``: decoded images kept / dataset size (image datasets).
    """
    now = time.perf_counter()
    out: dict[str, Any] = {}
    if self._window_start is not None:
      wall = max(now - self._window_start, 1e-9)
      out["data_wait_fraction"] = self._wait / wall
      out["data_images_per_s"] = self._images / wall
      if self._batches:
        out["data_prepare_ms"] = 1e3 * self._prepare_s / self._batches
      # The first window is not judged: the prefetch buffer fills during its first steps.
      judged = self._windows > 0 and self._batches
      self._windows += 1
      if not self._warned and judged and out["data_wait_fraction"] > WAIT_WARNING_FRACTION:
        self._warned = True
        print(f"[jaxgan] warning: {self.advice(out['data_wait_fraction'])}", file=sys.stderr,
              flush=True)
    if self.startup_s is not None and not self._startup_reported:
      self._startup_reported = True
      out["data_startup_s"] = self.startup_s
    if self.cache is not None:
      size = self.cache.dataset.size
      out["data_cached_fraction"] = min(self.cache.capacity, size) / size
    self._window_start = now
    self._wait = 0.0
    self._images = 0
    self._prepare_s = 0.0
    self._batches = 0
    return out

  def advice(self, fraction: float) -> str:
    """One line: how long the step waited on data and what to change."""
    where = f"process {self.process_index}: " if self.process_count > 1 else ""
    tips = []
    cache = self.cache
    if cache is not None and cache.capacity < cache.dataset.size:
      need = -(-cache.dataset.decoded_nbytes // (1 << 20))
      tips.append(f"raise data_cache_mb (now {self.cache_mb}; the decoded dataset needs {need} MB) "
                  f"so that images are decoded once")
    cores = os.cpu_count() or 1
    if self.workers < cores - 1:
      tips.append(f"raise data_workers (now {self.workers}; this host has {cores} cores) to "
                  f"decode on more processes")
    tips.append(f"raise data_prefetch (now {self.prefetch}) if the wait comes in bursts")
    return (f"{where}the train step waited on input data {100 * fraction:.0f}% of the time since "
            f"the last log; " + "; or ".join(tips))

  def close(self) -> None:
    """Stops the workers and threads and frees the shared cache (idempotent)."""
    self.host.close()
    if self.cache is not None:
      self.cache.close()

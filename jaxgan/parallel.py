"""Data parallelism over all devices of all processes, and the multi-host runtime.

Two paths, chosen by ``config.parallel``:

* ``'jit'`` (primary): one ``jax.jit`` over a 1-D device ``Mesh`` with axis ``'batch'``. The state is
  replicated (``NamedSharding(mesh, P())``), the real batches are split along their batch axis
  (``P(None, 'batch')`` for [n_critic, B, ...]), and the step is written for the global batch and
  traced inside the mesh (``jax.set_mesh``), where it constrains every per-example tensor (latents,
  fakes, interpolation points) to the batch sharding: each device runs both networks on its rows
  only, and XLA inserts the all-reduces of gradients, metrics and the generator's batch-norm
  statistics. Random draws are the same whatever the partitioning (threefry is partitionable), so 1,
  2, 4 or 8 devices give the same model up to float reduction order. Works across processes (hosts)
  with ``jax.distributed``.
* ``'pmap'`` (compatibility, one process): ``jax.pmap`` with axis name ``'batch'``; each device draws
  the global batch's latents and interpolation weights and takes its rows; gradients, losses and
  generator batch-norm statistics are averaged with ``lax.pmean`` / ``axis_name``.

Multi-host: every process runs the same program; each process puts only its rows of the global batch
on its devices (``jax.make_array_from_process_local_data``); only process 0 prints and writes files;
orbax coordinates the checkpoint writes.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxgan import ops
from jaxgan.config import ConfigError

AXIS = "batch"


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None, *, auto: bool = False,
                           timeout_s: int = 300) -> None:
  """``jax.distributed.initialize`` with a bounded wait and a one-line error.

  Give the coordinator address, process count and id explicitly, or ``auto=True`` for JAX's cluster
  auto-detection (SLURM, Open MPI, Cloud TPU, Kubernetes...). On CPU the collectives go through gloo.
  """
  if not coordinator_address and not auto:
    return
  if coordinator_address and (num_processes is None or process_id is None):
    raise ConfigError("coordinator_address needs --num_processes and --process_id")
  if num_processes is not None and not 0 <= (process_id or 0) < num_processes:
    raise ConfigError(f"process_id must be in [0, {num_processes}); got {process_id}")
  if coordinator_address and process_id:
    # JAX aborts the whole process (a fatal C++ check) when the coordinator never answers; wait for
    # its port here first, so that an unreachable coordinator is a clear error after a bounded wait.
    _wait_for_port(coordinator_address, timeout_s)
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  # JAX logs (and retries) at length while it waits for the coordinator; the error below says it all.
  logging.getLogger("jax._src.distributed").setLevel(logging.CRITICAL)
  try:
    jax.distributed.initialize(coordinator_address=coordinator_address or None,
                               num_processes=num_processes, process_id=process_id,
                               initialization_timeout=timeout_s)
  except Exception as e:  # pylint: disable=broad-except
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise ConfigError(f"coordinator_address: could not join the coordinator "
                      f"{coordinator_address or '(auto-detected)'} within {timeout_s}s: "
                      f"{first[:300]}") from None


def _wait_for_port(address: str, timeout_s: float) -> None:
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit():
    raise ConfigError(f"coordinator_address must be HOST:PORT; got '{address}'")
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      with socket.create_connection((host.strip("[]"), int(port)), timeout=2.0):
        return
    except OSError as e:
      if time.monotonic() >= deadline:
        raise ConfigError(f"coordinator_address: nothing answers at {address} after {timeout_s}s "
                          f"({e.strerror or e}); is process 0 running and the port open?") from None
      time.sleep(0.5)


class DataParallel:
  """Places state and batches on the devices and compiles the step for ``config.parallel``."""

  def __init__(self, config):
    self.mode = config.parallel
    self.num_processes = jax.process_count()
    available = jax.device_count()
    wanted = config.num_devices or available
    if wanted > available:
      raise ConfigError(f"num_devices: {wanted} requested but only {available} device(s) are "
                        f"available ({jax.default_backend()})")
    if self.num_processes > 1 and wanted != available:
      raise ConfigError("num_devices: a multi-process run uses every device of every process; "
                        "leave num_devices at 0")
    if self.mode == "pmap" and self.num_processes > 1:
      raise ConfigError("parallel: 'pmap' is the single-process compatibility path; use 'jit' "
                        "across processes")
    if config.batch_size % wanted:
      raise ConfigError(f"batch_size: the global batch {config.batch_size} does not split evenly "
                        f"over {wanted} devices; use a multiple of {wanted}")
    self.devices = jax.devices()[:wanted]
    self.num_devices = wanted
    self.batch_size = config.batch_size
    self.mesh = Mesh(np.array(self.devices), (AXIS,))
    self.replicated = NamedSharding(self.mesh, P())
    self.data_sharding = NamedSharding(self.mesh, P(None, AXIS))
    self.leading_axis = NamedSharding(self.mesh, P(AXIS))  # pmap's per-device leading axis

  @property
  def is_main(self) -> bool:
    return jax.process_index() == 0

  def describe(self) -> str:
    return (f"{self.num_devices} {jax.default_backend()} device(s) in {self.num_processes} "
            f"process(es), parallel {self.mode}")

  # --- state
  def put_state(self, state):
    if self.mode == "jit":
      return jax.tree.map(
          lambda x: jax.make_array_from_process_local_data(self.replicated, np.asarray(x)), state)
    n = self.num_devices
    return jax.tree.map(lambda x: jax.device_put(
        np.broadcast_to(np.asarray(x)[None], (n, *np.shape(x))), self.leading_axis), state)

  def host_state(self, state):
    """A process-local copy on one device (for evaluation, pictures and checks on this process)."""
    if self.mode == "jit":
      return jax.tree.map(lambda x: jnp.asarray(x.addressable_data(0)), state)
    return jax.tree.map(lambda x: x[0], state)

  def checkpoint_state(self, state):
    """What orbax saves: global replicated arrays (jit) or the one-device copy (pmap)."""
    return state if self.mode == "jit" else self.host_state(state)

  # --- batches
  def put_batch(self, batch: np.ndarray):
    """``batch`` is the GLOBAL [n_critic, B, ...] batch; each process places only its rows."""
    if self.mode == "jit":
      per_process = batch.shape[1] // self.num_processes
      start = jax.process_index() * per_process
      local = batch[:, start:start + per_process]
      return jax.make_array_from_process_local_data(self.data_sharding, local, batch.shape)
    n = self.num_devices
    shards = batch.reshape(batch.shape[0], n, batch.shape[1] // n, *batch.shape[2:])
    return jax.device_put(np.moveaxis(shards, 1, 0), self.leading_axis)

  def put_local_batch(self, local: np.ndarray, batch_size: int):
    """``local`` is THIS process's rows [n_critic, batch_size / num_processes, ...] of a global batch
    of ``batch_size`` (``jaxgan.input_pipeline`` reads only those); returns the global array."""
    if self.mode == "jit":
      shape = (local.shape[0], batch_size) + tuple(local.shape[2:])
      return jax.make_array_from_process_local_data(self.data_sharding, local, shape)
    return self.put_batch(local)  # pmap runs in one process: its rows are the global batch

  def metrics(self, metrics) -> dict[str, float]:
    if self.mode == "jit":
      return {k: float(np.asarray(v.addressable_data(0))) for k, v in metrics.items()}
    return {k: float(np.asarray(v)[0]) for k, v in metrics.items()}

  # --- the step
  def compile_step(self, make_step: Callable[..., Callable], state, batch, *scalars) -> Callable:
    """Compiles ``make_step(axis_name=..., num_shards=...)`` once for these placements; ``scalars``
    (e.g. PGGAN's alpha) are replicated float32 inputs, so new values never recompile."""
    scalars = tuple(jnp.asarray(x, jnp.float32) for x in scalars)
    if self.mode == "jit":
      fn = jax.jit(make_step(),
                   in_shardings=(self.replicated, self.data_sharding) + (self.replicated,) * len(
                       scalars),
                   out_shardings=(self.replicated, self.replicated), donate_argnums=(0,))
      # Traced inside the mesh: the step splits its per-example tensors over the 'batch' axis
      # (jaxgan.step.shard_batch).
      with jax.set_mesh(self.mesh):
        return fn.lower(state, batch, *scalars).compile(compiler_options=ops.compiler_options())
    fn = jax.pmap(make_step(axis_name=AXIS, num_shards=self.num_devices), axis_name=AXIS,
                  in_axes=(0, 0) + (None,) * len(scalars), devices=self.devices,
                  donate_argnums=(0,))
    return fn.lower(state, batch, *scalars).compile(compiler_options=ops.compiler_options())

"""The training program: ``train_and_evaluate(config, workdir)``, which ``jaxgan train`` runs.

The loop is deliberately plain: the input pipeline (:mod:`jaxgan.input_pipeline`) prepares this
process's rows of the next steps' real batches ahead (each a pure function of the seed and the step, so
a resumed run reads exactly what an uninterrupted one would), the compiled step runs asynchronously, and the host synchronises only every ``log_every`` steps
(progress line, metrics record, non-finite check), at evaluations and at checkpoints.

The jobs around the loop live in their own modules: checkpoints, their integrity checks and the
workdir lock in :mod:`jaxgan.checkpoints`; ``metrics.jsonl`` and TensorBoard in :mod:`jaxgan.writers`;
the evaluation and the spectral-norm audit in :mod:`jaxgan.metrics.evaluation`. Here: :class:`Run`
(what a config builds: data, networks, optimizers, checkpoints), :class:`CompiledSteps` (the compiled
step, one per progressive stage) and the loop.

Outputs in the workdir (written by process 0):
  ``config.json``      the config of the run, written with the first checkpoint (a resume with a
                       different config, or without this file, is refused);
  ``metrics.jsonl``    one JSON record per log step (kind 'train') and per evaluation (kind 'eval');
  ``tb/``              the same numbers and pictures as TensorBoard events;
  ``samples/``         pictures at each evaluation: 2-D samples over the critic's value contour, or a
                       grid of image samples;
  ``checkpoints/``     orbax checkpoints every ``checkpoint_every`` steps and at the end (the newest
                       ``keep_checkpoints`` kept), ``checkpoints.sha256.json`` their digests;
  ``lock``             held by the running trainer; ``damaged_checkpoints/`` steps set aside.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan import checkpoints as ckpt_lib
from jaxgan import config as config_lib
from jaxgan import data as data_lib
from jaxgan import growing
from jaxgan import input_pipeline
from jaxgan import models
from jaxgan import ops
from jaxgan import parallel as parallel_lib
from jaxgan import state as state_lib
from jaxgan import step as step_lib
from jaxgan import writers
from jaxgan.checkpoints import CheckpointError, WorkdirWriteError  # pylint: disable=unused-import
from jaxgan.metrics import evaluation

# Fields that do not change what is computed: a resumed run may change them.
_OUTPUT_FIELDS = ("log_every", "eval_every", "checkpoint_every", "keep_checkpoints", "eval_samples",
                  "inception_weights", "data_dir",
                  "num_steps", "critic_loop", "conv_impl", "name", "parallel", "num_devices",
                  "data_workers", "data_prefetch", "data_cache_mb")
_LOG_BYTES = 16 << 20  # free space asked for beyond two checkpoints: logs and pictures


class NonFiniteError(RuntimeError):
  """A loss or parameter became NaN or infinite; the last good checkpoint is kept."""


class Preempted(RuntimeError):
  """SIGTERM or SIGINT arrived; a checkpoint of the current step was written before stopping."""

  def __init__(self, signum: int, step: int, during: str = ""):
    super().__init__(f"received {signal.Signals(signum).name} at step {step}{during}: saved a "
                     f"checkpoint; rerun the same command to resume")
    self.signum = signum


def _log(msg: str) -> None:
  if jax.process_index() == 0:
    print(msg, flush=True)


def make_dataset(config) -> data_lib.Dataset:
  """The config's dataset; file datasets read ``data_dir`` (TFDS's default folder when empty)."""
  if config.dataset not in data_lib.FILE_DATASETS:
    return data_lib.make_dataset(config.dataset, config.seed)
  data_dir = os.path.expanduser(config.data_dir or "~/tensorflow_datasets")
  try:
    return data_lib.make_dataset(config.dataset, config.seed, data_dir=data_dir,
                                 image_size=config.image_size or None)
  except (FileNotFoundError, ValueError) as e:
    raise config_lib.ConfigError(f"data_dir: {str(e).splitlines()[0]}") from None


# ----------------------------------------------------------------------------------------------------
# What a config builds
# ----------------------------------------------------------------------------------------------------
class Run:
  """The pieces of a run a config determines: data, networks, optimizers, schedule, checkpoints.

  ``create=False`` (``sample``, ``evaluate``) opens the workdir's checkpoints without creating
  anything there, and skips damaged steps instead of setting them aside.
  """

  def __init__(self, config: ml_collections.ConfigDict, workdir: str, *, create: bool = True):
    config_lib.validate(config)
    self.config = config
    self.workdir = os.path.abspath(workdir)
    self.create = create
    self.dataset = make_dataset(config)
    self.sample_shape = tuple(self.dataset.sample_shape)
    self.parallel = parallel_lib.DataParallel(config)
    self.generator, self.critic = models.build(
        config, self.sample_shape,
        bn_axis_name=parallel_lib.AXIS if config.parallel == "pmap" else None)
    self.g_tx, self.d_tx = state_lib.make_optimizers(config)
    self.schedule = (growing.Schedule(config, self.sample_shape[0]) if config.model == "pggan"
                     else None)
    if self.schedule is not None:
      for res, b in self.schedule.batch.items():
        if b % self.parallel.num_devices:
          raise config_lib.ConfigError(
              f"batch_by_resolution: batch {b} at {res}x{res} does not split evenly over "
              f"{self.parallel.num_devices} devices")
    self.checkpoints = ckpt_lib.Checkpoints(self.workdir, config.keep_checkpoints, create=False)

  # --- state and checkpoints
  def fresh_state(self) -> state_lib.GANState:
    return state_lib.init_state(self.config, self.generator, self.critic, self.g_tx, self.d_tx,
                                self.sample_shape)

  def abstract_state(self) -> state_lib.GANState:
    """Shapes and dtypes of the state, on this process's first device (the state is replicated, so
    a run can resume on another number of devices or processes)."""
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=device),
                        jax.eval_shape(self.fresh_state))

  def state_bytes(self) -> int:
    return sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(self.abstract_state()))

  def checkpoint_steps(self) -> list[int]:
    return self.checkpoints.all_steps()

  def latest_step(self) -> int | None:
    return self.checkpoints.latest_step()

  def restore(self, step: int | None = None) -> state_lib.GANState | None:
    """The state of checkpoint ``step`` on this process's first device; by default the newest
    checkpoint that passes its check and restores (see :meth:`jaxgan.checkpoints.Checkpoints.restore`).
    None when the workdir has no checkpoint; :class:`CheckpointError` when it has some and none
    restores (never a silent fresh start over a workdir with checkpoints)."""
    return self.checkpoints.restore(self.abstract_state(), step, set_aside=self.create)

  def save(self, state) -> None:
    """Checkpoints the (device-placed) train state, refusing one with non-finite parameters; returns
    once it is on disk with its digest recorded (:class:`CheckpointError` if it is not). The first
    checkpoint of a workdir writes ``config.json`` just before it."""
    host = self.parallel.host_state(state)
    finite = all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves((host.g_params,
                                                                           host.d_params)))
    if not finite:
      raise NonFiniteError(f"parameters are not finite at step {int(host.step)}; the checkpoint "
                           f"of step {self.latest_step()} is kept")
    if self.latest_step() is None:
      write_config(self)
    self.checkpoints.save(int(host.step), self.parallel.checkpoint_state(state))

  # --- samples and batches
  def stage_of(self, state) -> tuple[int | None, float | None]:
    """(stage, alpha) of the last step ``state`` completed (None, None without progressive growing)."""
    if self.schedule is None:
      return None, None
    stage, alpha, _ = self.schedule.at(max(int(state.step) - 1, 0))
    return stage, alpha

  def samples(self, state: state_lib.GANState, num: int, seed: int) -> np.ndarray:
    """``num`` generator samples (EMA weights when kept), float32 numpy, in data space (for a
    progressive run: at the state's current stage and fade-in)."""
    z = step_lib.latents(jax.random.PRNGKey(seed), num, self.config.latent_dim)
    stage, alpha = self.stage_of(state)
    out = []
    for i in range(0, num, 1024):
      out.append(np.asarray(step_lib.generate(self.generator, state, z[i:i + 1024], stage=stage,
                                              alpha=alpha)))
    return np.concatenate(out).astype(np.float32)

  def real_samples(self, num: int, resolution: int) -> np.ndarray:
    """``num`` real images of the evaluation stream (seed ``config.seed``) at ``resolution``."""
    return ops.downscale_to(self.dataset.sample(num, self.config.seed), resolution)


def load_workdir_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a workdir's checkpoints were made with (its ``config.json``), validated; fields added
  since take their defaults, renamed ones their new name."""
  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    raise config_lib.ConfigError(f"workdir: no run in '{workdir}' (no config.json); train first")
  try:
    with open(path) as f:
      saved = json.load(f)
  except (OSError, ValueError) as e:
    raise config_lib.ConfigError(f"workdir: cannot read '{path}': {e}") from None
  config = config_lib.base_config()
  config.update(config_lib.migrate_fields(saved))
  return config_lib.validate(config)


def open_run(workdir: str) -> Run:
  """The run of an existing workdir for ``sample`` / ``evaluate``: its config, nothing created."""
  return Run(load_workdir_config(workdir), workdir, create=False)


def write_config(run: Run) -> None:
  if run.parallel.is_main:
    os.makedirs(run.workdir, exist_ok=True)
    ckpt_lib.write_atomically(os.path.join(run.workdir, "config.json"),
                              json.dumps(run.config.to_dict(), indent=2, sort_keys=True))


def _check_config_matches(run: Run) -> None:
  """A workdir with checkpoints resumes only with the config they were made with."""
  if not run.checkpoint_steps() and not run.checkpoints.damaged():
    return  # a config.json without checkpoints is from a start that failed: not binding
  path = os.path.join(run.workdir, "config.json")
  if not os.path.isfile(path):
    raise config_lib.ConfigError(
        f"workdir: '{run.workdir}' has checkpoints but no config.json (the config they were made "
        f"with); put it back, or use another --workdir")
  saved = load_workdir_config(run.workdir).to_dict()
  config = run.config
  for field, value in config.to_dict().items():
    # num_steps may grow on resume, except where the learning-rate schedule is a function of it.
    if field in _OUTPUT_FIELDS and not (field == "num_steps" and config.lr_schedule != "constant"):
      continue
    if field in saved and saved[field] != value:
      raise config_lib.ConfigError(
          f"{field}: the checkpoints in {run.workdir} were made with {field}={saved[field]!r}, not "
          f"{value!r}; use another --workdir or the same config")


def open_workdir(run: Run) -> ckpt_lib.WorkdirLock | None:
  """Process 0 checks the workdir (writable, free space: :func:`jaxgan.checkpoints.check_workdir`),
  takes its lock and checks the config against its checkpoints; every process then opens the
  checkpoints (orbax synchronises them). Returns the held lock (None on other processes); a
  one-line :class:`~jaxgan.config.ConfigError` on failure, before any compile."""
  lock = None
  if run.parallel.is_main:
    ckpt_lib.check_workdir(run.workdir, 2 * run.state_bytes() + _LOG_BYTES)
    lock = ckpt_lib.WorkdirLock(run.workdir).acquire()
  try:
    run.checkpoints = ckpt_lib.Checkpoints(run.workdir, run.config.keep_checkpoints, create=True)
    if run.parallel.is_main:
      _check_config_matches(run)
      if run.checkpoint_steps():
        write_config(run)  # same computation; records the output fields of this run
  except BaseException:
    if lock is not None:
      lock.release()
    raise
  return lock


# ----------------------------------------------------------------------------------------------------
# The compiled step and the input
# ----------------------------------------------------------------------------------------------------
def make_input_pipeline(run: Run) -> input_pipeline.InputPipeline:
  """The loop's input: this process's rows of each step's real batch, prefetched and placed on the
  devices (``pipeline.batch(step)``); a pure function of (seed, step), so a resumed run needs no
  iterator state. Close it when done (``pipeline.close()``)."""
  return input_pipeline.InputPipeline(run.config, run.dataset, run.schedule, run.parallel)


class CompiledSteps:
  """The compiled train step (one per progressive stage), compiled ahead of time for the placements
  of ``state`` and of the batches ``abstract_batch(step)`` describes (shape, dtype, sharding).
  ``get(step)`` is the step function of that step: ``fn(state, batch, *scalars(step)) -> (state,
  metrics)``; it compiles the stage's step on first use unless :meth:`compile_ahead` has.

  Progressive runs: the trainer calls :meth:`compile_ahead` once the first step is compiled, so that
  no stage change waits for a compile. On CPU it compiles every later stage's step there and then,
  before training: XLA compiles on worker threads of its own at the training's priority, so a
  background compile takes the same cores as the steps (measured: ``benchmarks/stage_changes.py``).
  With an accelerator the host's cores are free while the steps run, and the later stages compile,
  in order, in one background thread. If a stage begins before its step is ready, ``get`` says so on
  a '[jaxgan]' line, waits, and adds the wait to ``wait_s`` (per stage) and ``total_wait_s`` (the
  'compile_wait_s' of the train records). On CPU the trainer then runs each later stage's step
  once on a copy of the state (:meth:`warm_up`: a step's first run costs more), and the optimizer
  reset at each phase start is a compiled program on the devices (:meth:`reset_optimizers`)."""

  def __init__(self, run: Run, state, abstract_batch: Callable[[int], jax.ShapeDtypeStruct]):
    self.run = run
    self.abstract_batch = abstract_batch
    self.abstract_state = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)
    self.compiled: dict[int | None, Any] = {}
    self.pending: dict[int, concurrent.futures.Future] = {}
    self.compile_s: dict[int | None, float] = {}  # stage -> seconds its lower + compile took
    self.wait_s: dict[int | None, float] = {}  # stage -> seconds the loop waited for its compile
    self.pool: concurrent.futures.ThreadPoolExecutor | None = None
    self.reset_fn = None  # compiled optimizer reset (reset_optimizers)

  @property
  def total_wait_s(self) -> float:
    return sum(self.wait_s.values())

  def scalars(self, step: int) -> tuple:
    if self.run.schedule is None:
      return ()
    return (np.float32(self.run.schedule.at(step)[1]),)

  def _stage(self, step: int) -> int | None:
    return None if self.run.schedule is None else self.run.schedule.phase(step).stage

  def _compile(self, stage: int | None, step: int):
    run = self.run
    t = time.perf_counter()
    fn = run.parallel.compile_step(
        lambda **kw: step_lib.make_train_step(run.config, run.generator, run.critic, run.g_tx,
                                              run.d_tx, stage=stage, **kw),
        self.abstract_state, self.abstract_batch(step), *self.scalars(step))
    self.compile_s[stage] = time.perf_counter() - t
    return fn

  def later_stages(self, step: int) -> list[int]:
    """The stages after ``step``'s that begin before ``num_steps`` and are neither compiled nor
    compiling (none without progressive growing)."""
    if self.run.schedule is None:
      return []
    return sorted({p.stage for p in self.run.schedule.phases
                   if p.stage > self._stage(step) and p.start < self.run.config.num_steps
                   and p.stage not in self.compiled and p.stage not in self.pending})

  def _stage_start(self, stage: int) -> int:
    """The first step of ``stage`` (its fade-in, or its stable phase for stage 0)."""
    return next(p.start for p in self.run.schedule.phases if p.stage == stage)

  def compile_ahead(self, step: int, *, background: bool) -> list[int]:
    """Compiles the step of each of :meth:`later_stages`: now, or (``background``) in order in a
    background thread; returns those stages. The optimizer reset (:meth:`reset_optimizers`) of the
    phases ahead compiles now (a small program: well under a second)."""
    stages = self.later_stages(step)
    schedule = self.run.schedule
    if (schedule is not None and self.reset_fn is None
        and any(schedule.resets_optimizer(p.start) for p in schedule.phases
                if step < p.start < self.run.config.num_steps)):
      self.reset_fn = self._compile_reset()
    if background and stages and self.pool is None:
      self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxgan-compile")
    for stage in stages:
      start = self._stage_start(stage)
      if background:
        self.pending[stage] = self.pool.submit(self._compile, stage, start)
      else:
        self.compiled[stage] = self._compile(stage, start)
    return stages

  def get(self, step: int):
    stage = self._stage(step)
    if stage not in self.compiled:
      future = self.pending.pop(stage, None)
      if future is None:
        self.compiled[stage] = self._compile(stage, step)
      else:
        res = self.run.schedule.resolutions[stage]
        ready = future.done()
        if ready:
          _log(f"[jaxgan] step {step}: the {res}x{res} step was compiled in the background "
               f"({self.compile_s.get(stage, 0.0):.1f}s), ready before its stage")
        else:
          _log(f"[jaxgan] step {step}: waiting for the {res}x{res} step's compile (running in "
               f"the background)")
        t = time.perf_counter()
        self.compiled[stage] = future.result()
        self.wait_s[stage] = 0.0 if ready else time.perf_counter() - t
        if not ready:
          _log(f"[jaxgan] step {step}: waited {self.wait_s[stage]:.1f}s for the {res}x{res} "
               f"step (compile {self.compile_s.get(stage, 0.0):.1f}s in all)")
    return self.compiled[stage]

  def warm_up(self, state, stages: list[int]) -> None:
    """Runs the compiled step of each of ``stages`` once, on a copy of ``state`` and a batch of
    zeros, and discards the result (``state`` is not touched).

    The first run of a compiled CPU step costs more than the next ones: XLA's CPU runtime builds
    each YNNPACK matmul fusion's runtime on its first call, and the step's buffers are new to the
    allocator (measured with ``jax.profiler`` at ``cifar10_pggan``'s 4x4 -> 8x8 change, 32 feature
    maps: the first 8x8 step 165 ms against 36 ms, 106 of the 130 ms in the YNNPACK fusions). Run
    here, before training, that cost is paid at the start instead of at the stage change. Price: one
    step of each later stage at the start, and a second copy of the state while it runs."""
    for stage in stages:
      start = self._stage_start(stage)
      spec = self.abstract_batch(start)
      batch = jax.jit(lambda: jnp.zeros(spec.shape, spec.dtype), out_shardings=spec.sharding)()
      copy = jax.tree.map(lambda x: jax.device_put(x, x.sharding, may_alias=False), state)
      jax.block_until_ready(self.get(start)(copy, batch, *self.scalars(start)))

  def _compile_reset(self):
    """``state -> state`` with fresh optimizer states (``tx.init`` of the parameters), the rest
    passed through; the state donated, placed as the step's."""
    run, par = self.run, self.run.parallel

    def reset(state):
      return state.replace(g_opt_state=run.g_tx.init(state.g_params),
                           d_opt_state=run.d_tx.init(state.d_params))

    if par.mode == "jit":
      fn = jax.jit(reset, in_shardings=(par.replicated,), out_shardings=par.replicated,
                   donate_argnums=(0,))
    else:
      fn = jax.pmap(reset, axis_name=parallel_lib.AXIS, devices=par.devices, donate_argnums=(0,))
    return fn.lower(self.abstract_state).compile()

  def reset_optimizers(self, state):
    """``state`` with both optimizer states re-initialised (PGGAN's reset at each phase start):
    one small compiled program on the devices, compiled with the later stages' steps
    (:meth:`compile_ahead`) or on first use; ``state`` is donated."""
    if self.reset_fn is None:
      self.reset_fn = self._compile_reset()
    return self.reset_fn(state)

  def close(self) -> None:
    """Cancels the compiles not yet started (one already running finishes in its thread)."""
    if self.pool is not None:
      self.pool.shutdown(wait=False, cancel_futures=True)


def compile_in_background() -> bool:
  """Whether a progressive run compiles its later stages in the background (with an accelerator:
  the host's cores are idle while it steps) or before training (CPU: a compile would share the
  training's cores; see :class:`CompiledSteps`)."""
  return jax.default_backend() != "cpu"


def compile_train_step(run: Run, state, pipeline: input_pipeline.InputPipeline,
                       step: int = 0) -> Callable:
  """The compiled step function of ``step`` for the device-placed ``state`` (benchmarks, tests):
  ``fn(state, pipeline.batch(step)) -> (state, metrics)``."""
  return CompiledSteps(run, state, pipeline.abstract_batch).get(step)


# ----------------------------------------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------------------------------------
class _StopSignals:
  """SIGTERM / SIGINT set a flag the loop reads after each step (it then saves and stops); during
  the final evaluation (``immediate_step`` set) they stop the process at once (exit 128 + signal),
  the final checkpoint being on disk."""

  def __init__(self):
    self.received: list[int] = []
    self.immediate_step: int | None = None
    self._old = {}

  def _handle(self, signum, frame):
    del frame
    self.received.append(signum)
    if self.immediate_step is not None:
      # Everything is on disk (the final checkpoint, each log record when written): stop now. An
      # exception raised here could land in any callback (e.g. a garbage-collection hook) and be
      # ignored, so this exits directly, with the status and line `jaxgan train` gives a Preempted.
      print(f"jaxgan: {Preempted(signum, self.immediate_step, ' during the final evaluation')}",
            file=sys.stderr, flush=True)
      os._exit(128 + signum)  # pylint: disable=protected-access

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._old[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc):
    for sig, handler in self._old.items():
      signal.signal(sig, handler)

  def __bool__(self):
    return bool(self.received)


class _Logs:
  """The loop's outputs on process 0: progress lines, ``metrics.jsonl`` / TensorBoard records."""

  def __init__(self, run: Run, start: int):
    self.run, self.start, self.t0 = run, start, time.time()
    self.writer = writers.MetricsWriter(run.workdir, start) if run.parallel.is_main else None

  def train(self, done: int, metrics: dict[str, float], data: dict[str, float]) -> None:
    """A progress line and a 'train' record; ``data``: the input pipeline's statistics and the
    seconds spent waiting for stages' compiles ('compile_wait_s', in the line when not zero)."""
    c, par = self.run.config, self.run.parallel
    rate = (done - self.start) / max(time.time() - self.t0, 1e-9)
    eta = (c.num_steps - done) / max(rate, 1e-9)
    _log(f"step {done:>6}/{c.num_steps} | critic {metrics['critic_loss']:+.4f} "
         f"gp {metrics['penalty']:.4f} G {metrics['g_loss']:+.4f} | W {metrics['w_estimate']:+.4f} "
         f"|grad| {metrics['grad_norm']:.3f} | {rate:.1f} steps/s "
         f"{rate * c.batch_size * c.n_critic:,.0f} img/s | ETA {_format_duration(eta)}"
         f" | {par.num_devices} dev x {par.num_processes} proc | data wait "
         f"{100 * data.get('data_wait_fraction', 0.0):.1f}%, "
         f"{data.get('data_images_per_s', 0.0):,.0f} img/s/host"
         + (f" | compile wait {data['compile_wait_s']:.1f}s" if data.get("compile_wait_s") else ""))
    self.write({"kind": "train", "step": done, **metrics, "steps_per_s": rate,
                "num_devices": par.num_devices, "num_processes": par.num_processes, **data})

  def eval(self, state, tag: str | None = None) -> dict[str, Any] | None:
    if not self.run.parallel.is_main:
      return None
    record = evaluation.evaluate(self.run, self.run.parallel.host_state(state), tag=tag)
    self.write(record)
    _log(f"[eval] {writers.eval_summary(record)}")
    return record

  def write(self, record: dict[str, Any]) -> None:
    if self.writer is not None:
      self.writer.write(record)

  def close(self) -> None:
    if self.writer is not None:
      try:
        self.writer.close()
      except OSError as e:  # the write that failed first has been reported
        ckpt_lib.warn(f"closing the logs: {e.strerror or e}")


def _format_duration(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _check_finite(step: int, metrics: dict[str, float], run: Run) -> None:
  names = {"critic_loss": "critic loss", "penalty": "gradient penalty", "g_loss": "generator loss",
           "critic_total": "critic loss (total)", "grad_norm": "critic input-gradient norm"}
  for key, label in names.items():
    if key in metrics and not math.isfinite(metrics[key]):
      raise NonFiniteError(
          f"the {label} is {metrics[key]} at step {step}; stopping. The last good checkpoint "
          f"(step {run.latest_step()}) is kept in {run.checkpoints.directory}")


def _reset_optimizers_at_stage_change(run: Run, state, step: int, steps: CompiledSteps):
  """PGGAN: both Adam states restart when a new phase begins (as the official code does), on the
  devices (:meth:`CompiledSteps.reset_optimizers`: no host round trip, no synchronisation)."""
  if run.schedule is None or not run.schedule.resets_optimizer(step):
    return state
  phase = run.schedule.phase(step)
  res = run.schedule.resolutions[phase.stage]
  _log(f"[jaxgan] step {step}: {res}x{res} {'fade-in' if phase.fade else 'stable phase'} "
       f"begins; both Adam states reset (as the official PGGAN code does at each level change)")
  return steps.reset_optimizers(state)


def train_loop(run: Run, state, start: int, steps: CompiledSteps,
               pipeline: input_pipeline.InputPipeline, logs: _Logs, stop: _StopSignals):
  """Steps ``start .. num_steps`` with their logs, evaluations and checkpoints; returns the state."""
  c, par = run.config, run.parallel
  for step in range(start, c.num_steps):
    state = _reset_optimizers_at_stage_change(run, state, step, steps)
    state, metrics = steps.get(step)(state, pipeline.batch(step), *steps.scalars(step))
    done = step + 1
    if stop:  # preemption: save this step, then stop
      _check_finite(done, par.metrics(metrics), run)
      run.save(state)
      raise Preempted(stop.received[0], done)
    log_now = done % c.log_every == 0 or done == c.num_steps
    checkpoint_now = done % c.checkpoint_every == 0 and done != c.num_steps
    if log_now or checkpoint_now:
      host = par.metrics(metrics)
      _check_finite(done, host, run)
      if log_now:
        logs.train(done, host, {**pipeline.stats(), "compile_wait_s": steps.total_wait_s})
    if c.eval_every and done % c.eval_every == 0 and done != c.num_steps:
      logs.eval(state)
    if checkpoint_now:
      run.save(state)
  return state


def _describe(run: Run, state, start: int) -> None:
  c = run.config
  if start:
    _log(f"[jaxgan] {c.name}: resuming from the checkpoint of step {start} in {run.workdir}")
  else:
    _log(f"[jaxgan] {c.name}: new run in {run.workdir}")
  objective = c.loss + (f" + {c.gp_weight:g}*GP" if c.gp_weight > 0 else "")
  objective += f" + clip {c.clip_value:g}" if c.clip_value > 0 else ""
  objective += " + SN" if c.spectral_norm else ""
  _log(f"[jaxgan] {objective} on {c.dataset}, model {c.model} "
       f"(G {state_lib.num_parameters(state.g_params):,} / D "
       f"{state_lib.num_parameters(state.d_params):,} parameters), batch {c.batch_size}, "
       f"n_critic {c.n_critic}, {c.num_steps} steps, critic loop "
       f"{step_lib.resolve_critic_loop(c)}, convolutions "
       f"{models.layers.resolve_conv_impl(c.conv_impl)}, {run.parallel.describe()}")
  if start >= c.num_steps:
    _log(f"[jaxgan] already at step {start} >= num_steps {c.num_steps}; evaluating only")


@contextlib.contextmanager
def _write_errors_as_one_line(run: Run):
  """A failed write of a log or picture (disk full, folder removed, ...) stops the run with one line;
  the checkpoints written so far are intact."""
  try:
    yield
  except OSError as e:
    raise ckpt_lib.WorkdirWriteError(
        f"cannot write {e.filename or 'in ' + run.workdir}: {e.strerror or e}; the checkpoint of "
        f"step {run.latest_step()} is kept") from None


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> state_lib.GANState:
  """Trains ``config`` in ``workdir`` (resuming from its newest good checkpoint) and evaluates it.

  Returns:
    The final train state (on this process's default device).
  """
  run = Run(config, workdir)
  lock = open_workdir(run)
  pipeline = steps = None
  try:
    host_state = run.restore()
    start = 0 if host_state is None else int(host_state.step)
    if host_state is None:
      host_state = run.fresh_state()
    _describe(run, host_state, start)
    state = run.parallel.put_state(host_state)
    del host_state
    pipeline = make_input_pipeline(run)
    steps = CompiledSteps(run, state, pipeline.abstract_batch)
    if start < config.num_steps:
      pipeline.start(start)  # worker processes start while the step compiles
      t_compile = time.time()
      steps.get(start)
      _log(f"[jaxgan] compiled the train step in {time.time() - t_compile:.1f}s")
      if run.schedule is not None:
        _log(f"[jaxgan] progressive schedule: {run.schedule.describe()}")
        background = compile_in_background()
        later = steps.later_stages(start)
        res = ", ".join(f"{r}x{r}" for r in (run.schedule.resolutions[s] for s in later))
        if later:
          _log(f"[jaxgan] compiling the later stages' steps ({res}) "
               + ("in the background" if background else "before training (on CPU a background "
                  "compile would take the training's cores at the stage changes)"))
        t_compile = time.time()
        steps.compile_ahead(start, background=background)
        if later and not background:
          t_warm = time.time()
          steps.warm_up(state, later)
          _log(f"[jaxgan] compiled the later stages' steps ({res}) in "
               f"{t_warm - t_compile:.1f}s and ran each once on a copy of the state "
               f"({time.time() - t_warm:.1f}s: the first run of a step costs more)")
    with _write_errors_as_one_line(run):
      logs = _Logs(run, start)
    try:
      with _StopSignals() as stop, _write_errors_as_one_line(run):
        state = train_loop(run, state, start, steps, pipeline, logs, stop)
        pipeline.close()
        if start < config.num_steps or run.latest_step() is None:
          run.save(state)
        stop.immediate_step = int(run.parallel.host_state(state).step)
        if stop:
          raise Preempted(stop.received[0], stop.immediate_step)
        record = logs.eval(state, tag="final")
        stop.immediate_step = None
    finally:
      logs.close()
    if record is not None:
      _log(f"[jaxgan] done: checkpoints in {run.checkpoints.directory}, metrics in "
           f"{os.path.join(run.workdir, writers.METRICS_FILE)}, pictures in "
           f"{os.path.join(run.workdir, 'samples')} (final: {record['picture']})")
  finally:
    if steps is not None:
      steps.close()
    if pipeline is not None:
      pipeline.close()
    if lock is not None:
      lock.release()
  return run.parallel.host_state(state)

"""The training program: ``train_and_evaluate(config, workdir)``, which ``jaxgan train`` runs.

The loop is deliberately plain: the host makes the step's real batches (a pure function of the seed
and the step, so a resumed run reads exactly what an uninterrupted one would), the compiled step runs
asynchronously, and the host synchronises only every ``log_every`` steps (progress line, metrics record,
non-finite check), at evaluations and at checkpoints.

Outputs in the workdir:
  ``config.json``      the config of the run (a resume with a different config is refused);
  ``metrics.jsonl``    one JSON record per log step (kind 'train') and per evaluation (kind 'eval');
  ``samples/``         pictures at each evaluation: 2-D samples over the critic's value contour, or a
                       grid of image samples;
  ``checkpoints/``     orbax checkpoints every ``checkpoint_every`` steps and at the end.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from jaxgan import config as config_lib
from jaxgan import data as data_lib
from jaxgan import growing
from jaxgan import input_pipeline
from jaxgan import models
from jaxgan import parallel as parallel_lib
from jaxgan import plots
from jaxgan import state as state_lib
from jaxgan import step as step_lib

# Fields that do not change what is computed: a resumed run may change them.
_OUTPUT_FIELDS = ("log_every", "eval_every", "checkpoint_every", "max_to_keep", "eval_samples",
                  "inception_weights", "data_dir",
                  "num_steps", "critic_loop", "conv_impl", "name", "parallel", "num_devices",
                  "data_workers", "data_prefetch", "data_cache_mb")


class NonFiniteError(RuntimeError):
  """A loss or parameter became NaN or infinite; the last good checkpoint is kept."""


class CheckpointError(RuntimeError):
  """The workdir has checkpoints and none of them restores."""


class Preempted(RuntimeError):
  """SIGTERM or SIGINT arrived; a checkpoint of the current step was written before stopping."""

  def __init__(self, signum: int, step: int):
    super().__init__(f"received {signal.Signals(signum).name} at step {step}: saved a checkpoint; "
                     f"rerun the same command to resume")
    self.signum = signum


def _warn(msg: str) -> None:
  print(f"[jaxgan] warning: {msg}", file=sys.stderr, flush=True)


def _tree_digest(path: str) -> str:
  """SHA-256 over the relative paths and contents of every file under ``path`` (sorted)."""
  h = hashlib.sha256()
  for root, dirs, files in os.walk(path):
    dirs.sort()
    for name in sorted(files):
      full = os.path.join(root, name)
      h.update(os.path.relpath(full, path).encode() + b"\0")
      with open(full, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
          h.update(chunk)
  return h.hexdigest()


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


class Run:
  """The pieces of a run a config determines: data, networks, optimizers, step, checkpoints."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    config_lib.validate(config)
    self.config = config
    self.workdir = os.path.abspath(workdir)
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
    self.checkpoints = ocp.CheckpointManager(
        os.path.join(self.workdir, "checkpoints"),
        options=ocp.CheckpointManagerOptions(max_to_keep=config.max_to_keep, create=True))

  def fresh_state(self) -> state_lib.GANState:
    return state_lib.init_state(self.config, self.generator, self.critic, self.g_tx, self.d_tx,
                                self.sample_shape)

  def _restore_step(self, step: int) -> state_lib.GANState:
    # Restore onto this process's first device whatever the topology that saved it (the state is
    # replicated), so a run can resume on another number of devices or processes.
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=device),
                            jax.eval_shape(self.fresh_state))
    return self.checkpoints.restore(step, args=ocp.args.StandardRestore(abstract))

  @property
  def _checksum_path(self) -> str:
    return os.path.join(self.workdir, "checkpoints.sha256.json")

  def _checksums(self) -> dict[str, str]:
    try:
      with open(self._checksum_path) as f:
        return json.load(f)
    except (OSError, ValueError):
      return {}

  def _step_dir(self, step: int) -> str:
    return os.path.join(str(self.checkpoints.directory), str(step))

  def restore(self, step: int | None = None) -> state_lib.GANState | None:
    """The state of checkpoint ``step`` on this process's first device; by default the newest
    checkpoint that verifies and restores. A newest checkpoint whose SHA-256 does not match the one
    recorded at save time, or that fails to restore, is skipped with a warning naming it. None when
    the workdir has no checkpoint; :class:`CheckpointError` when it has some and none restores (never a
    silent fresh start over a workdir with checkpoints)."""
    steps = sorted(self.checkpoints.all_steps(), reverse=True) if step is None else [step]
    if not steps:
      return None
    recorded = self._checksums()
    problems = []
    for s in steps:
      digest = recorded.get(str(s))
      if digest is not None and _tree_digest(self._step_dir(s)) != digest:
        problems.append(f"step {s}: files do not match their SHA-256 recorded at save time")
        _warn(f"checkpoint {self._step_dir(s)} is damaged (SHA-256 mismatch); trying an older one")
        continue
      try:
        return self._restore_step(s)
      except Exception as e:  # pylint: disable=broad-except  # any failure: try the next one
        problems.append(f"step {s}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        _warn(f"checkpoint {self._step_dir(s)} failed to restore ({problems[-1]}); trying an "
              f"older one")
    raise CheckpointError(f"no checkpoint in {self.checkpoints.directory} restores ("
                          f"{'; '.join(problems)}); move the folder away to start afresh")

  def save(self, state) -> None:
    """Checkpoints the (device-placed) train state, refusing one with non-finite parameters, waits
    for the write, and records the SHA-256 of its files."""
    host = self.parallel.host_state(state)
    finite = all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves((host.g_params,
                                                                           host.d_params)))
    if not finite:
      raise NonFiniteError(f"parameters are not finite at step {int(host.step)}; the checkpoint "
                           f"of step {self.checkpoints.latest_step()} is kept")
    step = int(host.step)
    self.checkpoints.save(step, args=ocp.args.StandardSave(self.parallel.checkpoint_state(state)))
    self.checkpoints.wait_until_finished()
    if self.parallel.is_main:
      kept = {str(s) for s in self.checkpoints.all_steps()}
      sums = {k: v for k, v in self._checksums().items() if k in kept}
      sums[str(step)] = _tree_digest(self._step_dir(step))
      tmp = self._checksum_path + ".tmp"
      with open(tmp, "w") as f:
        json.dump(sums, f, indent=1, sort_keys=True)
      os.replace(tmp, self._checksum_path)

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


def _check_config_matches(workdir: str, config: ml_collections.ConfigDict) -> None:
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    return
  with open(path) as f:
    saved = json.load(f)
  for field, value in config.to_dict().items():
    # num_steps may grow on resume, except where the learning-rate schedule is a function of it.
    if field in _OUTPUT_FIELDS and not (field == "num_steps" and config.lr_schedule != "constant"):
      continue
    if field in saved and saved[field] != value:
      raise config_lib.ConfigError(
          f"{field}: the checkpoints in {workdir} were made with {field}={saved[field]!r}, not "
          f"{value!r}; use another --workdir or the same config")


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
          f"(step {run.checkpoints.latest_step()}) is kept in {run.checkpoints.directory}")


def _conv_specs(critic, state: state_lib.GANState, sample_shape) -> dict[str, dict[str, Any]]:
  """Input shape, strides and padding of each spectrally normalised convolution of the critic, read
  by intercepting its calls during a shape-only trace (no compile, no FLOPs)."""
  from jaxgan import spectral  # pylint: disable=import-outside-toplevel
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  specs = {}

  def interceptor(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name == "__call__" and isinstance(module, (spectral.SNConv,
                                                                 spectral.SNConvTranspose)):
      kind = "conv" if isinstance(module, spectral.SNConv) else "conv_transpose"
      specs["/".join(module.path)] = dict(input_shape=tuple(args[0].shape[1:]),
                                          strides=module.strides, padding=module.padding, kind=kind)
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(interceptor):
    jax.eval_shape(lambda x: step_lib.critic_scores(critic, state, x),
                   jax.ShapeDtypeStruct((1, *sample_shape), jnp.float32))
  return specs


def spectral_audit(run: Run, state: state_lib.GANState) -> dict[str, dict[str, float]]:
  """Per spectrally normalised critic layer: the running sigma estimate, the exact largest singular
  value of the reshaped kernel (SVD), and for convolutions the true operator norm of the strided,
  padded convolution (power iteration on the convolution and its transpose)."""
  from jaxgan import spectral  # pylint: disable=import-outside-toplevel
  return spectral.spectral_audit(state.d_params, state.d_state.get("spectral", {}),
                                 _conv_specs(run.critic, state, run.sample_shape))


def downscale(images: np.ndarray, resolution: int) -> np.ndarray:
  """Box-filter [..., S, S, C] images down to ``resolution`` (PGGAN's average pooling)."""
  size = images.shape[-2]
  if size == resolution:
    return images
  f = size // resolution
  shape = images.shape[:-3] + (resolution, f, resolution, f, images.shape[-1])
  return images.reshape(shape).mean(axis=(-4, -2)).astype(images.dtype)


def evaluate(run: Run, state: state_lib.GANState, tag: str | None = None) -> dict[str, Any]:
  """The config's metrics for ``state`` and a picture in ``samples/``; returns the record."""
  from jaxgan.metrics import digits as digit_metrics  # pylint: disable=import-outside-toplevel
  from jaxgan.metrics import modes as mode_metrics  # pylint: disable=import-outside-toplevel

  config = run.config
  step = int(state.step)
  tag = tag or f"{step:07d}"
  fake = run.samples(state, config.eval_samples, seed=config.seed + 1)
  record: dict[str, Any] = {"kind": "eval", "step": step, "num_samples": int(fake.shape[0]),
                            "generator": "ema" if state.g_ema else "raw"}
  sample_dir = os.path.join(run.workdir, "samples")
  if run.sample_shape == (2,):
    real = run.dataset.sample(config.eval_samples, config.seed)
    modes = run.dataset.modes
    if modes is not None:
      m = mode_metrics.mode_metrics(fake, modes.centers, modes.std)
      record.update({k: m[k] for k in ("modes_captured", "num_modes", "high_quality_fraction",
                                       "kl_to_uniform")})
      record["protocol"] = ("PacGAN: high quality = within 3 std of the nearest mode; a mode is "
                            "captured by >= 1 high-quality sample")
    from jaxgan.metrics import w1  # pylint: disable=import-outside-toplevel
    n = min(1000, len(fake), len(real))
    if np.all(np.isfinite(fake[:n])):
      record["w1"] = float(w1.exact_w1(fake[:n], real[:n]))
      record["w1_protocol"] = {"metric": "w1", "num_real": n, "num_fake": n,
                               "solver": "POT ot.emd2" if w1.pot_available() else
                               "scipy linear_sum_assignment", "generator": record["generator"]}
    extent = plots.toy_extent(real, None if modes is None else modes.centers)
    xs, ys, points = plots.critic_grid(extent, n=100)
    values = np.asarray(step_lib.critic_scores(run.critic, state, jnp.asarray(points)))
    path = plots.plot_toy(os.path.join(sample_dir, f"{tag}.png"), fake[:1000], real[:1000],
                          critic=(xs, ys, values.reshape(len(ys), len(xs))),
                          centers=None if modes is None else modes.centers,
                          title=f"{config.name} step {step}")
  else:
    stage, alpha = run.stage_of(state)
    if stage is not None:
      record.update({"stage": stage, "alpha": alpha,
                     "resolution": run.schedule.resolutions[stage]})
    if fake.shape[1] >= 7:
      from jaxgan.metrics import swd  # pylint: disable=import-outside-toplevel
      n = min(config.eval_samples, 512)
      real = downscale(run.dataset.sample(n, config.seed), fake.shape[1])
      result = swd.sliced_wasserstein_distance(real, fake[:n], seed=config.seed)
      record["swd_x1e3"] = [float(v) for v in result["per_level"]]
      record["swd_resolutions"] = [int(r) for r in result["resolutions"]]
      record["swd_mean_x1e3"] = float(result["mean"])
    from jaxgan.metrics import evaluation  # pylint: disable=import-outside-toplevel
    generator = "ema" if state.g_ema else "raw"
    if config.inception_weights and fake.shape[-1] in (1, 3):
      record.update(evaluation.inception_metrics(
          run.workdir, config.dataset, config.inception_weights,
          lambda n: downscale(run.dataset.sample(n, config.seed), fake.shape[1]), fake, generator,
          num_real=config.eval_samples))
    if config.dataset == "digits" and fake.shape[1:] == run.sample_shape:
      record.update(evaluation.digits_metrics(run.dataset.sample(config.eval_samples, config.seed),
                                              fake, generator))
      m = digit_metrics.digit_metrics(fake)
      record.update({"digits_covered": m["digits_covered"],
                     "class_histogram": [int(c) for c in m["class_histogram"]],
                     "max_class_fraction": m["max_class_fraction"],
                     "kl_to_uniform": m["kl_to_uniform"]})
    path = plots.save_image_grid(os.path.join(sample_dir, f"{tag}.png"), fake[:100],
                                 title=f"{config.name} step {step}")
  record["picture"] = os.path.relpath(path, run.workdir)
  if config.spectral_norm:
    record["spectral_audit"] = spectral_audit(run, state)
  return record


class _Writer:
  """The run's logs (process 0 only): ``metrics.jsonl`` and TensorBoard event files in ``tb/``
  (written by tensorboardX, no TensorFlow needed): every numeric field as a scalar under its kind
  ('train/critic_loss', 'eval/high_quality_fraction', ...) and each evaluation's picture as an image."""

  def __init__(self, workdir: str):
    from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
    self.workdir = workdir
    self.jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")  # pylint: disable=consider-using-with
    self.tb = SummaryWriter(os.path.join(workdir, "tb"))

  def write(self, record: dict[str, Any]) -> None:
    self.jsonl.write(json.dumps(jsonable(record)) + "\n")
    self.jsonl.flush()
    kind, step = record.get("kind", "train"), int(record["step"])
    for key, value in record.items():
      if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and key != "step":
        if math.isfinite(float(value)):
          self.tb.add_scalar(f"{kind}/{key}", float(value), step)
    if "picture" in record:
      from PIL import Image  # pylint: disable=import-outside-toplevel
      with Image.open(os.path.join(self.workdir, record["picture"])) as im:
        self.tb.add_image("samples", np.asarray(im.convert("RGB")), step, dataformats="HWC")
    self.tb.flush()

  def close(self) -> None:
    self.jsonl.close()
    self.tb.close()


def jsonable(record: dict[str, Any]) -> dict[str, Any]:
  out = {}
  for k, v in record.items():
    if isinstance(v, (np.floating, np.integer)):
      v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
      v = str(v)
    out[k] = v
  return out


class _CompiledSteps:
  """The compiled train step (one per progressive stage), compiled ahead of time. While a stage
  trains, the next stage's step compiles in a background thread, so a stage change does not stall."""

  def __init__(self, run: Run, state, batch_fn):
    self.run, self.batch_fn = run, batch_fn
    self.abstract_state = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)
    self.compiled: dict[int | None, Any] = {}
    self.pending: dict[int, concurrent.futures.Future] = {}
    self.pool = concurrent.futures.ThreadPoolExecutor(1) if run.schedule is not None else None

  def scalars(self, step: int) -> tuple:
    if self.run.schedule is None:
      return ()
    return (np.float32(self.run.schedule.at(step)[1]),)

  def _compile(self, stage: int | None, step: int):
    run = self.run
    batch = self.batch_fn(step)
    abstract_batch = jax.ShapeDtypeStruct(batch.shape, batch.dtype, sharding=batch.sharding)
    return run.parallel.compile_step(
        lambda **kw: step_lib.make_train_step(run.config, run.generator, run.critic, run.g_tx,
                                              run.d_tx, stage=stage, **kw),
        self.abstract_state, abstract_batch, *self.scalars(step))

  def get(self, step: int):
    schedule = self.run.schedule
    stage = None if schedule is None else schedule.phase(step).stage
    if stage not in self.compiled:
      future = self.pending.pop(stage, None)
      self.compiled[stage] = future.result() if future else self._compile(stage, step)
      if schedule is not None and stage + 1 < schedule.num_stages:
        nxt = next(p.start for p in schedule.phases if p.stage == stage + 1)
        if nxt < self.run.config.num_steps and stage + 1 not in self.compiled:
          self.pending[stage + 1] = self.pool.submit(self._compile, stage + 1, nxt)
    return self.compiled[stage]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> state_lib.GANState:
  """Trains ``config`` in ``workdir`` (resuming from its newest checkpoint) and evaluates it.

  Returns:
    The final train state (on this process's default device).
  """
  run = Run(config, workdir)
  par = run.parallel
  if par.is_main:
    os.makedirs(run.workdir, exist_ok=True)
    _check_config_matches(run.workdir, config)
    with open(os.path.join(run.workdir, "config.json"), "w") as f:
      json.dump(config.to_dict(), f, indent=2, sort_keys=True)

  host_state = run.restore()
  if host_state is None:
    host_state = run.fresh_state()
    _log(f"[jaxgan] {config.name}: new run in {run.workdir}")
  else:
    _log(f"[jaxgan] {config.name}: resuming from the checkpoint of step {int(host_state.step)} in "
         f"{run.workdir}")
  start = int(host_state.step)
  objective = config.loss + (f" + {config.gp_weight:g}*GP" if config.gp_weight > 0 else "")
  objective += f" + clip {config.clip_value:g}" if config.clip_value > 0 else ""
  objective += " + SN" if config.spectral_norm else ""
  _log(f"[jaxgan] {objective} on {config.dataset}, model {config.model} "
       f"(G {state_lib.num_parameters(host_state.g_params):,} / D "
       f"{state_lib.num_parameters(host_state.d_params):,} parameters), batch {config.batch_size}, "
       f"n_critic {config.n_critic}, {config.num_steps} steps, critic loop "
       f"{step_lib.resolve_critic_loop(config)}, convolutions "
       f"{models.layers.resolve_conv_impl(config.conv_impl)}, {par.describe()}")

  metrics_path = os.path.join(run.workdir, "metrics.jsonl")
  if start >= config.num_steps:
    _log(f"[jaxgan] already at step {start} >= num_steps {config.num_steps}; evaluating only")

  # This process's rows of each step's batch, prepared ahead (jaxgan.input_pipeline).
  pipeline = input_pipeline.InputPipeline(config, run.dataset, run.schedule, par)
  if start < config.num_steps:
    pipeline.start(start)  # worker processes start while the step compiles
  state = par.put_state(host_state)
  del host_state
  steps = _CompiledSteps(run, state, pipeline.abstract_batch)
  if start < config.num_steps:
    t_compile = time.time()
    steps.get(start)
    _log(f"[jaxgan] compiled the train step in {time.time() - t_compile:.1f}s")
    if run.schedule is not None:
      _log(f"[jaxgan] progressive schedule: {run.schedule.describe()}")

  # Only process 0 writes files; every process runs the same steps and checkpoint calls.
  writer = _Writer(run.workdir) if par.is_main else None

  def write(record):
    if writer is not None:
      writer.write(record)

  # Preemption: SIGTERM / SIGINT set a flag; the loop saves the current step and stops.
  stop = []
  handlers = {}
  if threading.current_thread() is threading.main_thread():
    for sig in (signal.SIGTERM, signal.SIGINT):
      handlers[sig] = signal.signal(sig, lambda signum, frame: stop.append(signum))

  try:
    t0, s0 = time.time(), start
    for step in range(start, config.num_steps):
      if run.schedule is not None and run.schedule.resets_optimizer(step):
        phase = run.schedule.phase(step)
        res = run.schedule.resolutions[phase.stage]
        _log(f"[jaxgan] step {step}: {res}x{res} {'fade-in' if phase.fade else 'stable phase'} "
             f"begins; both Adam states reset (as the official PGGAN code does at each level change)")
        host = par.host_state(state)
        state = par.put_state(host.replace(g_opt_state=run.g_tx.init(host.g_params),
                                           d_opt_state=run.d_tx.init(host.d_params)))
      state, metrics = steps.get(step)(state, pipeline.batch(step), *steps.scalars(step))
      done = step + 1
      if stop:
        _check_finite(done, par.metrics(metrics), run)
        run.save(state)
        raise Preempted(stop[0], done)
      checkpoint_now = done % config.checkpoint_every == 0 and done != config.num_steps
      if done % config.log_every == 0 or done == config.num_steps or checkpoint_now:
        host = par.metrics(metrics)
        _check_finite(done, host, run)
      if done % config.log_every == 0 or done == config.num_steps:
        now = time.time()
        rate = (done - s0) / max(now - t0, 1e-9)
        eta = (config.num_steps - done) / max(rate, 1e-9)
        data = pipeline.stats()
        _log(f"step {done:>6}/{config.num_steps} | critic {host['critic_loss']:+.4f} "
             f"gp {host['penalty']:.4f} G {host['g_loss']:+.4f} | W {host['w_estimate']:+.4f} "
             f"|grad| {host['grad_norm']:.3f} | {rate:.1f} steps/s "
             f"{rate * config.batch_size * config.n_critic:,.0f} img/s | ETA {_format_duration(eta)}"
             f" | {par.num_devices} dev x {par.num_processes} proc | data wait "
             f"{100 * data.get('data_wait_fraction', 0.0):.1f}%, "
             f"{data.get('data_images_per_s', 0.0):,.0f} img/s/host")
        write({"kind": "train", "step": done, **host, "steps_per_s": rate,
               "num_devices": par.num_devices, "num_processes": par.num_processes, **data})
      if (config.eval_every and done % config.eval_every == 0 and done != config.num_steps
          and par.is_main):
        record = evaluate(run, par.host_state(state))
        write(record)
        _log(f"[eval] {summary(record)}")
      if checkpoint_now:
        run.save(state)
    pipeline.close()
    if start < config.num_steps or run.checkpoints.latest_step() is None:
      run.save(state)
    run.checkpoints.wait_until_finished()
    final = par.host_state(state)
    if par.is_main:
      record = evaluate(run, final, tag="final")
      write(record)
      _log(f"[eval] {summary(record)}")
      _log(f"[jaxgan] done: checkpoints in {run.checkpoints.directory}, metrics in {metrics_path}, "
           f"pictures in {os.path.join(run.workdir, 'samples')} (final: {record['picture']})")
  finally:
    pipeline.close()
    for sig, handler in handlers.items():
      signal.signal(sig, handler)
    if writer is not None:
      writer.close()
  return final


def summary(record: dict[str, Any]) -> str:
  parts = [f"step {record['step']}"]
  if "modes_captured" in record:
    parts.append(f"modes {record['modes_captured']}/{record['num_modes']}, high quality "
                 f"{100 * record['high_quality_fraction']:.1f}%, KL {record['kl_to_uniform']:.3f}")
  if "w1" in record:
    parts.append(f"exact W1 {record['w1']:.4f}")
  if "digits_covered" in record:
    parts.append(f"digits covered {record['digits_covered']}/10, largest class "
                 f"{100 * record['max_class_fraction']:.1f}%")
  if "spectral_audit" in record:
    audit = record["spectral_audit"].values()
    parts.append("SN sigma(W/sigma_est) per layer " +
                 " ".join(f"{a['normalized_sigma_svd']:.3f}" for a in audit))
  parts.append(f"picture {record['picture']}")
  return "; ".join(parts)

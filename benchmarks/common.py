"""Shared pieces of the step benchmarks: cases, set-up, ahead-of-time compilation, timing.

Not run by itself; used by ``benchmarks/step_throughput.py`` and ``benchmarks/torch_reference.py``:

  python benchmarks/step_throughput.py --help
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import config as config_lib
from jaxgan import models
from jaxgan import ops
from jaxgan import state as state_lib
from jaxgan import step as step_lib
from jaxgan import writers

# Loss variants: (config.loss, gp_weight, clip_value, spectral_norm).
LOSSES = {
    "wgan_plain": ("wgan", 0.0, 0.0, False),  # the baseline the regularisers are priced against
    "wgan": ("wgan", 0.0, 0.01, False),       # + weight clipping
    "wgan_gp": ("wgan_gp", 10.0, 0.0, False),  # + gradient penalty
    "gan": ("gan", 0.0, 0.0, False),
    "hinge": ("hinge", 0.0, 0.0, False),
    "hinge_sn": ("hinge", 0.0, 0.0, True),     # + spectral normalisation
}

# Architectures: (config.model, sample_shape, config overrides).
ARCHS = {
    "mlp": ("mlp", (2,), {"hidden_dim": 512, "num_hidden": 3, "latent_dim": 2}),
    "dcgan32": ("dcgan", (32, 32, 3), {"base_channels": 64, "latent_dim": 128}),
    "dcgan64": ("dcgan", (64, 64, 3), {"base_channels": 64, "latent_dim": 128}),
    "resnet32": ("wgan_gp_resnet", (32, 32, 3), {"base_channels": 128, "latent_dim": 128}),
    "sngan_resnet32": ("sngan_resnet", (32, 32, 3), {"base_channels": 128, "latent_dim": 128}),
    "sngan_cnn32": ("sngan_cnn", (32, 32, 3), {"base_channels": 64, "latent_dim": 128}),
    # Tiny shapes for the tests.
    "tiny_mlp": ("mlp", (2,), {"hidden_dim": 16, "num_hidden": 2, "latent_dim": 2}),
    "tiny_dcgan": ("dcgan", (8, 8, 3), {"base_channels": 4, "latent_dim": 8}),
    "tiny_resnet": ("sngan_resnet", (8, 8, 3), {"base_channels": 4, "latent_dim": 8}),
    "tiny_sngan_cnn": ("sngan_cnn", (8, 8, 3), {"base_channels": 4, "latent_dim": 8}),
}


XLA_OPTIONS = ("jaxgan", "default")


@dataclasses.dataclass(frozen=True)
class Case:
  arch: str
  loss: str
  batch_size: int
  critic_loop: str = "unroll"
  conv_impl: str = "xla"  # config.conv_impl: 'xla' (lax.conv_*) or 'im2col' (jaxgan.ops)
  n_critic: int = 5
  # XLA compile options: 'jaxgan' (ops.compiler_options(), what the trainer compiles with) or
  # 'default' (XLA's own defaults: on CPU, convolutions in YNNPACK fusions)
  xla_options: str = "jaxgan"

  @property
  def name(self) -> str:
    return (f"{self.arch}/{self.loss}/B{self.batch_size}/{self.critic_loop}"
            + ("" if self.conv_impl == "xla" else f"/{self.conv_impl}")
            + ("" if self.xla_options == "jaxgan" else f"/xla-{self.xla_options}"))


def case_config(case: Case):
  """The jaxgan config of a case (Adam lr 1e-4, b1 0.5, b2 0.9 for every loss: same optimiser)."""
  model, _, overrides = ARCHS[case.arch]
  loss, gp, clip, sn = LOSSES[case.loss]
  c = config_lib.base_config()
  c.model = model
  for k, v in overrides.items():
    c[k] = v
  c.loss, c.gp_weight, c.clip_value, c.spectral_norm = loss, gp, clip, sn
  c.batch_size = case.batch_size
  c.n_critic = case.n_critic
  c.critic_loop = case.critic_loop
  c.conv_impl = case.conv_impl
  c.dataset = "ring8" if model == "mlp" else "digits"
  return c


def sample_shape(case: Case) -> tuple[int, ...]:
  return ARCHS[case.arch][1]


def setup(case: Case, seed: int = 0):
  """(config, generator, critic, g_tx, d_tx, state, reals) with a random real batch in [-1, 1]."""
  config = case_config(case)
  shape = sample_shape(case)
  g, d = models.build(config, shape)
  g_tx, d_tx = state_lib.make_optimizers(config)
  st = state_lib.init_state(config, g, d, g_tx, d_tx, shape)
  rng = np.random.default_rng(seed)
  reals = rng.uniform(-1, 1, (case.n_critic, case.batch_size, *shape)).astype(np.float32)
  return config, g, d, g_tx, d_tx, st, jnp.asarray(reals)


def _flops(compiled) -> float | None:
  try:
    ca = compiled.cost_analysis()
  except Exception:  # pylint: disable=broad-except
    return None
  if isinstance(ca, (list, tuple)):
    ca = ca[0] if ca else None
  if not ca or "flops" not in ca:
    return None
  return float(ca["flops"])


def _memory(compiled) -> dict[str, int] | None:
  try:
    m = compiled.memory_analysis()
  except Exception:  # pylint: disable=broad-except
    return None
  if m is None:
    return None
  out = {}
  for k in ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes",
            "alias_size_in_bytes", "generated_code_size_in_bytes", "peak_memory_in_bytes"):
    if hasattr(m, k):
      out[k] = int(getattr(m, k))
  return out


@dataclasses.dataclass
class Compiled:
  fn: Callable
  lower_s: float
  compile_s: float
  flops: float | None
  memory: dict | None
  state: Any
  reals: Any


def compile_case(case: Case, devices: int = 1, seed: int = 0) -> Compiled:
  """Builds and compiles (ahead of time) the donated train step of ``case`` on ``devices`` devices
  (batch sharded over a 1-D mesh, state replicated, as jaxgan.parallel's 'jit' mode does)."""
  config, g, d, g_tx, d_tx, st, reals = setup(case, seed)
  train_step = step_lib.make_train_step(config, g, d, g_tx, d_tx)
  if devices > 1:
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P  # pylint: disable=import-outside-toplevel
    mesh = Mesh(np.array(jax.devices()[:devices]), ("batch",))
    rep, dat = NamedSharding(mesh, P()), NamedSharding(mesh, P(None, "batch"))
    st = jax.device_put(st, rep)
    reals = jax.device_put(reals, dat)
    jitted = jax.jit(train_step, in_shardings=(rep, dat), out_shardings=(rep, rep),
                     donate_argnums=(0,))
  else:
    jitted = jax.jit(train_step, donate_argnums=(0,))
  t0 = time.perf_counter()
  lowered = jitted.lower(st, reals)
  t1 = time.perf_counter()
  if case.xla_options not in XLA_OPTIONS:
    raise ValueError(f"xla_options must be one of {XLA_OPTIONS}, got {case.xla_options!r}")
  options = ops.compiler_options() if case.xla_options == "jaxgan" else None
  compiled = lowered.compile(compiler_options=options)
  t2 = time.perf_counter()
  return Compiled(compiled, t1 - t0, t2 - t1, _flops(compiled), _memory(compiled), st, reals)


def executed_flops(case: Case) -> float | None:
  """The FLOPs one step of ``case`` executes: XLA's cost analysis of the lowered (not compiled) step
  with its critic loop unrolled, one device -- a compiled scan's body is counted once. Within 1% of
  the compiled unrolled step's count (DCGAN-32 WGAN-GP im2col: 594.8 vs 599.3 GFLOP; XLA convs
  679.5 vs 680.1; MLP 16.23 vs 16.26)."""
  config, g, d, g_tx, d_tx, st, reals = setup(dataclasses.replace(case, critic_loop="unroll"))
  lowered = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx)).lower(st, reals)
  cost = lowered.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost["flops"]) if cost and cost.get("flops") else None


def time_steps(c: Compiled, steps: int, warmup: int = 1) -> list[float]:
  """Per-step wall times (s) of ``steps`` steps after ``warmup``; each blocked until ready. The state
  is donated and threaded through, as in training."""
  st = c.state
  for _ in range(warmup):
    st, m = c.fn(st, c.reals)
    jax.block_until_ready((st, m))
  times = []
  for _ in range(steps):
    t0 = time.perf_counter()
    st, m = c.fn(st, c.reals)
    jax.block_until_ready((st, m))
    times.append(time.perf_counter() - t0)
  c.state = st
  return times


def median_seconds(fn, reps: int) -> float:
  """Median wall time of ``fn()`` (which blocks until its result is ready) over ``reps`` calls,
  after one warm-up call."""
  fn()
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def matmul_flops_per_s(n: int = 2048, reps: int = 10) -> float:
  """Median FLOP/s of a jitted n x n float32 matmul (2 n^3 FLOP), the machine's reference rate."""
  a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
  f = jax.jit(lambda x, y: x @ y)
  return 2.0 * n ** 3 / median_seconds(lambda: f(a, a).block_until_ready(), reps)


def write_json(path: str, doc: dict) -> None:
  """Writes a benchmark's records to ``path`` (folders created) and says so."""
  writers.write_json(path, doc, sort_keys=False)  # the project's one JSON sanitiser
  print(f"wrote {path}")


def summarize(times: list[float]) -> dict[str, float]:
  return {"median_step_s": statistics.median(times), "min_step_s": min(times),
          "max_step_s": max(times), "steps_timed": len(times)}

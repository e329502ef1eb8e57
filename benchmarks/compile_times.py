"""Ahead-of-time compile time of the train step of every shipped config (one per PGGAN stage).

For each config it builds the networks, the abstract train state (``jax.eval_shape``: no parameters
are materialised) and the step exactly as ``jaxgan train`` does on one device, then times
``jax.jit(step, donate_argnums=0).lower(...)`` (tracing) and ``.compile()`` (XLA) apart. No data is
read: the batch is an abstract [n_critic, B, *sample_shape] array, so the TFDS configs are measured
without their datasets. JAX's persistent compilation cache is switched off, so every number is a
cold compile.

Commands (2 CPU cores):

  python benchmarks/compile_times.py                       # every config (several minutes)
  python benchmarks/compile_times.py --configs default cifar10_wgan_gp_resnet --conv-impls xla im2col
  python benchmarks/compile_times.py --json runs/benchmarks/compile_times.json

Output: a table; ``--json PATH``: {"machine": ..., "records": [{config, stage, resolution, batch_size,
conv_impl, critic_loop, lower_s, compile_s, total_s, flops, hlo_ops (StableHLO operations of the
lowered step, a deterministic measure of its size)}]}.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_compilation_cache", False)

from jaxgan import config as config_lib  # pylint: disable=wrong-import-position
from jaxgan import data as data_lib  # pylint: disable=wrong-import-position
from jaxgan import growing  # pylint: disable=wrong-import-position
from jaxgan import models  # pylint: disable=wrong-import-position
from jaxgan import ops  # pylint: disable=wrong-import-position
from jaxgan import state as state_lib  # pylint: disable=wrong-import-position
from jaxgan import step as step_lib  # pylint: disable=wrong-import-position
from jaxgan.models import layers  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pylint: disable=wrong-import-position,import-error

CONFIG_DIR = os.path.join(os.path.dirname(config_lib.__file__), "configs")


def shipped_configs() -> list[str]:
  return sorted(f[:-3] for f in os.listdir(CONFIG_DIR)
                if f.endswith(".py") and not f.startswith("_"))


def sample_shape(config) -> tuple[int, ...]:
  shape = data_lib.DATASET_SHAPES[config.dataset]
  if shape is None:  # image_folder: square RGB images of config.image_size
    shape = (config.image_size, config.image_size, 3)
  return tuple(shape)


def stages(config, shape) -> list[tuple[int | None, int, int | None]]:
  """(stage, batch size, resolution) of every step the config compiles."""
  if config.model != "pggan":
    return [(None, config.batch_size, None)]
  schedule = growing.Schedule(config, shape[0])
  return [(s, schedule.batch[r], r) for s, r in enumerate(schedule.resolutions)]


def measure(name: str, conv_impl: str | None = None, critic_loop: str | None = None) -> list[dict]:
  config = config_lib.load_config(name)
  if conv_impl:
    config.conv_impl = conv_impl
  if critic_loop:
    config.critic_loop = critic_loop
  config_lib.validate(config)
  shape = sample_shape(config)
  g, d = models.build(config, shape)
  g_tx, d_tx = state_lib.make_optimizers(config)
  abstract_state = jax.eval_shape(lambda: state_lib.init_state(config, g, d, g_tx, d_tx, shape))
  records = []
  for stage, batch, res in stages(config, shape):
    s = shape if res is None else (res, res, shape[-1])
    reals = jax.ShapeDtypeStruct((config.n_critic, batch, *s), jax.numpy.float32)
    scalars = () if stage is None else (jax.ShapeDtypeStruct((), jax.numpy.float32),)
    step = step_lib.make_train_step(config, g, d, g_tx, d_tx, stage=stage)
    t0 = time.perf_counter()
    lowered = jax.jit(step, donate_argnums=(0,)).lower(abstract_state, reals, *scalars)
    t1 = time.perf_counter()
    hlo_ops = sum(1 for line in lowered.as_text().splitlines()
                  if "=" in line and "stablehlo." in line)
    compiled = lowered.compile(compiler_options=ops.compiler_options())
    t2 = time.perf_counter()
    try:
      cost = compiled.cost_analysis()
      cost = cost[0] if isinstance(cost, (list, tuple)) else cost
      flops = float(cost.get("flops")) if cost else None
    except Exception:  # pylint: disable=broad-except
      flops = None
    rec = {"config": name, "stage": stage, "resolution": s[0] if len(s) == 3 else None,
           "batch_size": batch, "conv_impl": layers.resolve_conv_impl(config.conv_impl),
           "critic_loop": step_lib.resolve_critic_loop(config), "lower_s": t1 - t0,
           "compile_s": t2 - t1, "total_s": t2 - t0, "flops": flops, "hlo_ops": hlo_ops}
    records.append(rec)
    print(f"  {name:24s} stage {'-' if stage is None else stage:>2} B{batch:<4d} "
          f"{rec['conv_impl']:6s} {rec['critic_loop']:6s} lower {rec['lower_s']:6.1f} s  "
          f"compile {rec['compile_s']:6.1f} s  {hlo_ops:6d} StableHLO ops", flush=True)
  return records


def main(argv=None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--configs", nargs="+", default=None, help="config names (default: all shipped)")
  p.add_argument("--conv-impls", nargs="+", default=[None], choices=list(layers.CONV_IMPLS),
                 help="override config.conv_impl (default: each config's own)")
  p.add_argument("--critic-loops", nargs="+", default=[None], choices=["auto", "scan", "unroll"],
                 help="override config.critic_loop (default: each config's own)")
  p.add_argument("--json", default=None)
  args = p.parse_args(argv)
  names = args.configs or shipped_configs()
  unknown = sorted(set(names) - set(shipped_configs()))
  if unknown:
    p.error(f"unknown config {unknown[0]!r}; shipped: {', '.join(shipped_configs())}")
  print(f"compile times on {jax.default_backend()} ({os.cpu_count()} CPUs, jax {jax.__version__})")
  records = []
  for name in names:
    for impl in args.conv_impls:
      for loop in args.critic_loops:
        records += measure(name, impl, loop)
  worst = max(records, key=lambda r: r["total_s"])
  print(f"slowest: {worst['config']} stage {worst['stage']}: {worst['total_s']:.1f} s "
        f"(lower {worst['lower_s']:.1f} + compile {worst['compile_s']:.1f})")
  doc = {"machine": {"backend": jax.default_backend(), "cpus": os.cpu_count(),
                     "platform": platform.platform(), "jax": jax.__version__,
                     "argv": sys.argv[1:]},
         "records": records}
  if args.json:
    common.write_json(args.json, doc)
  return doc


if __name__ == "__main__":
  main()

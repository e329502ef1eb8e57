"""On-paper weak scaling of the train step over 1, 2, 4 and 8 devices, read from the compiled program.

For every architecture x loss x device count it compiles the step exactly as ``jaxgan train`` does
(:meth:`jaxgan.parallel.DataParallel.compile_step`, on fake CPU devices: re-executes itself with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``; no data, abstract state) and reads from XLA:

* per-device FLOPs and bytes accessed (``compiled.cost_analysis()``; per device for a partitioned
  program), temporary memory per device (``compiled.memory_analysis()``);
* every collective in the optimized HLO (``compiled.as_text()``): all-reduce, all-gather,
  reduce-scatter, all-to-all, collective-permute, with the bytes of its result;
* the on-paper weak-scaling efficiency ``FLOPs(1 device) / (N x per-device FLOPs(N))`` at the same
  global batch (1.0: the devices split the work exactly, nothing replicated);
* the collective budget ``n_critic x critic parameter bytes + generator parameter bytes`` (one
  gradient all-reduce per update) and the ratio of the measured collective bytes to it; an all-gather
  whose result has the global batch (or twice it) as a dimension is flagged as a per-example gather.

The loop is unrolled (a while loop's body would be counted once) and convolutions are XLA's
(``conv_impl='xla'``), the settings of an accelerator (``--conv-impl im2col``: jaxgan.ops', the CPU
default). The global batch is the same on every device
count; the ``pmap`` path is compiled on the largest device count and compared with the same
one-device program.

Commands (2 CPU cores):

  python benchmarks/scaling.py --json /tmp/scaling.json --markdown /tmp/scaling.md   # all (~1 h)
  python benchmarks/scaling.py --archs mlp dcgan32 --losses wgan_gp                  # a few minutes
  python benchmarks/scaling.py --tiny --archs mlp dcgan32 --losses wgan_gp --devices 1 8  # the test's

Output: a markdown table on stdout (and in ``--markdown``); ``--json``: {"machine", "records": [one
per case: arch, loss, mode, devices, batch_size, n_critic, flops, bytes_accessed, temp_bytes,
collectives {kind: {count, bytes}}, collective_bytes, budget_bytes, budget_ratio, per_example_gathers,
efficiency]}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys

MAX_DEVICES = 8

if __name__ == "__main__":
  _flag = f"--xla_force_host_platform_device_count={MAX_DEVICES}"
  if _flag not in os.environ.get("XLA_FLAGS", ""):
    _env = dict(os.environ)
    _env["XLA_FLAGS"] = (_env.get("XLA_FLAGS", "") + " " + _flag).strip()
    _env.setdefault("JAX_PLATFORMS", "cpu")
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], _env)

import jax  # pylint: disable=wrong-import-position
import jax.numpy as jnp  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

jax.config.update("jax_enable_compilation_cache", False)

from jaxgan import config as config_lib  # pylint: disable=wrong-import-position
from jaxgan import growing  # pylint: disable=wrong-import-position
from jaxgan import models  # pylint: disable=wrong-import-position
from jaxgan import parallel  # pylint: disable=wrong-import-position
from jaxgan import state as state_lib  # pylint: disable=wrong-import-position
from jaxgan import step as step_lib  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pylint: disable=wrong-import-position,import-error

# Architectures: (config.model, sample shape, overrides, global batch). PGGAN stages come from the
# cifar10_pggan config (its batch per resolution).
ARCHS = {
    "mlp": ("mlp", (2,), {"hidden_dim": 512, "num_hidden": 3, "latent_dim": 2}, 256),
    "dcgan32": ("dcgan", (32, 32, 3), {"base_channels": 64, "latent_dim": 128}, 64),
    "dcgan64": ("dcgan", (64, 64, 3), {"base_channels": 64, "latent_dim": 128}, 64),
    "sngan_cnn": ("sngan_cnn", (32, 32, 3), {"base_channels": 64, "latent_dim": 128}, 64),
    "sngan_resnet": ("sngan_resnet", (32, 32, 3), {"base_channels": 128, "latent_dim": 128}, 64),
    "wgan_gp_resnet": ("wgan_gp_resnet", (32, 32, 3), {"base_channels": 128, "latent_dim": 128}, 64),
}
TINY = {  # --tiny: small shapes for the tests (the same programs, a fraction of the compile time)
    "mlp": ("mlp", (2,), {"hidden_dim": 64, "num_hidden": 2, "latent_dim": 2}, 256),
    "dcgan32": ("dcgan", (8, 8, 3), {"base_channels": 8, "latent_dim": 16}, 64),
    "dcgan64": ("dcgan", (16, 16, 3), {"base_channels": 8, "latent_dim": 16}, 64),
    "sngan_cnn": ("sngan_cnn", (8, 8, 3), {"base_channels": 4, "latent_dim": 16}, 64),
    "sngan_resnet": ("sngan_resnet", (8, 8, 3), {"base_channels": 8, "latent_dim": 16}, 64),
    "wgan_gp_resnet": ("wgan_gp_resnet", (8, 8, 3), {"base_channels": 8, "latent_dim": 16}, 64),
}
LOSSES = ("wgan_gp", "hinge_sn", "wgan")  # names of benchmarks/common.LOSSES
PGGAN_CONFIG = "cifar10_pggan"

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")
_DTYPE_BYTES = {"f64": 8, "s64": 8, "u64": 8, "f32": 4, "s32": 4, "u32": 4, "bf16": 2, "f16": 2,
                "s16": 2, "u16": 2, "s8": 1, "u8": 1, "pred": 1}
_ARRAY = re.compile(r"\b(f64|s64|u64|f32|s32|u32|bf16|f16|s16|u16|s8|u8|pred)\[([0-9,]*)\]")
_OP = re.compile(r"=\s*(.*?)\s(" + "|".join(COLLECTIVES) + r")(-start)?\(")


def _array_bytes(text: str) -> tuple[int, list[tuple[int, ...]]]:
  total, shapes = 0, []
  for dtype, dims in _ARRAY.findall(text):
    shape = tuple(int(d) for d in dims.split(",") if d)
    shapes.append(shape)
    total += _DTYPE_BYTES[dtype] * int(np.prod(shape, dtype=np.int64))
  return total, shapes


def collectives(hlo: str) -> list[dict]:
  """Every collective of an optimized HLO module: kind, result bytes and result shapes."""
  out = []
  for line in hlo.splitlines():
    m = _OP.search(line)
    if m:
      nbytes, shapes = _array_bytes(m.group(1))
      out.append({"kind": m.group(2), "bytes": nbytes, "shapes": shapes})
  return out


def _tree_bytes(tree) -> int:
  return sum(int(np.prod(x.shape)) * jnp.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def case_config(arch: str, loss: str, tiny: bool, stage_batch=None, conv_impl: str = "xla"):
  """(config, sample_shape, stage, global batch) of a case."""
  if arch.startswith("pggan"):
    config = config_lib.load_config(PGGAN_CONFIG)
    if tiny:
      config.fmap_base, config.fmap_max = 32, 16
    stage, batch, res = stage_batch
    shape = (res, res, 3)
  else:
    model, shape, overrides, batch = (TINY if tiny else ARCHS)[arch]
    config = config_lib.base_config()
    config.model = model
    config.dataset = "ring8" if model == "mlp" else "digits"
    for k, v in overrides.items():
      config[k] = v
    config.loss, config.gp_weight, config.clip_value, config.spectral_norm = common.LOSSES[loss]
    stage = None
  config.batch_size = batch
  config.critic_loop = "unroll"  # a while loop's body would be counted once by cost_analysis
  config.conv_impl = conv_impl
  return config, tuple(shape), stage, batch


def pggan_stages(tiny: bool) -> list[tuple[str, tuple[int, int, int]]]:
  config = config_lib.load_config(PGGAN_CONFIG)
  schedule = growing.Schedule(config, 32)
  out = []
  for s, res in enumerate(schedule.resolutions):
    batch = schedule.batch[res]
    out.append((f"pggan{res}", (s, batch, res)))
  return out


def measure(arch: str, loss: str, devices: int, mode: str, tiny: bool = False,
            stage_batch=None, conv_impl: str = "xla") -> dict:
  """Compiles one case as ``jaxgan train`` does and reads its cost, memory and collectives."""
  config, shape, stage, batch = case_config(arch, loss, tiny, stage_batch, conv_impl)
  config.parallel, config.num_devices = mode, devices
  dp = parallel.DataParallel(config)
  g, d = models.build(config, shape, bn_axis_name=parallel.AXIS if mode == "pmap" else None)
  g_tx, d_tx = state_lib.make_optimizers(config)
  abstract = jax.eval_shape(lambda: state_lib.init_state(config, g, d, g_tx, d_tx, shape))
  reals = jax.ShapeDtypeStruct((config.n_critic, batch, *shape), jnp.float32)
  if mode == "pmap":
    lead = lambda s: jax.ShapeDtypeStruct((devices, *s.shape), s.dtype)
    abstract_in = jax.tree.map(lead, abstract)
    reals = jax.ShapeDtypeStruct((devices, config.n_critic, batch // devices, *shape), jnp.float32)
  else:
    abstract_in = abstract
  scalars = () if stage is None else (1.0,)
  make_step = lambda **kw: step_lib.make_train_step(config, g, d, g_tx, d_tx, stage=stage, **kw)
  compiled = dp.compile_step(make_step, abstract_in, reals, *scalars)
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  memory = common._memory(compiled)  # pylint: disable=protected-access
  colls = collectives(compiled.as_text())
  kinds: dict[str, dict] = {}
  for c in colls:
    k = kinds.setdefault(c["kind"], {"count": 0, "bytes": 0})
    k["count"] += 1
    k["bytes"] += c["bytes"]
  per_example = [c["shapes"] for c in colls if c["kind"] == "all-gather"
                 and any(n in (batch, 2 * batch) for s in c["shapes"] for n in s)]
  budget = config.n_critic * _tree_bytes(abstract.d_params) + _tree_bytes(abstract.g_params)
  total = sum(c["bytes"] for c in colls)
  return {"arch": arch, "loss": loss if stage is None else config.loss, "mode": mode,
          "devices": devices, "batch_size": batch, "n_critic": config.n_critic,
          "flops": float(cost["flops"]), "bytes_accessed": float(cost.get("bytes accessed", 0.0)),
          "temp_bytes": (memory or {}).get("temp_size_in_bytes"),
          "collectives": kinds, "collective_bytes": total, "budget_bytes": budget,
          "budget_ratio": total / budget, "per_example_gathers": per_example}


def add_efficiency(records: list[dict]) -> None:
  one = {(r["arch"], r["loss"]): r["flops"] for r in records
         if r["devices"] == 1 and r["mode"] == "jit"}
  for r in records:
    base = one.get((r["arch"], r["loss"]))
    r["efficiency"] = base / (r["devices"] * r["flops"]) if base else None


def markdown(records: list[dict]) -> str:
  lines = ["| step | loss | path | devices | GFLOP / device | efficiency | GB accessed / device "
           "| temp MB / device | collectives (count: MB) | collective / budget | per-example "
           "all-gathers |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
  for r in records:
    colls = ", ".join(f"{k} {v['count']}: {v['bytes'] / 1e6:.2f}"
                      for k, v in sorted(r["collectives"].items())) or "none"
    eff = "-" if r["efficiency"] is None else f"{r['efficiency']:.3f}"
    temp = "-" if r["temp_bytes"] is None else f"{r['temp_bytes'] / 1e6:.1f}"
    lines.append(f"| {r['arch']} B{r['batch_size']} | {r['loss']} | {r['mode']} | {r['devices']} | "
                 f"{r['flops'] / 1e9:.3f} | {eff} | {r['bytes_accessed'] / 1e9:.3f} | {temp} | "
                 f"{colls} | {r['budget_ratio']:.3f} | {len(r['per_example_gathers'])} |")
  return "\n".join(lines)


def run(archs, losses, devices, tiny=False, pmap=True, verbose=True, on_record=None,
        conv_impl: str = "xla") -> list[dict]:
  """The records of every case, loss by loss (``on_record(records)`` after each: partial output)."""
  devices = [n for n in devices if n <= jax.device_count()]
  cases = []
  for loss in losses:
    for arch in archs:
      if arch == "pggan":
        if loss == "wgan_gp":  # PGGAN's own loss (WGAN-GP + drift); spectral norm is refused
          cases += [(name, "wgan_gp", sb) for name, sb in pggan_stages(tiny)]
      else:
        cases.append((arch, loss, None))
  records = []
  for arch, loss, sb in cases:
    runs = [(n, "jit") for n in devices] + ([(max(devices), "pmap")] if pmap else [])
    for n, mode in runs:
      r = measure(arch, loss, n, mode, tiny, sb, conv_impl)
      records.append(r)
      if on_record:
        add_efficiency(records)
        on_record(records)
      if verbose:
        print(f"  {arch:15s} {r['loss']:8s} {mode:4s} {n} dev: {r['flops'] / 1e9:9.3f} GFLOP/dev, "
              f"collectives {r['collective_bytes'] / 1e6:8.2f} MB "
              f"(budget x{r['budget_ratio']:.3f})", flush=True)
  add_efficiency(records)
  return records


def main(argv=None) -> list[dict]:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--archs", nargs="+", default=list(ARCHS) + ["pggan"],
                 choices=list(ARCHS) + ["pggan"])
  p.add_argument("--losses", nargs="+", default=list(LOSSES), choices=list(LOSSES))
  p.add_argument("--devices", nargs="+", type=int, default=[1, 2, 4, 8])
  p.add_argument("--tiny", action="store_true", help="small shapes (tests, smoke runs)")
  p.add_argument("--no-pmap", action="store_true", help="skip the pmap rows")
  p.add_argument("--conv-impl", default="xla", choices=["xla", "im2col", "winograd"],
                 help="the models' convolutions: XLA's (an accelerator's default) or jaxgan.ops' "
                      "(the CPU default)")
  p.add_argument("--json", default=None)
  p.add_argument("--markdown", default=None)
  args = p.parse_args(argv)
  print(f"{jax.device_count()} {jax.default_backend()} devices; jax {jax.__version__}", flush=True)

  def write(records, final=False):
    if args.markdown:
      os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
      with open(args.markdown, "w") as f:
        f.write(markdown(records) + "\n")
    if args.json:
      doc = {"machine": platform.platform(), "jax": jax.__version__, "records": records}
      if final:
        common.write_json(args.json, doc)
      else:
        with open(args.json, "w") as f:
          json.dump(doc, f, indent=1)

  records = run(args.archs, args.losses, sorted(args.devices), args.tiny, not args.no_pmap,
                on_record=write, conv_impl=args.conv_impl)
  print(markdown(records))
  write(records, final=True)
  return records


if __name__ == "__main__":
  main()

"""Train-step throughput of jaxgan on this machine, against PyTorch eager, side by side.

For every case (architecture x loss x batch size x critic-loop form x convolution formulation x device
count) it compiles the donated train step ahead of time (``jax.jit(...).lower(...).compile()``, timed
apart), then times steady-state steps (``block_until_ready``) after a warm-up, in blocks that alternate
with the PyTorch eager reference of the same step (benchmarks/torch_reference.py: same weights, same
losses, checked numerically before timing). Reports median/min/max step time, steps/s, images/s
(B x (n_critic + 1) generated-or-real images per step), XLA's FLOP count of the compiled step and the
FLOP rate it achieves against a 2048^2 float32 matmul timed in the same run, peak memory where the
backend reports it, and the cost of each regulariser against the plain step (gradient penalty:
wgan_gp / wgan_plain; clipping: wgan / wgan_plain; spectral norm: hinge_sn / hinge).

Commands (2 CPU cores; times in brackets are on an idle machine):

  # MLP 3x512 B256 and DCGAN 32x32 B64, all losses, scan vs unroll, JAX vs torch (~1 h: DCGAN scan is
  # slow; use --losses/--loops to cut it down)
  python benchmarks/step_throughput.py --json runs/benchmarks/step_throughput.json

  # the headline comparison only (~10 min)
  python benchmarks/step_throughput.py --archs mlp dcgan32 --losses wgan_gp --conv-steps 5

  # 8 fake CPU devices (re-executes itself with XLA_FLAGS=--xla_force_host_platform_device_count=8)
  # and measures each case on 1 and on 8 devices, alternating
  python benchmarks/step_throughput.py --devices 8 --archs mlp --losses wgan_gp --no-torch

  # jaxgan's compile options (XLA's convolutions on Eigen's kernel) against XLA's defaults (~1 h)
  python benchmarks/step_throughput.py --archs resnet32 sngan_resnet32 --losses wgan_gp hinge_sn wgan \
      --loops scan --conv-steps 6 --rounds 3 --xla-options jaxgan default

  # convolutions as slices + matmul (jaxgan/ops.py) against XLA's, on the DCGAN step
  python benchmarks/step_throughput.py --archs dcgan32 --losses wgan_gp --conv-impls xla im2col

  # conv_impl='winograd' (the critics' 4x4 stride-2 layers by F(2x2, 2x2)) beside the default
  python benchmarks/step_throughput.py --archs dcgan32 sngan_cnn32 --loops scan --conv-steps 3 \
      --conv-impls im2col winograd

  # slow conv cases (DCGAN 64x64, SNGAN's CNN, the ResNet-32s) and a smoke run
  python benchmarks/step_throughput.py --slow --steps 3
  python benchmarks/step_throughput.py --quick --json /tmp/smoke.json

Output: a table on stdout; ``--json PATH``: {"machine": ..., "matmul_flops_per_s": ..., "records":
[one per case and framework: name, framework, arch, loss, batch_size, critic_loop, conv_impl, devices,
median_step_s, min_step_s, max_step_s, steps_per_s, images_per_s, compile_s, lower_s, flops
(XLA's count of that executable), flops_step (what the step executes: the unrolled one-device
lowering's count), flops_per_s, frac_of_matmul, memory, torch_over_jax, matmul_floor_s (flops_step at
the matmul rate), torch_over_matmul_floor (the best torch_over_jax with these FLOPs)],
"regulariser_costs": [...], "checks": [...]}.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time


def _devices_requested(argv) -> int:
  for i, a in enumerate(argv):
    if a == "--devices" and i + 1 < len(argv):
      return int(argv[i + 1])
    if a.startswith("--devices="):
      return int(a.split("=", 1)[1])
  return 1


def _reexec_with_devices(argv) -> None:
  """Re-executes this script with N fake host devices when --devices N > 1 asks for them."""
  n = _devices_requested(argv)
  flag = f"--xla_force_host_platform_device_count={n}"
  if n > 1 and flag not in os.environ.get("XLA_FLAGS", ""):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flag).strip()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *argv], env)


if __name__ == "__main__":
  _reexec_with_devices(sys.argv[1:])

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # pylint: disable=wrong-import-position

import common  # pylint: disable=wrong-import-position
from jaxgan.models import layers  # pylint: disable=wrong-import-position

try:
  import torch_reference  # pylint: disable=wrong-import-position
  HAVE_TORCH = torch_reference.torch is not None
except ImportError:  # pragma: no cover
  torch_reference, HAVE_TORCH = None, False

TORCH_ARCHS = ("mlp", "dcgan32", "dcgan64", "sngan_cnn32", "resnet32", "sngan_resnet32", "tiny_mlp",
               "tiny_dcgan", "tiny_resnet", "tiny_sngan_cnn")
CONV_ARCHS = ("dcgan32", "dcgan64", "sngan_cnn32", "resnet32", "sngan_resnet32", "tiny_dcgan",
              "tiny_resnet", "tiny_sngan_cnn")
REGULARISERS = (("gradient penalty", "wgan_gp", "wgan_plain"), ("weight clipping", "wgan",
                                                                 "wgan_plain"),
                ("spectral norm", "hinge_sn", "hinge"))


def _batches(arch, args):
  if arch in ("mlp", "tiny_mlp"):
    return args.mlp_batches if arch == "mlp" else [8]
  if arch.startswith("tiny"):
    return [4]
  return args.conv_batches


def _record(case, framework, devices, times, compiled=None, matmul=None, flops=None):
  s = common.summarize(times)
  images = case.batch_size * (case.n_critic + 1)
  rec = {
      "name": case.name + (f"/dev{devices}" if devices > 1 else "") + f"/{framework}",
      "framework": framework, "arch": case.arch, "loss": case.loss, "batch_size": case.batch_size,
      "n_critic": case.n_critic,
      "critic_loop": case.critic_loop if framework == "jax" else "eager",
      "conv_impl": case.conv_impl if framework == "jax" else "torch",
      "xla_options": case.xla_options if framework == "jax" else None,
      "devices": devices, **s,
      "steps_per_s": 1.0 / s["median_step_s"], "images_per_s": images / s["median_step_s"],
      "compile_s": compiled.compile_s if compiled else None,
      "lower_s": compiled.lower_s if compiled else None,
      "flops": flops, "memory": compiled.memory if compiled else None,
  }
  rec["flops_per_s"] = flops / s["median_step_s"] if flops else None
  rec["frac_of_matmul"] = rec["flops_per_s"] / matmul if (flops and matmul) else None
  return rec


def run(args) -> dict:
  """Measures every case; returns the JSON document."""
  ndev = jax.device_count()
  device_counts = [1] if args.devices <= 1 else [1, args.devices]
  if args.devices > ndev:
    raise SystemExit(f"--devices {args.devices}: only {ndev} device(s) visible")
  matmul = common.matmul_flops_per_s()
  print(f"2048^2 f32 matmul: {matmul / 1e9:.1f} GFLOP/s  ({jax.default_backend()}, {ndev} device(s), "
        f"{os.cpu_count()} CPUs, jax {jax.__version__})", flush=True)
  use_torch = args.torch and HAVE_TORCH
  if use_torch:
    import torch  # pylint: disable=import-outside-toplevel
    torch.set_num_threads(args.torch_threads)
  records, checks = [], []
  for arch in args.archs:
    steps = args.steps if arch not in CONV_ARCHS else args.conv_steps
    for loss in args.losses:
      for batch in _batches(arch, args):
        variants = [common.Case(arch, loss, batch, loop, impl, args.n_critic, opts)
                    for loop in args.loops
                    for impl in (dict.fromkeys(layers.resolve_conv_impl(i) for i in args.conv_impls)
                                 if arch in CONV_ARCHS else ["xla"])
                    for opts in args.xla_options]
        with_torch = use_torch and arch in TORCH_ARCHS
        if with_torch:
          try:
            checks.append({"case": variants[0].name, **torch_reference.honesty_check(variants[0])})
          except AssertionError as e:
            print(f"HONESTY CHECK FAILED: {e}", flush=True)
            raise
        compiled = {}
        for v in variants:
          for dev in device_counts:
            if batch % dev:
              continue
            c = common.compile_case(v, devices=dev)
            compiled[(v, dev)] = c
            print(f"  compiled {v.name} on {dev} device(s): lower {c.lower_s:.1f} s, compile "
                  f"{c.compile_s:.1f} s, {c.flops / 1e9 if c.flops else float('nan'):.2f} GFLOP",
                  flush=True)
        jtimes = {k: [] for k in compiled}
        ttimes = []
        torch_step = torch_reals = None
        if with_torch:
          _, _, _, _, _, st, jreals = common.setup(variants[0])
          torch_step = torch_reference.TorchStep(variants[0], st)
          torch_reals = torch_reference.to_torch_images(jreals)
          torch_reference.time_torch(variants[0], 0, warmup=1, step_obj=torch_step,
                                     reals=torch_reals)
        for k, c in compiled.items():  # warm-up (the first call also allocates)
          common.time_steps(c, 0, warmup=1)
        rounds = max(1, min(args.rounds, steps))
        per_round = [steps // rounds + (1 if r < steps % rounds else 0) for r in range(rounds)]
        for n in per_round:  # alternate blocks: JAX variants, then torch, per round
          for k, c in compiled.items():
            jtimes[k] += common.time_steps(c, n, warmup=0)
          if with_torch:
            ttimes += torch_reference.time_torch(variants[0], n, warmup=0, step_obj=torch_step,
                                                 reals=torch_reals)
        # XLA's cost analysis of a compiled step counts a while loop's body once (scan: 1/n_critic
        # of the critic work) and, sharded, one device's share: the FLOP rate of every variant uses
        # what its formulation executes (common.executed_flops: the unrolled one-device step);
        # the torch rows use the count of the first variant's.
        executed = {v: common.executed_flops(v) for v in dict.fromkeys(v for v, _ in compiled)}
        tmed = statistics.median(ttimes) if ttimes else None
        for (v, dev), c in compiled.items():
          step_flops = executed[v] or c.flops
          rec = _record(v, "jax", dev, jtimes[(v, dev)], c, matmul, step_flops)
          rec["flops"] = c.flops  # as XLA counts this compiled executable
          rec["flops_step"] = step_flops  # used for flops_per_s
          rec["torch_over_jax"] = tmed / rec["median_step_s"] if tmed else None
          # The step's products at the 2048^2 matmul rate and nothing else: no formulation with
          # these FLOPs is faster here, so PyTorch's time over it bounds PyTorch / JAX.
          rec["matmul_floor_s"] = step_flops / matmul if (step_flops and matmul) else None
          rec["torch_over_matmul_floor"] = (tmed / rec["matmul_floor_s"]
                                            if (tmed and rec["matmul_floor_s"]) else None)
          records.append(rec)
          _print_row(rec)
        if ttimes:
          rec = _record(variants[0], "torch", 1, ttimes, None, matmul,
                        executed.get(variants[0]))
          records.append(rec)
          _print_row(rec)
  costs = _regulariser_costs(records)
  _print_table(records, costs, matmul)
  return {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                      "jax": jax.__version__, "backend": jax.default_backend(),
                      "device_count": ndev, "xla_flags": os.environ.get("XLA_FLAGS", "")},
          "matmul_flops_per_s": matmul, "records": records, "regulariser_costs": costs,
          "checks": checks, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _regulariser_costs(records):
  key = lambda r: (r["framework"], r["arch"], r["batch_size"], r["critic_loop"], r["conv_impl"],
                   r["devices"], r.get("xla_options"))
  by = {(key(r), r["loss"]): r for r in records}
  out = []
  for (k, loss), r in by.items():
    for label, with_, without in REGULARISERS:
      if loss == with_ and (k, without) in by:
        out.append({"regulariser": label, "framework": k[0], "arch": k[1], "batch_size": k[2],
                    "critic_loop": k[3], "conv_impl": k[4], "devices": k[5],
                    "ratio": r["median_step_s"] / by[(k, without)]["median_step_s"]})
  return out


def _fmt(x, spec):
  return "-" if x is None else format(x, spec)


def _print_row(r):
  print(f"  {r['name']:<44} median {r['median_step_s']:.4f} s (min {r['min_step_s']:.4f}, max "
        f"{r['max_step_s']:.4f}, n={r['steps_timed']})"
        + (f"  torch/JAX {r['torch_over_jax']:.2f}" if r.get("torch_over_jax") else "")
        + (f" (at the matmul rate: {r['torch_over_matmul_floor']:.2f})"
           if r.get("torch_over_matmul_floor") else ""), flush=True)


def _print_table(records, costs, matmul):
  print()
  hdr = (f"{'case':<46} {'median s':>9} {'min':>8} {'max':>8} {'img/s':>9} {'compile s':>9} "
         f"{'GFLOP':>8} {'GFLOP/s':>8} {'%mm':>5} {'torch/jax':>9} {'@mm':>6} {'temp MB':>8}")
  print(hdr)
  print("-" * len(hdr))
  for r in records:
    mem = (r.get("memory") or {}).get("temp_size_in_bytes")
    print(f"{r['name']:<46} {r['median_step_s']:>9.4f} {r['min_step_s']:>8.4f} "
          f"{r['max_step_s']:>8.4f} {r['images_per_s']:>9.0f} {_fmt(r['compile_s'], '>9.1f')} "
          f"{_fmt(r['flops'] and r['flops'] / 1e9, '>8.2f')} "
          f"{_fmt(r['flops_per_s'] and r['flops_per_s'] / 1e9, '>8.1f')} "
          f"{_fmt(r['frac_of_matmul'] and 100 * r['frac_of_matmul'], '>5.0f')} "
          f"{_fmt(r.get('torch_over_jax'), '>9.2f')} {_fmt(r.get('torch_over_matmul_floor'), '>6.2f')} "
          f"{_fmt(mem and mem / 2**20, '>8.1f')}")
  print(f"(matmul reference: {matmul / 1e9:.1f} GFLOP/s. GFLOP: XLA's count of each executable (a "
        f"scan's body is counted once, a sharded step per device); GFLOP/s and %mm use what the "
        f"step executes (its unrolled single-device lowering); torch rows use the first variant's "
        f"count; @mm: torch's step over the JAX step's FLOPs at the matmul rate, the best "
        f"torch/jax a step with these FLOPs can reach here)")
  # Ratios between forms of the same step.
  form = lambda r: (r["framework"], r["arch"], r["loss"], r["batch_size"], r["critic_loop"],
                    r["conv_impl"], r["devices"])
  by = {form(r): r for r in records if r.get("xla_options") in (None, "jaxgan")}
  lines = []
  for r in records:
    if r.get("xla_options") == "default" and form(r) in by:
      lines.append(f"jaxgan's/XLA's default compile options {r['name']}: step "
                   f"{by[form(r)]['median_step_s'] / r['median_step_s']:.3f}x")
  for (fw, arch, loss, b, loop, impl, dev), r in by.items():
    if fw != "jax":
      continue
    if loop == "scan" and (fw, arch, loss, b, "unroll", impl, dev) in by:
      u = by[(fw, arch, loss, b, "unroll", impl, dev)]
      lines.append(f"scan/unroll {arch}/{loss}/B{b}/{impl}/dev{dev}: step "
                   f"{r['median_step_s'] / u['median_step_s']:.2f}x, compile "
                   f"{r['compile_s'] / u['compile_s']:.2f}x")
    if impl == "im2col" and (fw, arch, loss, b, loop, "xla", dev) in by:
      x = by[(fw, arch, loss, b, loop, "xla", dev)]
      lines.append(f"im2col/xla {arch}/{loss}/B{b}/{loop}/dev{dev}: step "
                   f"{r['median_step_s'] / x['median_step_s']:.3f}x")
    if dev > 1 and (fw, arch, loss, b, loop, impl, 1) in by:
      one = by[(fw, arch, loss, b, loop, impl, 1)]
      lines.append(f"{dev} devices/1 device {arch}/{loss}/B{b}/{loop}/{impl}: step "
                   f"{r['median_step_s'] / one['median_step_s']:.3f}x")
  for c in costs:
    lines.append(f"cost of {c['regulariser']} ({c['framework']} {c['arch']}/B{c['batch_size']}/"
                 f"{c['critic_loop']}/{c['conv_impl']}/dev{c['devices']}): {c['ratio']:.2f}x "
                 f"the plain step")
  if lines:
    print()
    print("\n".join(lines))


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--archs", nargs="+", default=["mlp", "dcgan32"], choices=sorted(common.ARCHS))
  p.add_argument("--losses", nargs="+", default=list(common.LOSSES), choices=list(common.LOSSES))
  p.add_argument("--mlp-batches", nargs="+", type=int, default=[256])
  p.add_argument("--conv-batches", nargs="+", type=int, default=[64])
  p.add_argument("--loops", nargs="+", default=["unroll", "scan"], choices=["unroll", "scan"])
  p.add_argument("--conv-impls", nargs="+", default=["auto"],
                 choices=["auto", "xla", "im2col", "winograd"],
                 help="config.conv_impl of the convolutional cases ('auto': im2col on CPU, xla on GPU)")
  p.add_argument("--xla-options", nargs="+", default=["jaxgan"], choices=list(common.XLA_OPTIONS),
                 help="compile options: jaxgan's (ops.compiler_options(), as the trainer) and/or "
                      "XLA's defaults (on CPU: convolutions in YNNPACK fusions)")
  p.add_argument("--n-critic", type=int, default=5)
  p.add_argument("--devices", type=int, default=1,
                 help="N > 1: re-execute with N fake CPU devices; measure on 1 and on N")
  p.add_argument("--steps", type=int, default=20, help="timed steps per case (MLP)")
  p.add_argument("--conv-steps", type=int, default=5, help="timed steps per convolutional case")
  p.add_argument("--rounds", type=int, default=2, help="alternating JAX/torch blocks")
  p.add_argument("--torch", dest="torch", action="store_true", default=True)
  p.add_argument("--no-torch", dest="torch", action="store_false")
  p.add_argument("--torch-threads", type=int, default=2)
  p.add_argument("--slow", action="store_true",
                 help="add DCGAN 64x64, SNGAN's CNN and the ResNet-32s (slow on CPU)")
  p.add_argument("--quick", action="store_true", help="tiny shapes, 2 steps: a smoke run")
  p.add_argument("--json", default=None, help="write the records here")
  args = p.parse_args(argv)
  if args.slow:
    args.archs = list(dict.fromkeys(args.archs + ["dcgan64", "sngan_cnn32", "resnet32",
                                                  "sngan_resnet32"]))
  if args.quick:
    args.archs = ["tiny_mlp", "tiny_dcgan"]
    args.steps = args.conv_steps = 2
    args.rounds = 2
  return args


def main(argv=None) -> dict:
  args = parse_args(argv)
  doc = run(args)
  if args.json:
    common.write_json(args.json, doc)
  return doc


if __name__ == "__main__":
  main()

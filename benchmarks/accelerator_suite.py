"""One command for an accelerator: the headline step speeds, precisions, PyTorch, memory and scaling.

On whatever devices JAX sees (meant for one GPU; finishes within minutes there), it writes JSON and a
markdown table with:

* steps/s and images/s (B x (n_critic + 1) images per step) of the WGAN-GP ResNet-32 step (loss
  wgan_gp) and the SNGAN ResNet-32 step (hinge + spectral norm) at batch 64, in float32 and with
  ``compute_dtype='bfloat16'``; the cold compile time (lower + compile, no compilation cache) and
  the peak device memory (``device.memory_stats()['peak_bytes_in_use']`` where the backend has it,
  else XLA's temporary + argument bytes of the compiled step);
* the PyTorch eager reference step (benchmarks/torch_reference.py, same weights and losses) on the
  same device in float32 and under ``torch.autocast(bfloat16)`` where that works (an error is
  recorded, not raised, where it does not);
* the scaling table (benchmarks/scaling.py) of the same two steps on the devices present;
* the ratios the targets are stated in: JAX f32 over PyTorch eager f32, JAX bf16 over JAX f32.

Commands:

  python benchmarks/accelerator_suite.py --json /tmp/suite.json --markdown /tmp/suite.md   # GPU
  python benchmarks/accelerator_suite.py --tiny --steps 2    # any machine, tiny shapes (the test's)

Only the tiny form has run so far (CPU; no GPU was at hand): the GPU numbers are still to be taken.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_compilation_cache", False)

import jax.numpy as jnp  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pylint: disable=wrong-import-position,import-error
import scaling  # pylint: disable=wrong-import-position,import-error

from jaxgan import step as step_lib  # pylint: disable=wrong-import-position

try:
  import torch_reference  # pylint: disable=wrong-import-position,import-error
  torch = torch_reference.torch
except ImportError:  # pragma: no cover
  torch_reference, torch = None, None

# (name, benchmarks/common arch, loss, scaling.py arch) at full size and tiny.
STEPS = {False: [("wgan_gp_resnet32", "resnet32", "wgan_gp", "wgan_gp_resnet"),
                 ("sngan_resnet32", "sngan_resnet32", "hinge_sn", "sngan_resnet")],
         True: [("wgan_gp_resnet32", "tiny_resnet", "wgan_gp", "wgan_gp_resnet"),
                ("sngan_resnet32", "tiny_resnet", "hinge_sn", "sngan_resnet")]}


def _peak_memory(compiled) -> tuple[int | None, str]:
  stats = None
  try:
    stats = jax.devices()[0].memory_stats()
  except Exception:  # pylint: disable=broad-except
    pass
  if stats and "peak_bytes_in_use" in stats:
    return int(stats["peak_bytes_in_use"]), "device peak_bytes_in_use"
  m = compiled.memory or {}
  if "temp_size_in_bytes" in m:
    return m["temp_size_in_bytes"] + m.get("argument_size_in_bytes", 0), "XLA temp + arguments"
  return None, "unavailable"


def jax_row(case: common.Case, dtype: str, steps: int) -> dict:
  """Compiles (cold) and times the donated step of ``case`` with ``compute_dtype=dtype``."""
  config, g, d, g_tx, d_tx, st, reals = common.setup(case)
  config.compute_dtype = dtype
  fn = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx), donate_argnums=(0,))
  t0 = time.perf_counter()
  lowered = fn.lower(st, reals)
  t1 = time.perf_counter()
  compiled = lowered.compile()
  t2 = time.perf_counter()
  # pylint: disable=protected-access
  c = common.Compiled(compiled, t1 - t0, t2 - t1, common._flops(compiled), common._memory(compiled),
                      st, reals)
  # pylint: enable=protected-access
  times = common.time_steps(c, steps)
  s = common.summarize(times)
  peak, source = _peak_memory(c)
  images = case.batch_size * (case.n_critic + 1)
  return {"framework": "jax", "precision": dtype, **s, "steps_per_s": 1 / s["median_step_s"],
          "images_per_s": images / s["median_step_s"], "compile_s": c.lower_s + c.compile_s,
          "peak_memory_bytes": peak, "peak_memory_source": source, "flops": c.flops}


def torch_row(case: common.Case, autocast: bool, steps: int) -> dict:
  """The PyTorch eager step on the best device torch has (cuda if present), f32 or autocast bf16."""
  precision = "autocast_bf16" if autocast else "float32"
  if torch is None:
    return {"framework": "torch", "precision": precision, "error": "torch not installed"}
  device = "cuda" if torch.cuda.is_available() else "cpu"
  try:
    _, _, _, _, _, st, jreals = common.setup(case)
    step = torch_reference.TorchStep(case, st)
    step.g.to(device)
    step.d.to(device)
    reals = torch_reference.to_torch_images(np.asarray(jreals)).to(device)
    if device == "cuda":
      torch.set_default_device(device)  # the step's own latents and epsilons

    def one():
      if autocast:
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
          step.step(reals)
      else:
        step.step(reals)
      if device == "cuda":
        torch.cuda.synchronize()

    one()
    times = []
    for _ in range(steps):
      t0 = time.perf_counter()
      one()
      times.append(time.perf_counter() - t0)
  except Exception as e:  # pylint: disable=broad-except
    return {"framework": "torch", "precision": precision, "device": device,
            "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"}
  finally:
    if device == "cuda":
      torch.set_default_device("cpu")
  s = common.summarize(times)
  images = case.batch_size * (case.n_critic + 1)
  return {"framework": "torch", "precision": precision, "device": device, **s,
          "steps_per_s": 1 / s["median_step_s"], "images_per_s": images / s["median_step_s"]}


def run(tiny: bool = False, steps: int = 20, batch: int = 64, with_torch: bool = True,
        with_scaling: bool = True) -> dict:
  device = jax.devices()[0]
  doc = {"machine": platform.platform(), "jax": jax.__version__, "backend": jax.default_backend(),
         "device": getattr(device, "device_kind", str(device)), "device_count": jax.device_count(),
         "tiny": tiny, "rows": [], "scaling": []}
  for name, arch, loss, _ in STEPS[tiny]:
    case = common.Case(arch, loss, 4 if tiny else batch)
    rows = [jax_row(case, "float32", steps), jax_row(case, "bfloat16", steps)]
    if with_torch:
      rows += [torch_row(case, False, steps), torch_row(case, True, steps)]
    for r in rows:
      r.update(step=name, batch_size=case.batch_size, n_critic=case.n_critic)
      print(f"  {name} {r['framework']} {r['precision']}: "
            + (f"{r['steps_per_s']:.2f} steps/s" if "steps_per_s" in r else r.get("error", "")),
            flush=True)
    doc["rows"] += rows
    jf32, jbf16 = rows[0]["steps_per_s"], rows[1]["steps_per_s"]
    ratios = {"step": name, "bf16_over_f32": jbf16 / jf32}
    if with_torch and "steps_per_s" in rows[2]:
      ratios["jax_f32_over_torch_f32"] = jf32 / rows[2]["steps_per_s"]
    doc.setdefault("ratios", []).append(ratios)
  if with_scaling:
    devices = sorted({1, jax.device_count()})
    doc["scaling"] = scaling.run([s[3] for s in STEPS[tiny]], ["wgan_gp", "hinge_sn"], devices,
                                 tiny=tiny, pmap=False, verbose=False)
    doc["scaling"] = [r for r in doc["scaling"]
                      if (r["arch"], r["loss"]) in {(s[3], s[2]) for s in STEPS[tiny]}]
  return doc


def markdown(doc: dict) -> str:
  lines = [f"Device: {doc['device']} x {doc['device_count']} ({doc['backend']}), jax {doc['jax']}"
           + (" -- TINY shapes" if doc["tiny"] else ""), "",
           "| step | framework | precision | steps/s | images/s | compile s | peak memory MB |",
           "|---|---|---|---|---|---|---|"]
  for r in doc["rows"]:
    if "error" in r:
      lines.append(f"| {r['step']} B{r['batch_size']} | {r['framework']} | {r['precision']} | "
                   f"error: {r['error']} | | | |")
      continue
    mem = r.get("peak_memory_bytes")
    comp = r.get("compile_s")
    lines.append(f"| {r['step']} B{r['batch_size']} | {r['framework']} | {r['precision']} | "
                 f"{r['steps_per_s']:.2f} | {r['images_per_s']:.0f} | "
                 f"{'-' if comp is None else f'{comp:.1f}'} | "
                 f"{'-' if mem is None else f'{mem / 1e6:.0f}'} |")
  lines += ["", "| step | JAX f32 / PyTorch f32 (target >= 2) | JAX bf16 / JAX f32 (target >= 1.5) |",
            "|---|---|---|"]
  for r in doc.get("ratios", []):
    t = r.get("jax_f32_over_torch_f32")
    lines.append(f"| {r['step']} | {'-' if t is None else f'{t:.2f}'} | {r['bf16_over_f32']:.2f} |")
  if doc["scaling"]:
    lines += ["", scaling.markdown(doc["scaling"])]
  return "\n".join(lines)


def main(argv=None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--tiny", action="store_true", help="tiny shapes (CPU smoke run, the test)")
  p.add_argument("--steps", type=int, default=20, help="timed steps per row (after one warm-up)")
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--no-torch", action="store_true")
  p.add_argument("--no-scaling", action="store_true")
  p.add_argument("--json", default="runs/benchmarks/accelerator_suite.json")
  p.add_argument("--markdown", default="runs/benchmarks/accelerator_suite.md")
  args = p.parse_args(argv)
  doc = run(args.tiny, args.steps, args.batch, not args.no_torch, not args.no_scaling)
  table = markdown(doc)
  print(table)
  common.write_json(args.json, doc)
  os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
  with open(args.markdown, "w") as f:
    f.write(table + "\n")
  return doc


if __name__ == "__main__":
  main()

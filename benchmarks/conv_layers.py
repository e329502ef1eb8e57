"""Per-layer profile of the convolutions of the DCGAN-32 step: each formulation's forward and
forward+backward time on the layer shapes of the generator (batch 64) and critic (batch 128, the
fused real/fake pass), against PyTorch eager's ``conv_transpose2d`` / ``conv2d`` on the same data.

Forms: transposed convolutions ``xla`` (``lax.conv_transpose``), ``phases`` (one im2col convolution
per sub-pixel phase), ``matmul`` (one matmul + shift-add, ``ops.conv_transpose2d``'s default for a
narrowing layer); convolutions ``xla`` (``lax.conv_general_dilated``), ``im2col`` (``ops.conv2d``'s own choice) and
its forms ``patches``, ``output``, ``direct`` (``ops.conv2d(form=...)``). ``--layers r``: the ResNets'
3x3 128->128 layers. Blocks of every form alternate ``--rounds`` times; reported: the min and median
wall time and, as a load-robust measure of work on a shared machine, the median CPU time of the
process (JAX only: PyTorch's OpenMP threads spin, so its CPU time overstates its work).

Caveat: each call here returns a fresh output buffer; glibc serves buffers over 32 MiB with a new
mmap, whose first touch page-faults (building 302 MB of patches: 184 ms, 41 ms with
``MALLOC_MMAP_MAX_=0``). A train step does not pay that per layer, so this benchmark overstates
the forms with large buffers; choose forms by whole steps (``step_throughput.py``).

  python benchmarks/conv_layers.py                      # ~3 min on 2 idle cores
  python benchmarks/conv_layers.py --layers g --forms phases matmul --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from jaxgan import ops

DN = ("NHWC", "HWIO", "NHWC")
G_LAYERS = ((4, 512, 256), (8, 256, 128), (16, 128, 64))  # (side, Cin, Cout): 4x4, stride 2
D_LAYERS = ((32, 3, 64, 3, 1), (32, 64, 128, 4, 2), (16, 128, 256, 4, 2), (8, 256, 512, 4, 2),
            (32, 64, 3, 3, 1))  # (side, Cin, Cout, k, stride); the last is G's output layer
# The ResNets' 3x3 stride-1 convolutions (128 channels; critic batch 2B: the fused real/fake pass).
R_LAYERS = ((32, 128, 128, 3, 1), (16, 128, 128, 3, 1), (8, 128, 128, 3, 1))


def _timed(f):
  c0, t0 = time.process_time(), time.perf_counter()
  f()
  return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--layers", default="gd",
                 help="g: generator, d: critic, r: the ResNets' 3x3 layers; any combination")
  p.add_argument("--forms", nargs="+", default=["xla", "phases", "matmul", "im2col"],
                 help="xla phases matmul (transposed); xla im2col patches output direct (conv)")
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--no-torch", dest="torch", action="store_false", default=True)
  args = p.parse_args(argv)
  try:
    import torch  # pylint: disable=import-outside-toplevel
    import torch.nn.functional as F  # pylint: disable=import-outside-toplevel
    torch.set_num_threads(2)
  except ImportError:
    torch = None
  rng = np.random.default_rng(0)
  cases = []  # (label, form, flops, fwd(), grad())
  def add_jax(label, form, fn, x, w, flops):
    fwd = jax.jit(fn)
    c = jax.random.normal(jax.random.PRNGKey(1), jax.eval_shape(fn, x, w).shape)
    grad = jax.jit(jax.grad(lambda x, w: jnp.sum(jnp.square(fn(x, w)) * c), (0, 1)))
    jax.block_until_ready((fwd(x, w), grad(x, w)))
    cases.append((label, form, flops, lambda: jax.block_until_ready(fwd(x, w)),
                  lambda: jax.block_until_ready(grad(x, w))))
  def add_torch(label, fn, x, w, flops):
    tx = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy()).requires_grad_(True)
    tw = torch.from_numpy(np.asarray(w).copy()).requires_grad_(True)
    def fwd():
      with torch.no_grad():
        fn(tx, tw)
    def grad():
      y = fn(tx, tw)
      (y * y).sum().backward()
    fwd()
    grad()  # warm-up, as the JAX cases' compile call
    cases.append((label, "torch", flops, fwd, grad))
  b = args.batch
  if "g" in args.layers:
    for h, cin, cout in G_LAYERS:
      x = jnp.asarray(rng.standard_normal((b, h, h, cin)), jnp.float32)
      w = jnp.asarray(rng.standard_normal((4, 4, cin, cout)) * 0.05, jnp.float32)
      label, flops = f"G convT {h}x{h} {cin}->{cout} B{b}", 2 * b * h * h * 16 * cin * cout
      for form in args.forms:
        if form == "xla":
          add_jax(label, form, lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME",
                                                                dimension_numbers=DN), x, w, flops)
        elif form in ("phases", "matmul"):
          add_jax(label, form, lambda x, w, f=form: ops.conv_transpose2d(x, w, (2, 2), "SAME",
                                                                         form=f), x, w, flops)
      if torch is not None and args.torch:
        add_torch(label, lambda tx, tw: F.conv_transpose2d(tx, tw.permute(2, 3, 0, 1), stride=2,
                                                           padding=1), x, w, flops)
  conv_layers = (D_LAYERS if "d" in args.layers else ()) + (R_LAYERS if "r" in args.layers else ())
  if conv_layers:
    for h, cin, cout, k, s in conv_layers:
      bb = 2 * b if cout != 3 else b
      x = jnp.asarray(rng.standard_normal((bb, h, h, cin)), jnp.float32)
      w = jnp.asarray(rng.standard_normal((k, k, cin, cout)) * 0.05, jnp.float32)
      label = f"{'G' if cout == 3 else 'D'} conv {h}x{h} {cin}->{cout} k{k}s{s} B{bb}"
      flops = 2 * bb * (h // s) ** 2 * k * k * cin * cout
      for form in args.forms:
        if form == "xla":
          add_jax(label, form, lambda x, w, s=s: lax.conv_general_dilated(
              x, w, (s, s), "SAME", dimension_numbers=DN), x, w, flops)
        elif form == "im2col":
          add_jax(label, form, lambda x, w, s=s: ops.conv2d(x, w, (s, s), "SAME"), x, w, flops)
        elif form in ("patches", "output", "direct") and (s == 1 or form == "patches"):
          add_jax(label, form, lambda x, w, s=s, f=form: ops.conv2d(x, w, (s, s), "SAME", form=f),
                  x, w, flops)
      if torch is not None and args.torch:
        add_torch(label, lambda tx, tw, s=s: F.conv2d(tx, tw.permute(3, 2, 0, 1), stride=s,
                                                      padding=1), x, w, flops)
  times = {i: ([], [], [], []) for i in range(len(cases))}
  for _ in range(args.rounds):
    for i, (_, _, _, fwd, grad) in enumerate(cases):
      for j, f in ((0, fwd), (2, grad)):
        wall, cpu = _timed(f)
        times[i][j].append(wall)
        times[i][j + 1].append(cpu)
  print(f"{'layer':<34} {'form':<7} {'fwd ms (min/med, cpu)':>24} {'GF/s':>5} "
        f"{'fwd+bwd ms (min/med, cpu)':>27} {'GF/s':>5}")
  for i, (label, form, flops, _, _) in enumerate(cases):
    fw, fc, bw, bc = times[i]
    cpu = lambda v: "-" if form == "torch" else f"{statistics.median(v) * 1e3:.0f}"
    print(f"{label:<34} {form:<7} {min(fw) * 1e3:8.1f} {statistics.median(fw) * 1e3:7.1f} "
          f"{cpu(fc):>7} {flops / min(fw) / 1e9:5.0f} {min(bw) * 1e3:9.1f} "
          f"{statistics.median(bw) * 1e3:8.1f} {cpu(bc):>8} {3 * flops / min(bw) / 1e9:5.0f}",
          flush=True)
  print("(GF/s on the min wall time; fwd+bwd counts 3x the forward's FLOPs: forward, input and "
        "weight gradients)")


if __name__ == "__main__":
  main()

"""Where a train step's time goes: every XLA op of the compiled step, timed by the profiler, priced
against this machine's matmul rate and memory bandwidth -- and PyTorch's step beside it.

The step of a case (the cases of ``benchmarks/step_throughput.py``) is compiled ahead of time and run
under ``jax.profiler``; on CPU the trace has one event per executed XLA thunk (``args.hlo_op``), so
each op's time per step is exact, not sampled. Each op is joined with the optimized HLO
(``compiled.as_text()``) to know what it is:

  matmul    a ``dot`` (alone or in a fusion: XLA CPU's YNNPACK/Eigen calls); FLOPs = 2 * |out| * K
  conv      a ``convolution`` (XLA's own: ``conv_impl='xla'`` or ``ops.conv2d``'s 'direct' form).
            Compiled with jaxgan's options (``ops.compiler_options()``, the default here) XLA CPU
            runs them with Eigen's kernel, whose trace events end before its work does
            (observed: 'conv' at 1,700-3,300 GFLOP/s, above the machine's peak, and 46-49% of the
            ResNet steps' wall time in no event; the run says how much); with
            ``--xla-options default`` they are YNNPACK fusions, timed like the rest
  movement  slices, pads, concatenations, copies, transposes, and fusions of only those (the im2col
            patches, the sub-pixel shift-adds); bytes = 2 * |out| (written once, read at least once)
  eltwise   every other fusion (activations and their derivatives, batch/spectral norm, Adam,
            reductions); bytes = |out| + |operands|
  other     RNG, control, small leftovers

and priced at the reference rates timed in the same run: a 2048^2 float32 matmul (FLOP/s) and a
jitted ``x * a + b`` over 64 Mi floats (bytes read + written per second, a STREAM-like "scale").
``floor`` = FLOPs / matmul rate for matmuls, bytes / bandwidth for the rest: the time each op would
take at the machine's rate; ``x floor`` = measured / floor says how far an op is from its ceiling.
The sum of the floors is the step at both ceilings: no formulation with the same matmul FLOPs and
memory traffic runs faster on this machine, so ``PyTorch step / floor sum`` bounds the ratio to
PyTorch such a formulation can reach.
The matmul rate of a 2048^2 product is not what every shape gets: each distinct ``dot`` of the
step is also compiled alone (same shapes and dimension numbers, row-major operands, jaxgan's
options) and timed, and the step's dots are priced at those standalone rates too ("at their
shapes"). A dot that runs in the step as fast as alone is at the library's ceiling for its shape;
the ratio at these ceilings is what a formulation with the same products could reach without a
faster matmul library for those shapes. (Alone, a dot has both cores; in the step, independent ops
also overlap on them -- the ops' times sum to more than the wall -- so a step's dots can beat
their standalone times, and then the step is past this ceiling.)
The pass of each op (forward, backward, the penalty's double backward) and its layer come from the
op's ``op_name`` metadata (``jvp``/``transpose`` nesting and the flax module path).

With PyTorch installed, the same step of ``benchmarks/torch_reference.py`` is profiled by
``torch.profiler`` (self CPU time per aten op, as shares of its step: the profiler's per-op overhead inflates
small ops), so the two frameworks' shares can be read side by side.

  python benchmarks/step_profile.py --arch dcgan32 --loss wgan_gp --steps 2
  python benchmarks/step_profile.py --arch sngan_cnn32 --loss hinge_sn --top 30 --json /tmp/p.json
  # the ceiling table of README "Speed" (each case's ratio against the ratio at both ceilings)
  python benchmarks/step_profile.py --cases dcgan32:wgan_gp dcgan32:hinge_sn dcgan32:wgan \
      sngan_cnn32:wgan_gp --top 0 --markdown /tmp/ceilings.md

Output: tables on stdout and a summary table (markdown, ``--markdown PATH``); ``--json PATH`` writes
every op with its time, category, pass, layer, FLOPs, bytes and floor, and PyTorch's per-op shares.
"""

from __future__ import annotations

import argparse
import collections
import functools
import glob
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # pylint: disable=wrong-import-position
import jax.numpy as jnp  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

import common  # pylint: disable=wrong-import-position

_DTYPE_BYTES = {"f64": 8, "f32": 4, "bf16": 2, "f16": 2, "s64": 8, "u64": 8, "s32": 4, "u32": 4,
                "s16": 2, "u16": 2, "s8": 1, "u8": 1, "pred": 1}
_MOVEMENT = {"slice", "pad", "concatenate", "copy", "transpose", "bitcast", "reshape", "broadcast",
             "dynamic-slice", "dynamic-update-slice", "parameter", "constant", "tuple",
             "get-tuple-element", "reverse"}
_CONTROL = {"while", "conditional", "call"}
_INSTR = re.compile(r"^\s*(ROOT\s+)?%?([\w.\-]+)\s*=\s*(\(.*?\)|[\w]+\[[\d,]*\](?:\{[^}]*\})?|\w+\[\])"
                    r"\s+([\w\-]+)\((.*)$")
_SHAPE = re.compile(r"(\w+)\[([\d,]*)\]")
_COMP = re.compile(r"^(ENTRY\s+)?%([\w.\-]+)\s.*\{\s*$")


def _shape_bytes(shape: str) -> int:
  total = 0
  for dtype, dims in _SHAPE.findall(shape):
    n = 1
    for d in filter(None, dims.split(",")):
      n *= int(d)
    total += n * _DTYPE_BYTES.get(dtype, 4)
  return total


def _dims(shape: str) -> list[int]:
  m = _SHAPE.search(shape)
  return [int(d) for d in filter(None, m.group(2).split(","))] if m else []


def parse_hlo(text: str) -> tuple[dict, dict]:
  """Instructions of an optimized HLO module: name -> {shape, opcode, operands, rest, computation};
  and computation name -> list of its instruction names."""
  instrs, comps, comp = {}, collections.defaultdict(list), None
  for line in text.splitlines():
    m = _COMP.match(line)
    if m and "=" not in line.split("{")[0].split("(")[0]:
      comp = m.group(2)
      continue
    m = _INSTR.match(line)
    if not m:
      continue
    _, name, shape, opcode, rest = m.groups()
    args = rest.split(")", 1)[0]
    operands = re.findall(r"%([\w.\-]+)", args)
    instrs[name] = {"shape": shape, "opcode": opcode, "operands": operands, "rest": rest,
                    "computation": comp}
    comps[comp].append(name)
  return instrs, comps


def _dot_flops(instr: dict, instrs: dict) -> float:
  out = 1
  for d in _dims(instr["shape"]):
    out *= d
  lhs = instrs.get(instr["operands"][0]) if instr["operands"] else None
  m = re.search(r"lhs_contracting_dims=\{([\d,]*)\}", instr["rest"])
  if lhs is None or not m:
    return 0.0
  ldims = _dims(lhs["shape"])
  k = 1
  for i in filter(None, m.group(1).split(",")):
    k *= ldims[int(i)]
  return 2.0 * out * k


def _conv_flops(instr: dict, instrs: dict) -> float:
  out = 1
  for d in _dims(instr["shape"]):
    out *= d
  rhs = instrs.get(instr["operands"][1]) if len(instr["operands"]) > 1 else None
  if rhs is None:
    return 0.0
  kd = _dims(rhs["shape"])
  # dim_labels=..._01io->... : kernel spatial * input features (the output features are in |out|).
  m = re.search(r"dim_labels=\w+_(\w+)->", instr["rest"])
  k = 1
  if m:
    for label, size in zip(m.group(1), kd):
      if label != "o":
        k *= size
  return 2.0 * out * k


def _dot_signature(instr: dict, instrs: dict) -> tuple | None:
  """(lhs dims, rhs dims, dtype, (lhs_contracting, rhs_contracting, lhs_batch, rhs_batch)) of a
  ``dot``: what a standalone ``lax.dot_general`` needs to run the same product."""
  if len(instr["operands"]) < 2 or any(o not in instrs for o in instr["operands"][:2]):
    return None
  lhs, rhs = (instrs[o]["shape"] for o in instr["operands"][:2])
  dtype = _SHAPE.search(lhs).group(1)

  def dims(key):
    m = re.search(key + r"=\{([\d,]*)\}", instr["rest"])
    return tuple(int(i) for i in filter(None, m.group(1).split(","))) if m else ()

  return (tuple(_dims(lhs)), tuple(_dims(rhs)), dtype,
          (dims("lhs_contracting_dims"), dims("rhs_contracting_dims"), dims("lhs_batch_dims"),
           dims("rhs_batch_dims")))


_JNP_DTYPES = {"f32": jnp.float32, "bf16": jnp.bfloat16, "f16": jnp.float16, "f64": jnp.float64}


@functools.cache
def standalone_dot_s(signature: tuple, reps: int = 3) -> float:
  """Seconds per product of the dot of ``signature`` alone: a jitted loop of ``lax.dot_general``
  calls on random row-major operands (each call's right operand plus a zero from the last result,
  so none can be hoisted), compiled with jaxgan's options, timed at n (>= 9) and at 1 iterations:
  the difference / (n - 1) is free of dispatch and of the first touch of a fresh output buffer (a step reuses
  its buffers). The rate the matmul library gives that shape on this machine."""
  lhs, rhs, dtype, (lc, rc, lb, rb) = signature
  rng = np.random.default_rng(0)
  dt = _JNP_DTYPES.get(dtype, jnp.float32)
  a = jnp.asarray(rng.standard_normal(lhs), dt)
  b = jnp.asarray(rng.standard_normal(rhs), dt)

  def loop(n):
    def run(x, y):
      def body(_, c):  # c is 0 from the last product: the next one depends on it
        return (jax.lax.dot_general(x, y + c, ((lc, rc), (lb, rb))).reshape(-1)[0] * 0).astype(dt)
      return jax.lax.fori_loop(0, n, body, jnp.zeros((), dt))
    return jax.jit(run).lower(a, b).compile(compiler_options=common.ops.compiler_options())

  def timed(f):
    return common.median_seconds(lambda: f(a, b).block_until_ready(), reps)

  # Enough products for ~20 ms at 200 GFLOP/s (9 at least): a tiny dot's time is otherwise noise.
  # FLOPs = 2 * (every lhs axis: the batch, free and contracted ones) * (rhs's free axes).
  flops = 2.0 * math.prod(lhs) * math.prod(d for i, d in enumerate(rhs) if i not in rc + rb)
  n = int(min(max(9, 0.02 * 2e11 / flops), 10_000))
  many_s, one_s = timed(loop(n)), timed(loop(1))
  return (many_s - one_s) / (n - 1) if many_s > one_s else many_s / n


def classify(name: str, instrs: dict, comps: dict) -> dict:
  """Category, FLOPs and bytes of one executed op (see the module docstring)."""
  ins = instrs.get(name)
  if ins is None:
    return {"category": "other", "flops": 0.0, "bytes": 0.0, "op_name": ""}
  m = re.search(r'op_name="([^"]*)"', ins["rest"])
  op_name = m.group(1) if m else ""
  opcode = ins["opcode"]
  out_bytes = _shape_bytes(ins["shape"])
  in_bytes = sum(_shape_bytes(instrs[o]["shape"]) for o in ins["operands"] if o in instrs)
  body = [ins]
  if opcode == "fusion":
    m = re.search(r"calls=%([\w.\-]+)", ins["rest"])
    body = [instrs[n] for n in comps.get(m.group(1), [])] if m else []
  ops = {b["opcode"] for b in body}
  flops = 0.0
  if ops & {"dot", "convolution"}:
    # A fusion may hold both (XLA CPU's YNNPACK fusions: a convolution, a pooling and a 1x1
    # shortcut's dot in one kernel): count every product it runs.
    cat = "matmul" if "dot" in ops else "conv"
    flops = (sum(_dot_flops(b, instrs) for b in body if b["opcode"] == "dot")
             + sum(_conv_flops(b, instrs) for b in body if b["opcode"] == "convolution"))
  elif opcode in _CONTROL:
    cat = "control"
  elif ops <= _MOVEMENT:
    cat = "movement"
  elif ops & {"rng-bit-generator", "rng", "rng-get-and-update-state"}:
    cat = "other"
  else:
    cat = "eltwise"
  nbytes = 2.0 * out_bytes if cat == "movement" else float(out_bytes + in_bytes)
  dots = [_dot_signature(b, instrs) for b in body if b["opcode"] == "dot"]
  return {"category": cat, "flops": flops, "bytes": nbytes, "op_name": op_name,
          "dots": [d for d in dots if d is not None]}


_PASSES = {(): "forward", ("jvp",): "forward", ("transpose", "jvp"): "backward"}


def _chain_label(chain: tuple[str, ...]) -> str:
  """'forward', 'backward', or the nesting itself, e.g. 'T(jvp(jvp))' (T: transpose)."""
  if chain in _PASSES:
    return _PASSES[chain]
  label = "()"
  for c in reversed(chain):
    label = ("T" if c == "transpose" else c) + "(" + label + ")"
  return label.replace("(())", "")


def _unwrap(part: str) -> tuple[tuple[str, ...], str]:
  """'transpose(jvp(DCGANCritic))' -> (('transpose', 'jvp'), 'DCGANCritic')."""
  chain = []
  while True:
    m = re.match(r"^(jvp|transpose|vmap|jit|checkpoint|remat)\((.*)\)$", part)
    if not m:
      return tuple(chain), part
    chain.append(m.group(1))
    part = m.group(2)


def pass_and_layer(op_name: str) -> tuple[str, str]:
  """The autodiff pass of an op and its network layer, from its ``op_name`` metadata.

  JAX names an op by the transformations around the module that made it: ``jvp(Critic)`` is the
  forward pass (linearized), ``transpose(jvp(Critic))`` its backward ('forward', 'backward'); other
  nestings are shown as they are, T for transpose. Under WGAN-GP the penalty differentiates the
  critic's input gradient again: its forward is ``jvp(jvp)``, the input gradient ``jvp(T(jvp))``
  and its backward with respect to the parameters ``T(jvp(T(jvp)))``. The layer is the flax module
  path under the network.
  """
  parts = op_name.split("/")
  for i, part in enumerate(parts):
    chain, name = _unwrap(part)
    if name.endswith(("Critic", "Generator", "Discriminator")):
      chain = tuple(c for c in chain if c in ("jvp", "transpose"))
      sub = [q for q in parts[i + 1:i + 2] if not q.startswith("jit(")]
      return _chain_label(chain), "/".join([name] + sub)
  chain = ()
  for part in parts:
    c, _ = _unwrap(part)
    chain += tuple(x for x in c if x in ("jvp", "transpose"))
  return _chain_label(chain), "(outside the networks)"


def trace_ops(fn, steps: int, module: str = "jit_train_step") -> tuple[dict, list[float]]:
  """Runs ``fn()`` (one blocked step) ``steps`` times under jax.profiler; returns
  {hlo_op: (total microseconds, number of runs)} over the steps (an op inside the critic loop's
  ``while`` runs n_critic times a step) and the wall time of each step."""
  tmp = tempfile.mkdtemp(prefix="jaxgan_profile_")
  walls = []
  try:
    jax.profiler.start_trace(tmp, create_perfetto_trace=True)
    try:
      for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    finally:
      jax.profiler.stop_trace()
    path = sorted(glob.glob(os.path.join(tmp, "**", "*.trace.json.gz"), recursive=True))[-1]
    with gzip.open(path) as f:
      doc = json.load(f)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  events = doc["traceEvents"] if isinstance(doc, dict) else doc
  totals, counts = collections.Counter(), collections.Counter()
  for e in events:
    a = e.get("args") or {}
    if e.get("ph") == "X" and "hlo_op" in a and a.get("hlo_module", "") == module:
      totals[a["hlo_op"]] += float(e.get("dur", 0.0))
      counts[a["hlo_op"]] += 1
  return {k: (v, counts[k]) for k, v in totals.items()}, walls


def bandwidth_bytes_per_s(n: int = 32 * 1024 * 1024, reps: int = 7) -> float:
  """Median bytes/s (read + written) of a jitted, donated ``x * a + b`` over n float32s (128 MiB):
  the STREAM "scale" kernel, in place, so no fresh buffer's page faults are timed."""
  f = jax.jit(lambda v: v * 1.0001 + 1.0, donate_argnums=0)
  x = f(jnp.ones((n,), jnp.float32))
  x.block_until_ready()
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    x = f(x)
    x.block_until_ready()
    times.append(time.perf_counter() - t0)
  return 2 * 4 * n / statistics.median(times)


def profile_jax(case: common.Case, steps: int, matmul_rate: float, bandwidth: float) -> dict:
  c = common.compile_case(case)
  instrs, comps = parse_hlo(c.fn.as_text())
  st = {"state": c.state}

  def one():
    st["state"], m = c.fn(st["state"], c.reals)
    jax.block_until_ready((st["state"], m))

  one()  # warm-up
  plain = []
  for _ in range(steps):
    t0 = time.perf_counter()
    one()
    plain.append(time.perf_counter() - t0)
  totals, walls = trace_ops(one, steps)
  ops = []
  for name, (us, runs) in totals.items():
    info = classify(name, instrs, comps)
    if info["category"] == "control":
      continue  # a while/call event spans its body's ops, which are counted themselves
    s = us / 1e6 / steps
    per_step = runs / steps
    info["flops"] *= per_step
    info["bytes"] *= per_step
    floor = (info["flops"] / matmul_rate if info["category"] in ("matmul", "conv")
             else info["bytes"] / bandwidth)
    pss, layer = pass_and_layer(info["op_name"])
    # The same ceiling with each dot at the rate the library gives its shape alone.
    shape_floor = (per_step * sum(standalone_dot_s(d) for d in info["dots"])
                   if info["category"] == "matmul" and info["dots"] else floor)
    ops.append({"op": name, "s": s, "runs": per_step, **info, "pass": pss, "layer": layer,
                "floor_s": floor, "shape_floor_s": shape_floor})
  ops.sort(key=lambda o: -o["s"])
  return {"ops": ops, "walls": plain, "profiled_walls": walls, "flops_xla": c.flops,
          "compile_s": c.compile_s}


def profile_torch(case: common.Case, steps: int) -> dict | None:
  """PyTorch's step in a child process: once a profiler (JAX's or PyTorch's) has run in a process,
  PyTorch's eager step there runs ~4x slower for the rest of its life (measured: 3.7 s -> 14-16 s),
  so it is timed and profiled where no profiler ran before."""
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "torch.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-child", out, "--arch", case.arch,
           "--loss", case.loss, "--batch-size", str(case.batch_size), "--steps", str(steps)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0 or not os.path.exists(out):
      print(f"[profile] PyTorch profile failed: {r.stderr.strip()[-500:]}")
      return None
    with open(out) as f:
      return json.load(f)


def _profile_torch_here(case: common.Case, steps: int) -> dict | None:
  try:
    import torch  # pylint: disable=import-outside-toplevel
    import torch_reference  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  _, _, _, _, _, st, jreals = common.setup(case)
  ref = torch_reference.TorchStep(case, st)
  reals = torch_reference.to_torch_images(np.asarray(jreals))
  # Plain timing first (2 warm-up steps: oneDNN builds its primitives on first use).
  plain = torch_reference.time_torch(case, steps, warmup=2, step_obj=ref, reals=reals)
  walls = []
  # No with_flops/record_shapes: they multiply the profiler's per-op overhead (a 3.7 s step ran
  # 14 s with them, 7 s without). Even so the profiler inflates small ops: read shares, not times.
  with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
    for _ in range(steps):
      t0 = time.perf_counter()
      ref.step(reals)
      walls.append(time.perf_counter() - t0)
  ops = []
  for e in prof.key_averages():
    if e.self_cpu_time_total <= 0:
      continue
    key = e.key
    if "convolution" in key and "backward" in key:
      cat = "conv backward"
    elif "conv" in key:
      cat = "conv"
    elif key in ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear"):
      cat = "matmul"
    elif key.startswith("aten::") and any(w in key for w in ("copy", "cat", "pad", "slice",
                                                             "transpose", "contiguous", "clone")):
      cat = "movement"
    elif key.startswith("aten::"):
      cat = "eltwise"
    else:
      cat = "other"
    ops.append({"op": key, "s": e.self_cpu_time_total / 1e6 / steps, "category": cat,
                "calls": e.count // steps})
  ops.sort(key=lambda o: -o["s"])
  return {"ops": ops, "walls": plain, "profiled_walls": walls, "flops": _torch_flops(ref, reals)}


def _torch_flops(ref, reals) -> float:
  """The multiplications PyTorch does in one more step, after the timing: torch.utils.flop_counter's
  formulas (2 per multiply-add of every convolution, its backward and every matmul) applied to
  every dispatched op. Not FlopCounterMode itself: its module hooks fail inside the penalty's
  ``autograd.grad`` ("A leaf node was passed to _will_engine_execute_node")."""
  from torch.utils._python_dispatch import TorchDispatchMode  # pylint: disable=import-outside-toplevel
  from torch.utils.flop_counter import flop_registry  # pylint: disable=import-outside-toplevel

  class Count(TorchDispatchMode):
    total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
      kwargs = kwargs or {}
      out = func(*args, **kwargs)
      formula = flop_registry.get(func._overloadpacket)  # pylint: disable=protected-access
      if formula is not None:
        self.total += formula(*args, **kwargs, out_val=out)
      return out

  with Count() as counter:
    ref.step(reals)
  return float(counter.total)


def _by(ops, key):
  out = collections.OrderedDict()
  for o in ops:
    a = out.setdefault(o[key], {"s": 0.0, "flops": 0.0, "bytes": 0.0, "floor_s": 0.0, "n": 0})
    a["s"] += o["s"]
    a["flops"] += o.get("flops", 0.0)
    a["bytes"] += o.get("bytes", 0.0)
    a["floor_s"] += o.get("floor_s", 0.0)
    a["n"] += 1
  return dict(sorted(out.items(), key=lambda kv: -kv[1]["s"]))


def _table(title, groups, total):
  print(f"\n{title}")
  print(f"{'':28s} {'ms/step':>9s} {'share':>6s} {'GFLOP':>7s} {'GFLOP/s':>8s} {'GB':>6s} "
        f"{'GB/s':>6s} {'floor ms':>8s} {'x floor':>7s}")
  for k, a in groups.items():
    rate = a["flops"] / a["s"] / 1e9 if a["flops"] and a["s"] else float("nan")
    bw = a["bytes"] / a["s"] / 1e9 if a["bytes"] and a["s"] else float("nan")
    xf = a["s"] / a["floor_s"] if a["floor_s"] else float("nan")
    print(f"{k[:28]:28s} {a['s'] * 1e3:9.1f} {a['s'] / total:6.1%} {a['flops'] / 1e9:7.2f} "
          f"{rate:8.1f} {a['bytes'] / 1e9:6.2f} {bw:6.1f} {a['floor_s'] * 1e3:8.1f} {xf:7.1f}")


TARGETS = {"mlp": 1.8, "dcgan32:wgan_gp": 1.3}  # issue 19: the rest of the conv rows 1.2x


def _target(arch: str, loss: str) -> float:
  return TARGETS.get(f"{arch}:{loss}", TARGETS.get(arch, 1.2))


def profile_case(case: common.Case, steps: int, top: int, torch: bool) -> dict:
  """Profiles one case (JAX, then PyTorch in a child process) and prints its tables."""
  mm = common.matmul_flops_per_s()
  bw = bandwidth_bytes_per_s()
  print(f"\n[profile] {case.name}: matmul {mm / 1e9:.1f} GFLOP/s, memory {bw / 1e9:.1f} GB/s "
        f"(load {os.getloadavg()[0]:.2f})", flush=True)
  jx = profile_jax(case, steps, mm, bw)
  wall = statistics.median(jx["walls"])
  total = sum(o["s"] for o in jx["ops"])
  mm_flops = sum(o["flops"] for o in jx["ops"])
  floor_sum = sum(o["floor_s"] for o in jx["ops"])
  shape_floor_sum = sum(o["shape_floor_s"] for o in jx["ops"])
  mm_s = sum(o["s"] for o in jx["ops"] if o["category"] in ("matmul", "conv"))
  dot_ops = [o for o in jx["ops"] if o["category"] == "matmul" and o["dots"]]
  dot_s, dot_alone_s = sum(o["s"] for o in dot_ops), sum(o["shape_floor_s"] for o in dot_ops)
  print(f"[profile] JAX: step {wall:.3f} s wall ({statistics.median(jx['profiled_walls']):.3f} s "
        f"profiled), ops {total:.3f} s ({total / wall:.0%} of wall), {len(jx['ops'])} ops")
  if total < 0.85 * wall and any(o["category"] == "conv" for o in jx["ops"]):
    print(f"[profile] {1 - total / wall:.0%} of the step is in no op's trace event: XLA CPU runs a "
          f"convolution outside a fusion (Eigen's kernel, jaxgan's compile options) on its thread "
          f"pool after the thunk's event has ended, so the 'conv' rows' times are lower bounds and "
          f"the rest of the step is mostly theirs (--xla-options default times them, in YNNPACK)")
  print(f"[profile] executed matmul FLOPs {mm_flops / 1e9:.1f} GFLOP per step (XLA's "
        f"cost_analysis: {jx['flops_xla'] / 1e9:.1f}; it counts a loop body once); at the matmul "
        f"rate {mm_flops / mm:.3f} s = {mm_flops / mm / wall:.0%} of the step")
  print(f"[profile] at both ceilings (matmuls at the matmul rate, the rest at the memory bandwidth) "
        f"the step would take {floor_sum:.3f} s = {floor_sum / wall:.0%} of its time")
  if dot_ops:
    print(f"[profile] the step's dots take {dot_s:.3f} s; the same dots alone, each compiled and "
          f"timed at its own shape, {dot_alone_s:.3f} s ({dot_s / dot_alone_s:.2f}x); with them "
          f"at those rates and the rest at the memory bandwidth the step would take "
          f"{shape_floor_sum:.3f} s = {shape_floor_sum / wall:.0%} of its time")
  _table("JAX by category", _by(jx["ops"], "category"), total)
  _table("JAX by pass", _by(jx["ops"], "pass"), total)
  _table("JAX by layer", dict(list(_by(jx["ops"], "layer").items())[:top]), total)
  print(f"\nJAX top {top} ops")
  for o in jx["ops"][:top]:
    rate = (f"{o['flops'] / o['s'] / 1e9:6.1f} GFLOP/s" if o["flops"]
            else f"{o['bytes'] / o['s'] / 1e9:6.1f} GB/s   ")
    print(f"  {o['s'] * 1e3:8.1f} ms {o['category']:8s} {rate} x{o['s'] / o['floor_s']:5.1f} "
          f"{o['pass']:18s} {o['layer'][:26]:26s} {o['op']}")
  doc = {"case": case.name, "arch": case.arch, "loss": case.loss,
         "matmul_flops_per_s": mm, "bandwidth_bytes_per_s": bw, "load": os.getloadavg()[0],
         "summary": {"jax_s": wall, "matmul_gflop": mm_flops / 1e9, "matmul_s": mm_s,
                     "matmul_rate_of_reference": mm_flops / mm_s / mm if mm_s else None,
                     "floor_s": floor_sum, "matmul_floor_s": mm_flops / mm,
                     "dot_s": dot_s, "dot_alone_s": dot_alone_s, "shape_floor_s": shape_floor_sum,
                     "target": _target(case.arch, case.loss)},
         "jax": jx}
  th = profile_torch(case, steps) if torch else None
  if th is not None:
    tw = statistics.median(th["walls"])
    tt = sum(o["s"] for o in th["ops"])
    pw = statistics.median(th["profiled_walls"])
    print(f"\n[profile] PyTorch: step {tw:.3f} s wall ({pw:.3f} s under its profiler: shares, "
          f"not times), PyTorch/JAX {tw / wall:.2f}; at both ceilings JAX's step could reach "
          f"{tw / floor_sum:.2f}x")
    groups = _by(th["ops"], "category")
    print(f"{'':28s} {'share':>6s} {'~ms/step':>9s}")
    for k, a in groups.items():
      print(f"{k[:28]:28s} {a['s'] / tt:6.1%} {a['s'] / tt * tw * 1e3:9.1f}")
    print(f"\nPyTorch top {top} ops")
    for o in th["ops"][:top]:
      print(f"  {o['s'] / tt:6.1%} {o['category']:14s} x{o['calls']:<4d} {o['op']}")
    doc["torch"] = th
    doc["summary"].update(torch_s=tw, ratio=tw / wall, ratio_at_ceilings=tw / floor_sum,
                          ratio_at_shape_ceilings=tw / shape_floor_sum)
    print(f"[profile] with every dot at its own shape's standalone rate and the rest at the "
          f"memory bandwidth, JAX's step could reach {tw / shape_floor_sum:.2f}x")
    if th.get("flops"):
      doc["summary"].update(torch_gflop=th["flops"] / 1e9,
                            ratio_at_matmul_rate=tw / (mm_flops / mm))
      print(f"[profile] PyTorch multiplies {th['flops'] / 1e9:.1f} GFLOP per step (JAX "
            f"{mm_flops / 1e9:.1f}): its whole step runs them at {th['flops'] / tw / 1e9:.0f} "
            f"GFLOP/s; with nothing but its products at the matmul rate JAX's step could reach "
            f"{tw / (mm_flops / mm):.2f}x")
  return doc


def summary_table(docs: list[dict]) -> str:
  """Markdown: per case the measured ratio, where the time goes and the ratio at the ceilings."""
  lines = ["| step | JAX s | PyTorch s | PyTorch / JAX | GFLOP/step JAX / PyTorch | matmul share "
           "(rate vs 2048² matmul) | JAX at both ceilings s | best PyTorch / JAX at the ceilings "
           "| ... at the matmul rate alone | dots in the step / alone at their shapes "
           "| best PyTorch / JAX with the dots at their shapes' rates | target |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for d in docs:
    s = d["summary"]
    ratio = f"{s['ratio']:.2f}x" if "ratio" in s else "-"
    best = s.get("ratio_at_ceilings")
    verdict = ("-" if best is None else
               f"{best:.2f}x ({'below' if best < s['target'] else 'reaches'} the target)")
    rate = s["matmul_rate_of_reference"]
    flops = f"{s['matmul_gflop']:.0f} / " + (f"{s['torch_gflop']:.0f}" if "torch_gflop" in s
                                             else "-")
    alone = s.get("ratio_at_matmul_rate")
    alone = "-" if alone is None else f"{alone:.2f}x"
    lines.append(
        f"| {d['case']} | {s['jax_s']:.3f} | {s.get('torch_s', float('nan')):.3f} | {ratio} | "
        f"{flops} | {s['matmul_s'] / s['jax_s']:.0%} ({rate:.2f}) | {s['floor_s']:.3f} | "
        f"{verdict} | {alone} | {_shape_cells(s)} | >= {s['target']}x |")
  return "\n".join(lines)


def _shape_cells(s: dict) -> str:
  if not s.get("dot_alone_s"):
    return "- | -"
  ratio = s["dot_s"] / s["dot_alone_s"]
  best = s.get("ratio_at_shape_ceilings")
  verdict = ("-" if best is None else
             f"{best:.2f}x ({'below' if best < s['target'] else 'reaches'} the target)")
  return f"{ratio:.2f}x | {verdict}"


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--arch", default="dcgan32", choices=sorted(common.ARCHS))
  p.add_argument("--loss", default="wgan_gp", choices=sorted(common.LOSSES))
  p.add_argument("--cases", nargs="+", default=None, metavar="ARCH:LOSS",
                 help="profile several cases one after another and print a summary table")
  p.add_argument("--batch-size", type=int, default=None)
  p.add_argument("--loop", default="scan", choices=("scan", "unroll"))
  p.add_argument("--conv-impl", default="im2col", choices=("xla", "im2col", "winograd"))
  p.add_argument("--xla-options", default="jaxgan", choices=common.XLA_OPTIONS,
                 help="compile options: jaxgan's (as the trainer) or XLA's defaults (on CPU its "
                      "convolutions then run in YNNPACK fusions, which the trace times per op)")
  p.add_argument("--steps", type=int, default=2)
  p.add_argument("--top", type=int, default=25)
  p.add_argument("--no-torch", action="store_true")
  p.add_argument("--json", default=None)
  p.add_argument("--markdown", default=None, help="write the summary table here")
  p.add_argument("--torch-child", default=None, help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  pairs = [(args.arch, args.loss)]
  if args.cases:
    pairs = []
    for c in args.cases:
      arch, _, loss = c.partition(":")
      if arch not in common.ARCHS or loss not in common.LOSSES:
        p.error(f"--cases: {c!r} is not ARCH:LOSS with ARCH in {sorted(common.ARCHS)} and LOSS in "
                f"{sorted(common.LOSSES)}")
      pairs.append((arch, loss))
  cases = [common.Case(a, l, args.batch_size or (256 if a in ("mlp", "tiny_mlp") else 64),
                       args.loop, args.conv_impl, xla_options=args.xla_options)
           for a, l in pairs]
  if args.torch_child:
    common.write_json(args.torch_child, _profile_torch_here(cases[0], args.steps))
    return
  docs = [profile_case(c, args.steps, args.top, not args.no_torch) for c in cases]
  table = summary_table(docs)
  print("\n" + table)
  if args.markdown:
    with open(args.markdown, "w") as f:
      f.write(table + "\n")
  if args.json:
    common.write_json(args.json, {"cases": docs} if len(docs) > 1 else docs[0])


if __name__ == "__main__":
  main()

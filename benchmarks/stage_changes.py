"""Wall time of the steps around each PGGAN stage change, against as many steps mid-stage.

  python benchmarks/stage_changes.py [--configs digits_pggan cifar10_pggan] [--window 50]
      [--steps-per-phase N] [--json runs/benchmarks/stage_changes.json]
      [--markdown runs/benchmarks/stage_changes.md] [--workdir DIR]

Each config trains with ``jaxgan.train.train_and_evaluate`` exactly as ``jaxgan train`` would (the
compile and warm-up run of the later stages' steps, the Adam resets, the input pipeline), from a
cold start: JAX's persistent compilation cache is off, so every stage's step is compiled in this
run. The trainer logs every step (``log_every=1``: each step is synchronised, the same in every
window), and the time each step's record is written is taken as the step's end. For every stage
change (the first step ``b`` of a fade-in, where a new resolution and so a new compiled step begins)
it reports the wall time of the ``--window`` steps around it (``b - window/2 .. b + window/2 - 1``)
against ``--window`` steps in the middle of the phase before (the last stable phase of the old
resolution) and of the phase after (the fade-in of the new one):

  ratio = T(around) / (T(mid before) / 2 + T(mid after) / 2)

(half the window runs at each resolution, so the reference is the mean of the two). Target: <= 1.2.
The ratio compares windows minutes apart, so on shared cores it moves with the load. The one-off
cost of the change itself is reported apart, from the window alone: ``excess`` is the window's time
minus ``window/2`` times the median step time of its own steps before the change plus ``window/2``
times that of its steps after the change (first step excluded), i.e. the seconds the change adds to
steps running at their typical speed; ``first step`` is the first new-resolution step's time and the
median step it is compared with.
The trainer's record of the time it waited for a stage's compile (``compile_wait_s``) is reported.

The configs, shrunk to run in minutes on 2 CPU cores (every other field as shipped); each run stops
with its last window in the middle of the last fade-in:
  * ``digits_pggan`` (4x4 -> 8x8, one change): networks and schedule as shipped (235 steps per
    phase at batch 64), 377 steps.
  * ``cifar10_pggan`` (4x4 -> 32x32, three changes): 32 feature maps at every resolution
    (``fmap_max`` 32; shipped: 512), ``latent_dim`` 128 (512), batch 32 everywhere (64), 150 steps
    per fade and per stable phase (4,800 images; shipped: 400,000), 850 steps; the real data are
    512 random 32x32 PNGs built as a local ``cifar10`` TFDS dataset (no download;
    ``io_throughput.build_cifar_like``).
``--steps-per-phase N`` sets both configs' phases to N steps (a quicker run: N >= 2 * window).
The runs go one after the other (never in parallel). Progress lines go to stdout (the trainer's own
'[jaxgan]' lines are forwarded; its per-step lines go to ``<workdir>/<config>/train.log``). The
load average is recorded at the start and end of every run: on a shared machine the ratio, not the
absolute rate, is the number to compare.

Output: a markdown table (stdout, and ``--markdown PATH``) and ``--json PATH``: {"machine": ...,
"runs": [{config, overrides, wall_s, load_before, load_after, step_end_s: [...], compile_wait_s}],
"changes": [{config, step, from_resolution, to_resolution, window, around_s, mid_before_s,
mid_after_s, ratio, excess_s, first_step_s, median_step_before_s, median_step_after_s,
compile_wait_s, load_before, load_after}]}.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import jax

jax.config.update("jax_enable_compilation_cache", False)  # every stage compiles in the run

from jaxgan import config as config_lib  # pylint: disable=wrong-import-position
from jaxgan import growing  # pylint: disable=wrong-import-position
from jaxgan import train as train_lib  # pylint: disable=wrong-import-position
from jaxgan import writers  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Shrunk settings (see the module docstring): log every step, no evaluation but the final one
# (small), no intermediate checkpoints; then each config's own changes and phase length in steps.
COMMON = {"log_every": 1, "eval_every": 0, "checkpoint_every": 100_000, "eval_samples": 64}
SHRUNK = {
    "digits_pggan": {},
    "cifar10_pggan": {"fmap_max": 32, "latent_dim": 128, "batch_size": 32,
                      "batch_by_resolution": "4:32,8:32,16:32,32:32"},
}
STEPS_PER_PHASE = {"digits_pggan": None, "cifar10_pggan": 150}  # None: as shipped
CIFAR_IMAGES = 512


class _Console(io.TextIOBase):
  """The trainer's stdout: every line to a log file, '[jaxgan]' lines also to the console."""

  def __init__(self, path: str, console):
    self.file = open(path, "w")  # pylint: disable=consider-using-with
    self.console = console
    self.pending = ""

  def write(self, s: str) -> int:
    self.file.write(s)
    self.pending += s
    *lines, self.pending = self.pending.split("\n")
    for line in lines:
      if line.startswith("[jaxgan]"):
        self.console.write(f"    {line}\n")
        self.console.flush()
    return len(s)

  def flush(self) -> None:
    self.file.flush()

  def close(self) -> None:
    super().close()
    self.file.close()


def _progress(msg: str) -> None:
  print(f"[stage_changes] {msg}", file=sys.__stdout__, flush=True)


def _load() -> float:
  return round(os.getloadavg()[0], 2)


def make_config(name: str, data_dir: str | None, steps_per_phase: int | None, window: int):
  """The shrunk config; ``num_steps`` ends the run with a window in the middle of the last fade."""
  config = config_lib.load_config(name)
  for k, v in {**COMMON, **SHRUNK[name]}.items():
    config[k] = v
  if steps_per_phase:
    config.images_per_fade = config.images_per_stable = steps_per_phase * config.batch_size
  if data_dir:
    config.data_dir = data_dir
  schedule = growing.Schedule(config, 8 if name == "digits_pggan" else 32)
  last_fade = [p for p in schedule.phases if p.fade][-1]
  config.num_steps = last_fade.start + last_fade.num_steps // 2 + window // 2
  return config_lib.validate(config)


def run_config(name: str, workdir: str, data_dir: str | None, steps_per_phase: int | None,
               window: int) -> dict:
  """Trains ``name`` (shrunk) in ``workdir``; returns the end time of every step (seconds from the
  start of ``train_and_evaluate``) and the trainer's compile-wait records."""
  config = make_config(name, data_dir, steps_per_phase, window)
  ends: dict[int, float] = {}
  waits: dict[int, float] = {}
  original = train_lib._Logs.train  # pylint: disable=protected-access
  t0 = time.perf_counter()
  last = [None, 0]  # time and step of the previous progress line

  def timed_train(self, done, metrics, data):
    now = time.perf_counter()
    ends[done - 1] = now - t0
    original(self, done, metrics, data)
    if done % 50 == 0 or done == config.num_steps:
      res = self.run.schedule.resolutions[self.run.schedule.phase(done - 1).stage]
      n = done - last[1]
      rate = (f"last {n} steps {n / max(now - last[0], 1e-9):.1f} steps/s" if last[0] else
              f"{now - t0:.0f} s from the start (compiles included)")
      _progress(f"{name}: step {done}/{config.num_steps} ({res}x{res}), {rate}, load {_load()}")
      last[0], last[1] = now, done

  train_lib._Logs.train = timed_train  # pylint: disable=protected-access
  log_path = os.path.join(workdir, "train.log")
  os.makedirs(workdir, exist_ok=True)
  console = _Console(log_path, sys.__stdout__)
  load_before = _load()
  try:
    with contextlib.redirect_stdout(console):
      train_lib.train_and_evaluate(config, workdir)
  finally:
    train_lib._Logs.train = original  # pylint: disable=protected-access
    console.close()
  wall = time.perf_counter() - t0
  for line in open(os.path.join(workdir, writers.METRICS_FILE)):
    r = json.loads(line)
    if r.get("kind") == "train" and "compile_wait_s" in r:
      waits[r["step"] - 1] = r["compile_wait_s"]
  overrides = {k: config[k] for k in (*COMMON, *SHRUNK[name], "images_per_fade",
                                      "images_per_stable", "num_steps")}
  return {"config": name, "overrides": overrides, "wall_s": wall,
          "load_before": load_before, "load_after": _load(), "log": log_path,
          "step_end_s": [ends[t] for t in range(config.num_steps)], "compile_wait_s": waits,
          "schedule": growing.Schedule(config, 8 if name == "digits_pggan" else 32)}


def _window_s(ends: list[float], first: int, n: int) -> float:
  """Wall time of steps first .. first + n - 1 (from the end of step first - 1)."""
  return ends[first + n - 1] - ends[first - 1]


def changes(run: dict, window: int) -> list[dict]:
  schedule, ends, half = run["schedule"], run["step_end_s"], window // 2
  out = []
  for i, phase in enumerate(schedule.phases):
    if not phase.fade:
      continue
    before, b = schedule.phases[i - 1], phase.start
    mid_before = before.start + before.num_steps // 2 - half
    mid_after = phase.start + phase.num_steps // 2 - half
    if mid_after + window > len(ends) or min(mid_before, b - half) < 1:
      continue
    around = _window_s(ends, b - half, window)
    t_before = _window_s(ends, mid_before, window)
    t_after = _window_s(ends, mid_after, window)
    steps = [ends[t] - ends[t - 1] for t in range(b - half, b + half)]  # the window's steps
    median_before = statistics.median(steps[:half])
    median_after = statistics.median(steps[half + 1:])
    excess = around - half * (median_before + median_after)
    waits = run["compile_wait_s"]
    wait = (waits.get(b - half + window - 1, 0.0) - waits.get(b - half - 1, 0.0)) if waits else None
    out.append({"config": run["config"], "step": b,
                "from_resolution": schedule.resolutions[phase.stage - 1],
                "to_resolution": schedule.resolutions[phase.stage], "window": window,
                "around_s": around, "mid_before_s": t_before, "mid_after_s": t_after,
                "mid_before_steps": [mid_before, mid_before + window - 1],
                "mid_after_steps": [mid_after, mid_after + window - 1],
                "ratio": around / (t_before / 2 + t_after / 2), "excess_s": excess,
                "first_step_s": steps[half], "median_step_before_s": median_before,
                "median_step_after_s": median_after, "compile_wait_s": wait,
                "load_before": run["load_before"], "load_after": run["load_after"]})
  return out


def markdown(rows: list[dict], runs: list[dict]) -> str:
  lines = ["| config | change (step) | mid before | around | mid after | ratio | excess | "
           "first step (median before / after) | compile wait | load (start/end) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  for r in rows:
    wait = "n/a" if r["compile_wait_s"] is None else f"{r['compile_wait_s']:.1f} s"
    lines.append(
        f"| {r['config']} | {r['from_resolution']}->{r['to_resolution']} ({r['step']}) | "
        f"{r['mid_before_s']:.2f} s | {r['around_s']:.2f} s | {r['mid_after_s']:.2f} s | "
        f"**{r['ratio']:.2f}x** | {r['excess_s']:+.2f} s | {1e3 * r['first_step_s']:.0f} ms "
        f"({1e3 * r['median_step_before_s']:.0f} / {1e3 * r['median_step_after_s']:.0f}) | "
        f"{wait} | {r['load_before']}/{r['load_after']} |")
  lines.append("")
  lines.append("Wall time of {w} steps; whole runs: {runs}.".format(
      w=rows[0]["window"] if rows else "-",
      runs=", ".join(f"{r['config']} {r['wall_s']:.0f} s" for r in runs)))
  return "\n".join(lines)


def main(argv=None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--configs", nargs="+", default=list(SHRUNK), choices=list(SHRUNK))
  p.add_argument("--window", type=int, default=50, help="steps per window (even)")
  p.add_argument("--steps-per-phase", type=int, default=None,
                 help="steps per fade and per stable phase (default: digits_pggan as shipped, 235; "
                      "cifar10_pggan 150)")
  p.add_argument("--workdir", default=None, help="default: a temporary folder, removed at the end")
  p.add_argument("--json", default=None)
  p.add_argument("--markdown", default=None)
  args = p.parse_args(argv)
  if args.window < 2 or args.window % 2:
    p.error(f"--window must be an even number >= 2; got {args.window}")
  if args.steps_per_phase is not None and args.steps_per_phase < 2 * args.window:
    p.error(f"--steps-per-phase must be >= 2 * --window ({2 * args.window}); got "
            f"{args.steps_per_phase}")
  with contextlib.ExitStack() as stack:
    root = args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="stage_changes_"))
    _progress(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs, load "
              f"{_load()}; work in {root}")
    runs = []
    for name in args.configs:
      data_dir = None
      if name == "cifar10_pggan":
        import io_throughput  # pylint: disable=import-outside-toplevel,import-error
        data_dir = os.path.join(root, "tfds")
        if not os.path.isdir(os.path.join(data_dir, "cifar10")):
          _progress(f"building a local cifar10 of {CIFAR_IMAGES} random PNGs in {data_dir}")
          io_throughput.build_cifar_like(data_dir, CIFAR_IMAGES)
      phase = args.steps_per_phase or STEPS_PER_PHASE[name]
      _progress(f"{name}: training with {SHRUNK[name]}, {phase or 'shipped'} steps per phase "
                f"(load {_load()})")
      runs.append(run_config(name, os.path.join(root, name), data_dir, phase, args.window))
      _progress(f"{name}: done in {runs[-1]['wall_s']:.0f} s (load {runs[-1]['load_after']})")
    rows = [row for run in runs for row in changes(run, args.window)]
  table = markdown(rows, runs)
  print(table, flush=True)
  for run in runs:
    run.pop("schedule")
  doc = {"machine": {"backend": jax.default_backend(), "cpus": os.cpu_count(),
                     "platform": platform.platform(), "jax": jax.__version__,
                     "argv": sys.argv[1:] if argv is None else argv},
         "runs": runs, "changes": rows}
  if args.json:
    writers.write_json(args.json, doc)
  if args.markdown:
    os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
    with open(args.markdown, "w") as f:
      f.write(table + "\n")
  return doc


if __name__ == "__main__":
  main()

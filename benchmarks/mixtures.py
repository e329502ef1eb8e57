"""Mode coverage on the 2-D Gaussian mixtures (ring8, grid25): configs x seeds, PacGAN's protocol.

Trains every config for every seed, each in its own fresh workdir (``OUT/<config>/seed<S>``, deleted
first when it exists), through the ``jaxgan train`` command in a subprocess, so the wall time counted is
what a user waits for: start-up, compilation, training, evaluations and checkpoints. Collects the final
evaluation record of each run (2,500 samples; high quality = within 3 std of the nearest mode; a mode is
captured when it is the nearest mode of at least one high-quality sample) and writes:

  OUT/results.json   one entry per run (config, seed, final eval record, wall seconds) and the summary;
  OUT/table.md       mean +- std over seeds of modes, % high quality, KL, minutes per run, next to the
                     published anchors of PacGAN (Lin et al. 2018, table 2); also printed.

Command (the full benchmark, 4 configs x 3 seeds, ~35 minutes on 2 CPU cores):

  python benchmarks/mixtures.py

Smoke version (a few steps per run, checks the plumbing only; ~2 minutes):

  python benchmarks/mixtures.py --quick

Other uses: ``--configs ring8_wgan_gp --seeds 0 1 --out runs/benchmarks/ring``; screening a change
on every run: ``--set ema_decay=0.9997 num_steps=30000`` (passed as ``--config.FIELD=VALUE``; recorded
in results.json and table.md). Each run records its wall time and the (1, 5, 15)-minute load averages
when it started and ended, since the cores are often shared.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

DEFAULT_CONFIGS = ("ring8_wgan_gp", "grid25_wgan_gp", "ring8_gan", "grid25_gan")

# PacGAN (Lin et al. 2018), table 2: (method, modes, % high quality) per dataset.
ANCHORS = {
    "ring8": [("GAN", 1.0, 99.3), ("Unrolled GAN", 7.6, 35.6), ("VEEGAN", 8.0, 52.9),
              ("WGAN-GP (PacGAN's run)", 6.8, 59.6), ("PacGAN4", 7.8, 95.9)],
    "grid25": [("GAN", 3.3, 0.5), ("Unrolled GAN", 23.6, 16.0), ("VEEGAN", 24.6, 40.0),
               ("WGAN-GP (PacGAN's run)", 24.2, 28.7), ("PacGAN2", 24.8, 93.6)],
}
# The anchor each config is compared with in the table, and the targets (modes, % HQ).
ROW_ANCHOR = {"gan": "GAN", "nsgan": "GAN", "wgan_gp": "WGAN-GP (PacGAN's run)"}
TARGETS = {("ring8", "wgan_gp"): (8.0, 98.0), ("grid25", "wgan_gp"): (25.0, 96.0)}  # issue 18

QUICK_OVERRIDES = ("--config.num_steps=20", "--config.log_every=10", "--config.eval_every=0",
                   "--config.checkpoint_every=20")


def _load_config(name: str):
  from jaxgan import config as config_lib  # pylint: disable=import-outside-toplevel
  return config_lib.load_config(name)


def train_one(config: str, seed: int, workdir: str, extra: list[str], log_path: str) -> tuple[dict, float]:
  """Runs ``jaxgan train`` for one config and seed; returns (final eval record, wall seconds)."""
  if os.path.exists(workdir):
    shutil.rmtree(workdir)
  os.makedirs(workdir)
  cmd = [sys.executable, "-m", "jaxgan.cli", "train", "--config", config, "--workdir", workdir,
         f"--config.seed={seed}", *extra]
  t0 = time.time()
  with open(log_path, "w") as log:
    log.write(" ".join(cmd) + "\n")
    log.flush()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
  wall = time.time() - t0
  if proc.returncode != 0:
    raise RuntimeError(f"{config} seed {seed} failed (exit {proc.returncode}); see {log_path}")
  evals = []
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    for line in f:
      record = json.loads(line)
      if record.get("kind") == "eval":
        evals.append(record)
  if not evals:
    raise RuntimeError(f"{config} seed {seed}: no eval record in {workdir}/metrics.jsonl")
  return evals[-1], wall


def _mean_std(values: list[float]) -> tuple[float, float]:
  values = [float(v) for v in values]
  if not values:
    return math.nan, math.nan
  if not all(math.isfinite(v) for v in values):  # e.g. KL 'inf' of a run without a high-quality sample
    return sum(values) / len(values), math.nan
  return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(runs: list[dict]) -> list[dict]:
  rows = []
  for config in dict.fromkeys(r["config"] for r in runs):
    mine = [r for r in runs if r["config"] == config]
    rows.append({
        "config": config,
        "dataset": mine[0]["dataset"],
        "loss": mine[0]["loss"],
        "seeds": [r["seed"] for r in mine],
        "modes": _mean_std([r["eval"]["modes_captured"] for r in mine]),
        "num_modes": mine[0]["eval"]["num_modes"],
        "hq_percent": _mean_std([100 * r["eval"]["high_quality_fraction"] for r in mine]),
        "kl": _mean_std([float(r["eval"]["kl_to_uniform"]) for r in mine]),  # "inf" when no HQ sample
        "minutes": _mean_std([r["wall_s"] / 60 for r in mine]),
        "max_minutes": max(r["wall_s"] / 60 for r in mine),
    })
  return rows


def _pm(ms: tuple[float, float], digits: int) -> str:
  return f"{ms[0]:.{digits}f} ± {ms[1]:.{digits}f}"


def table(rows: list[dict], runs: list[dict], quick: bool, overrides=()) -> str:
  lines = []
  if quick:
    lines.append("**QUICK smoke run (a few steps): the numbers mean nothing.**\n")
  if overrides:
    lines.append(f"Config overrides in every run: {' '.join(overrides)}\n")
  lines.append("| config | seeds | modes | % high quality | KL to uniform | min / run (max) | "
               "published anchor (modes / % HQ) | target |")
  lines.append("|---|---|---|---|---|---|---|---|")
  for row in rows:
    anchor_name = ROW_ANCHOR.get(row["loss"])
    anchor = next((a for a in ANCHORS.get(row["dataset"], []) if a[0] == anchor_name), None)
    anchor_text = f"{anchor[0]} {anchor[1]:g} / {anchor[2]:g}" if anchor else "-"
    target = TARGETS.get((row["dataset"], row["loss"]))
    target_text = f"{target[0]:g} / ≥ {target[1]:g}" if target else "-"
    lines.append(
        f"| {row['config']} | {len(row['seeds'])} | {_pm(row['modes'], 1)} / {row['num_modes']} | "
        f"{_pm(row['hq_percent'], 1)} | {_pm(row['kl'], 3)} | {_pm(row['minutes'], 1)} "
        f"({row['max_minutes']:.1f}) | {anchor_text} | {target_text} |")
  lines.append("")
  lines.append("Per run (final evaluation, EMA generator where the config keeps one):")
  lines.append("")
  lines.append("| config | seed | modes | % high quality | KL | wall min | "
               "load (5-min avg at end) |")
  lines.append("|---|---|---|---|---|---|---|")
  for r in runs:
    e = r["eval"]
    lines.append(f"| {r['config']} | {r['seed']} | {e['modes_captured']}/{e['num_modes']} | "
                 f"{100 * e['high_quality_fraction']:.1f} | {float(e['kl_to_uniform']):.3f} | "
                 f"{r['wall_s'] / 60:.2f} | {r['load_after'][1]:.1f} |")
  lines.append("")
  lines.append("Published anchors (PacGAN, Lin et al. 2018, table 2; modes / % high quality):")
  lines.append("")
  for dataset, anchors in ANCHORS.items():
    lines.append(f"- {dataset}: " + "; ".join(f"{n} {m:g} / {h:g}" for n, m, h in anchors))
  lines.append("")
  lines.append("Protocol: 2,500 samples; high quality = within 3 std of the nearest mode (ring8 std "
               "0.01, grid25 std 0.05); a mode is captured when it is the nearest mode of at least one "
               "high-quality sample; KL of the high-quality samples' nearest-mode histogram to uniform. "
               f"Wall time per run includes start-up, compilation, evaluations and checkpoints "
               f"({os.cpu_count()} CPU cores, {platform.machine()}).")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
  parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--out", default=None,
                      help="output folder (default runs/benchmarks/mixtures; "
                           "runs/benchmarks/mixtures_quick with --quick)")
  parser.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE",
                      help="config overrides for every run, e.g. --set ema_decay=0.9997 "
                           "num_steps=30000 (screening; recorded in results.json and table.md)")
  parser.add_argument("--quick", action="store_true",
                      help="smoke test: 20 steps per run, no intermediate evaluation")
  args = parser.parse_args(argv)
  out = args.out or ("runs/benchmarks/mixtures_quick" if args.quick else "runs/benchmarks/mixtures")
  os.makedirs(out, exist_ok=True)
  extra = list(QUICK_OVERRIDES) if args.quick else []
  for item in args.set:
    if "=" not in item:
      parser.error(f"--set: {item!r} is not FIELD=VALUE")
    extra.append(f"--config.{item}")

  runs = []
  for config in args.configs:
    c = _load_config(config)
    for seed in args.seeds:
      workdir = os.path.join(out, config, f"seed{seed}")
      log_path = os.path.join(out, f"{config}_seed{seed}.log")
      print(f"[mixtures] {config} seed {seed} -> {workdir}", flush=True)
      load_before = os.getloadavg()
      record, wall = train_one(config, seed, workdir, extra, log_path)
      runs.append({"config": config, "dataset": c.dataset, "loss": c.loss, "seed": seed,
                   "workdir": workdir, "wall_s": wall, "eval": record,
                   # (1, 5, 15)-minute load averages when the run started and ended
                   "load_before": load_before, "load_after": os.getloadavg()})
      print(f"[mixtures]   modes {record['modes_captured']}/{record['num_modes']}, high quality "
            f"{100 * record['high_quality_fraction']:.1f}%, KL {float(record['kl_to_uniform']):.3f}, "
            f"{wall / 60:.2f} min, load {runs[-1]['load_after'][1]:.1f} (5-min average at the "
            f"end)", flush=True)
      # Write as we go, so an interrupted benchmark keeps what it measured.
      rows = summarise(runs)
      with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                   "quick": args.quick, "overrides": args.set, "cpu_count": os.cpu_count(),
                   "runs": runs,
                   "summary": rows}, f, indent=2)
      with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table(rows, runs, args.quick, args.set))
  text = table(summarise(runs), runs, args.quick, args.set)
  print(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())

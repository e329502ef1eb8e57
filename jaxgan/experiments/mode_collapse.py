"""Mode collapse: the BCE GAN drops and hops between modes; WGAN-GP (and SNGAN) keep them.

Claim tested (the notes, "Mode collapse"): real data is multimodal (handwritten digits have ten
modes). A generator trained with the BCE loss can fool a discriminator stuck in a local minimum by
producing only one or a few modes (e.g. only 1s and 7s), then hops between modes as the
discriminator catches up. The W-loss with a 1-Lipschitz critic (WGAN-GP), or spectral
normalization (SNGAN), is the remedy the notes teach.

What the papers showed: the unrolled-GAN, VEEGAN and PacGAN papers measure mode collapse on 2-D
mixtures (a ring of 8 and a grid of 25 Gaussians): PacGAN's table 2 (Lin et al. 2018) has the BCE
GAN at 1/8 modes on the ring and 3.3/25 on the grid with the VEEGAN protocol (2,500 samples; high
quality = within 3 std of a mode; a mode is captured by one high-quality sample). The WGAN paper
(section 4.3 and figure 6) reports no mode collapse in any WGAN experiment; WGAN-GP captures all
modes of its toy sets (figure 1). Metz et al. (unrolled GAN, figure 1) show the BCE generator
rotating from mode to mode over training.

What this experiment runs, through ``jaxgan.train.train_and_evaluate`` with the configs
``{ring8,grid25}_{gan,wgan_gp,sngan}`` and ``digits_{gan,wgan_gp}`` (the BCE runs use the
non-saturating generator loss, the form everyone trains): evaluations and checkpoints every
``num_steps / SNAPSHOTS`` steps. For the mixtures each checkpoint is restored, 2,500 samples are drawn
and ``jaxgan.metrics.modes.mode_metrics`` gives modes captured, high-quality fraction, reverse KL to
uniform and the per-mode histogram (whose largest mode, step to step, shows hopping). For digits the
evaluation records give the class histogram of 1,000 samples under the fixed digits classifier.

Command:  python -m jaxgan.experiments.mode_collapse [--workdir DIR] [--quick]
              [--only ring8,grid25,digits] [--no-sngan] [--num-steps N]
          The figure in docs/figures/mode_collapse.png: ``--only ring8,grid25`` (the six rows BCE /
          WGAN-GP / SNGAN on the ring and on the grid, at the configs' own lengths).
Runtime:  quick: ring8 only, 300 steps per run, 4 snapshots (under a minute). Full: the configs' own
          step counts (ring8 and grid25 together ~25 minutes on 2 CPU cores; digits ~10); ``--only``
          picks.
Outputs:  mode_collapse.png (2-D snapshots over training), mode_collapse_digits.png (class
          histograms over training and final samples, when digits ran), mode_collapse.json (final
          numbers, numbers at every snapshot, and a ``claims`` block: each claim on the mixtures as
          a boolean with the numbers that decide it, see :func:`claims`), and the runs in
          runs/<config>/ under the workdir.
"""

from __future__ import annotations

import os
import time

import matplotlib.image
import numpy as np

from jaxgan import config as config_lib
from jaxgan import data
from jaxgan.experiments import _common
from jaxgan.metrics import modes as mode_lib

NAME = "mode_collapse"
DATASETS = ("ring8", "grid25", "digits")
SNAPSHOTS = 6          # evaluations (and checkpoints) per run
EVAL_SAMPLES = 2500    # the PacGAN protocol
PLOT_SAMPLES = 600


def methods_for(dataset: str, sngan: bool) -> tuple[str, ...]:
  if dataset == "digits" or not sngan:
    return ("gan", "wgan_gp")
  return ("gan", "wgan_gp", "sngan")


def make_config(dataset: str, method: str, quick: bool, num_steps: int | None = None):
  config = config_lib.load_config(f"{dataset}_{method}")
  if quick:
    config.num_steps = 300 if dataset != "digits" else 60
  if num_steps:
    config.num_steps = num_steps
  every = max(1, config.num_steps // (4 if quick else SNAPSHOTS))
  config.eval_every = every
  config.checkpoint_every = every
  config.log_every = every
  config.keep_checkpoints = SNAPSHOTS + 2
  if dataset != "digits":
    config.eval_samples = EVAL_SAMPLES
  elif quick:
    config.eval_samples = 200
  return config


def toy_snapshots(config, workdir: str, records) -> list[dict]:
  """Mode metrics and samples at every evaluated (and checkpointed) step."""
  steps = [r["step"] for r in _common.eval_records(records)]
  ds = data.make_dataset(config.dataset, config.seed)
  restored = _common.checkpoint_samples(config, workdir, steps, EVAL_SAMPLES, config.seed + 1)
  out = []
  for step in steps:
    if step not in restored:
      continue
    samples = restored[step][1]
    m = mode_lib.mode_metrics(samples, ds.modes.centers, ds.modes.std)
    hist = np.asarray(m["mode_histogram"])
    out.append({"step": step, "samples": samples[:PLOT_SAMPLES],
                "modes_captured": m["modes_captured"], "num_modes": m["num_modes"],
                "high_quality_fraction": m["high_quality_fraction"],
                "kl_to_uniform": m["kl_to_uniform"], "mode_histogram": m["mode_histogram"],
                "largest_mode": int(np.argmax(hist)) if hist.sum() else -1,
                "largest_mode_share": float(hist.max() / hist.sum()) if hist.sum() else 0.0})
  return out


def hops(snapshots: list[dict]) -> int:
  """How often the mode holding most high-quality samples changes from one snapshot to the next."""
  tops = [s["largest_mode"] for s in snapshots if s["largest_mode"] >= 0]
  return int(sum(a != b for a, b in zip(tops, tops[1:])))


def _modes_over_training(row: dict) -> list[int]:
  return [int(s["modes_captured"]) for s in row["over_training"]]


def claims(table: dict[str, dict]) -> dict[str, dict]:
  """The experiment's claims on the mixtures, each decided from ``table`` (the JSON's final numbers
  and snapshots): ``{name: {"holds": bool, "statement": str, "numbers": {...}}}``.

  Per dataset D (ring8, grid25) whose BCE and WGAN-GP runs are in the table:
    D_wgan_gp_covers_all_modes           WGAN-GP's final modes == the mixture's modes;
    D_wgan_gp_keeps_all_modes            once WGAN-GP has every mode at a snapshot, it has every
                                         mode at every later snapshot;
    D_bce_ends_with_fewer_modes          BCE's final modes < WGAN-GP's final modes;
    D_bce_loses_modes                    BCE has fewer modes at some snapshot than at an earlier one
                                         (it drops modes it had, not only fails to reach them yet);
    D_bce_lower_high_quality             BCE's final high-quality fraction < WGAN-GP's;
    D_sngan_covers_all_modes             (when SNGAN ran) SNGAN's final modes == the mixture's
                                         modes.
  A claim that does not hold is reported with ``holds: False``, not dropped: docs/claims.md states
  only the claims the committed full run supports (tests/test_experiments.py checks that).
  """
  out = {}
  for dataset in ("ring8", "grid25"):
    gan, wgan = table.get(f"{dataset}_gan"), table.get(f"{dataset}_wgan_gp")
    if not (gan and wgan):
      continue
    n = int(wgan["num_modes"])
    g_modes, w_modes = _modes_over_training(gan), _modes_over_training(wgan)
    g_final, w_final = int(gan["modes_captured"]), int(wgan["modes_captured"])
    first_full = next((i for i, m in enumerate(w_modes) if m == n), None)
    out[f"{dataset}_wgan_gp_covers_all_modes"] = {
        "holds": w_final == n, "statement": f"WGAN-GP ends with all {n} modes",
        "numbers": {"wgan_gp_final_modes": w_final, "num_modes": n}}
    out[f"{dataset}_wgan_gp_keeps_all_modes"] = {
        "holds": first_full is not None and all(m == n for m in w_modes[first_full:]),
        "statement": f"once WGAN-GP has all {n} modes it keeps them at every later snapshot",
        "numbers": {"wgan_gp_modes_over_training": w_modes, "num_modes": n}}
    out[f"{dataset}_bce_ends_with_fewer_modes"] = {
        "holds": g_final < w_final,
        "statement": "the BCE GAN ends with fewer modes than WGAN-GP",
        "numbers": {"bce_final_modes": g_final, "wgan_gp_final_modes": w_final, "num_modes": n}}
    out[f"{dataset}_bce_loses_modes"] = {
        "holds": any(later < earlier
                     for i, earlier in enumerate(g_modes) for later in g_modes[i + 1:]),
        "statement": "the BCE GAN drops modes it had captured at an earlier snapshot",
        "numbers": {"bce_modes_over_training": g_modes, "num_modes": n}}
    out[f"{dataset}_bce_lower_high_quality"] = {
        "holds": gan["high_quality_fraction"] < wgan["high_quality_fraction"],
        "statement": "the BCE GAN ends with a smaller high-quality fraction than WGAN-GP",
        "numbers": {"bce_high_quality_fraction": gan["high_quality_fraction"],
                    "wgan_gp_high_quality_fraction": wgan["high_quality_fraction"]}}
    sngan = table.get(f"{dataset}_sngan")
    if sngan:
      out[f"{dataset}_sngan_covers_all_modes"] = {
          "holds": int(sngan["modes_captured"]) == n, "statement": f"SNGAN ends with all {n} modes",
          "numbers": {"sngan_final_modes": int(sngan["modes_captured"]), "num_modes": n,
                      "sngan_high_quality_fraction": sngan["high_quality_fraction"]}}
  return out


ROW_LABELS = {"gan": "BCE GAN", "wgan_gp": "WGAN-GP", "sngan": "SNGAN"}


def plot_toy(path: str, runs: dict[str, dict]) -> str:
  names = list(runs)
  cols = max(len(r["snapshots"]) for r in runs.values())
  fig = _common.figure(2.1 * cols + 0.6, 2.25 * len(names) + 0.4)
  for i, name in enumerate(names):
    run = runs[name]
    ds = data.make_dataset(run["dataset"], 0)
    centers = ds.modes.centers
    lim = float(np.abs(centers).max()) * 1.35
    for j, snap in enumerate(run["snapshots"]):
      ax = fig.add_subplot(len(names), cols, i * cols + j + 1)
      s = np.clip(snap["samples"], -lim, lim)
      ax.scatter(s[:, 0], s[:, 1], s=1.5, c="green", alpha=0.5, linewidths=0)
      ax.scatter(centers[:, 0], centers[:, 1], s=12, c="black", marker="x", linewidths=0.8)
      ax.set_xlim(-lim, lim)
      ax.set_ylim(-lim, lim)
      ax.set_aspect("equal")
      ax.set_xticks([])
      ax.set_yticks([])
      ax.set_title(f"step {snap['step']}: {snap['modes_captured']}/{snap['num_modes']} modes, "
                   f"HQ {100 * snap['high_quality_fraction']:.0f}%", fontsize=7)
      if j == 0:
        dataset, method = name.split("_", 1)
        ax.set_ylabel(f"{dataset}: {ROW_LABELS.get(method, method)}", fontsize=9)
  fig.suptitle("generated samples over training (black x: the modes); BCE GAN rows vs WGAN-GP / "
               "SNGAN rows", fontsize=10)
  fig.tight_layout(rect=(0, 0, 1, 0.97))
  return _common.save_figure(fig, path)


def plot_digits(path: str, runs: dict[str, dict]) -> str:
  names = list(runs)
  fig = _common.figure(6.0 * len(names), 7.6)
  for i, name in enumerate(names):
    run = runs[name]
    evals = run["evals"]
    hist = np.asarray([e["class_histogram"] for e in evals], np.float64)
    frac = hist / np.maximum(hist.sum(axis=1, keepdims=True), 1)
    ax = fig.add_subplot(2, len(names), i + 1)
    im = ax.imshow(frac.T, aspect="auto", cmap="viridis", vmin=0, vmax=max(0.3, frac.max()),
                   origin="lower")
    ax.set_xticks(range(len(evals)))
    ax.set_xticklabels([str(e["step"]) for e in evals], fontsize=7, rotation=45)
    ax.set_yticks(range(10))
    ax.set_xlabel("training step")
    ax.set_ylabel("digit class (fixed classifier)")
    last = evals[-1]
    ax.set_title(f"{name}: class shares over training\nfinal: {last['digits_covered']}/10 "
                 f"digits, largest class {100 * last['max_class_fraction']:.0f}%", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax = fig.add_subplot(2, len(names), len(names) + i + 1)
    picture = os.path.join(run["workdir"], last["picture"])
    if os.path.exists(picture):
      ax.imshow(matplotlib.image.imread(picture))
    ax.set_axis_off()
    ax.set_title(f"{name}: final samples", fontsize=9)
  fig.tight_layout()
  return _common.save_figure(fig, path)


def run(quick: bool = False, workdir: str | None = None, only: tuple[str, ...] | None = None,
        sngan: bool = True, num_steps: int | None = None) -> dict:
  """Runs the experiment; returns the numbers written to the JSON."""
  workdir = _common.prepare_workdir(workdir or os.path.join("runs", "experiments", NAME))
  t0 = time.time()
  datasets = tuple(only) if only else (("ring8",) if quick else DATASETS)
  for d in datasets:
    if d not in DATASETS:
      raise ValueError(f"--only: unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
  toy_runs, digit_runs, table = {}, {}, {}
  for dataset in datasets:
    for method in methods_for(dataset, sngan and not quick):
      config = make_config(dataset, method, quick, num_steps)
      name = f"{dataset}_{method}"
      run_dir = os.path.join(workdir, "runs", name)
      print(f"[{NAME}] training {name} for {config.num_steps} steps in {run_dir}", flush=True)
      records, seconds = _common.train(config, run_dir)
      evals = _common.eval_records(records)
      if dataset == "digits":
        digit_runs[name] = {"evals": evals, "workdir": run_dir}
        final = evals[-1]
        table[name] = {"steps": config.num_steps, "seconds": seconds,
                       "digits_covered": final["digits_covered"],
                       "max_class_fraction": final["max_class_fraction"],
                       "kl_to_uniform": float(final["kl_to_uniform"]),  # 'inf' in the jsonl
                       "class_histogram": final["class_histogram"],
                       "histograms_over_training": {e["step"]: e["class_histogram"]
                                                    for e in evals}}
      else:
        snaps = toy_snapshots(config, run_dir, records)
        toy_runs[name] = {"dataset": dataset, "snapshots": snaps}
        final = evals[-1]
        table[name] = {"steps": config.num_steps, "seconds": seconds,
                       "modes_captured": final["modes_captured"], "num_modes": final["num_modes"],
                       "high_quality_fraction": final["high_quality_fraction"],
                       "kl_to_uniform": float(final["kl_to_uniform"]),  # 'inf' in the jsonl
                       "largest_mode_hops": hops(snaps),
                       "over_training": [{k: s[k] for k in ("step", "modes_captured",
                                                            "high_quality_fraction",
                                                            "largest_mode", "largest_mode_share",
                                                            "mode_histogram")}
                                         for s in snaps]}
  result = {"quick": quick, "num_steps_override": num_steps, "datasets": datasets,
            "table": table, "claims": claims(table)}
  if toy_runs:
    result["png"] = plot_toy(os.path.join(workdir, f"{NAME}.png"), toy_runs)
  if digit_runs:
    result["png_digits"] = plot_digits(os.path.join(workdir, f"{NAME}_digits.png"), digit_runs)
  result["seconds"] = time.time() - t0
  result["json"] = _common.write_json(os.path.join(workdir, f"{NAME}.json"), result)
  print(f"[{NAME}] {'run':18s} {'steps':>6s}  final result (PacGAN protocol / digits classifier)")
  for name, row in table.items():
    if "modes_captured" in row:
      over = " ".join(f"{s['modes_captured']}" for s in row["over_training"])
      print(f"[{NAME}] {name:18s} {row['steps']:6d}  {row['modes_captured']}/{row['num_modes']} "
            f"modes, HQ {100 * row['high_quality_fraction']:.1f}%, KL {row['kl_to_uniform']:.3f}; "
            f"modes over training [{over}], largest-mode changes {row['largest_mode_hops']}")
    else:
      print(f"[{NAME}] {name:18s} {row['steps']:6d}  {row['digits_covered']}/10 digits, largest "
            f"class {100 * row['max_class_fraction']:.0f}%, histogram {row['class_histogram']}")
  for name, claim in result["claims"].items():
    print(f"[{NAME}] claim {name}: {'HOLDS' if claim['holds'] else 'does not hold'} "
          f"({claim['statement']}; {claim['numbers']})")
  print(f"[{NAME}] {result['seconds']:.0f}s; wrote " +
        ", ".join(result[k] for k in ("png", "png_digits", "json") if k in result))
  return result


def main(argv=None) -> dict:
  p = _common.parser(NAME, __doc__.splitlines()[0])
  p.add_argument("--only", default=None,
                 help="comma-separated datasets to run (ring8, grid25, digits); default: all "
                      "(quick: ring8)")
  p.add_argument("--no-sngan", action="store_true", help="skip the SNGAN runs")
  p.add_argument("--num-steps", type=int, default=None,
                 help="train every run for this many steps instead of its config's (shorter "
                      "runs on a busy machine; the JSON records the override)")
  args = p.parse_args(argv)
  only = tuple(s for s in args.only.split(",") if s) if args.only else None
  return run(quick=args.quick, workdir=args.workdir, only=only, sngan=not args.no_sngan,
             num_steps=args.num_steps)


if __name__ == "__main__":
  main()

"""The critic's W estimate tracks sample quality; the BCE discriminator's JS estimate does not.

Claim tested (the notes, "W-loss and the critic"): by the Kantorovich-Rubinstein duality the critic
of a WGAN estimates the earth mover's distance between the real and the generated distributions
(when it is 1-Lipschitz), and this estimate correlates with the quality of the samples, so the loss
curve is informative; the BCE GAN's loss is not.

What the papers showed: the WGAN paper (Arjovsky et al. 2017, section 4.2, figures 3-4) plots the
critic's W estimate during training falling as the samples improve, and the JS estimate of a BCE
GAN (log 2 - L_D / 2 for the optimal D) staying flat or rising while the samples get better; the
WGAN-GP paper (figure 3, section 5.3) shows the negative critic loss tracking sample quality and
convergence.

What this experiment measures on ring8 (8 Gaussians on a circle), through
``jaxgan.train.train_and_evaluate`` with checkpoints at several steps:
  * WGAN-GP (config ``ring8_wgan_gp``: Adam(1e-3, 0.5, 0.9) decayed linearly, with the paper's
    lambda = 10 and n_critic = 5 instead of the config's 0.1 and 1, and without the generator EMA,
    so that the critic is held near slope 1 and near its optimum, and the samples measured are those
    of the generator it saw): the
    critic's W estimate, both as logged during training (``w_estimate`` of the train records, mean
    over the records since the previous checkpoint) and recomputed from the restored critic on
    1,000 real and 1,000 generated samples. (A first attempt with the full paper recipe, n_critic 5
    and Adam(1e-4), made no progress in 4,000 steps on this ring of std 0.01: the exact W1 stayed
    near 1.0 throughout, so there was no quality trend to track. A second, with n_critic 1, had a
    critic that lagged the fast-moving generator for the first third of the run: negative
    estimates while W1 fell from 3.3 to 0.3, then a W estimate falling in step with W1.)
  * The BCE GAN (config ``ring8_gan``): its JS estimate log 2 - L_D / 2, logged (``critic_loss``)
    and recomputed from the restored discriminator the same way.
  * An independent quality measure for both: the exact W1 between 1,000 generated and 1,000 real
    samples (an optimal assignment, ``scipy.optimize.linear_sum_assignment``).
Key numbers: the Spearman rank correlation over the checkpoints of each estimate with the exact W1,
over all checkpoints and over the second half of them (after the early, fast-changing phase).

Command:  python -m jaxgan.experiments.w_estimate_tracks_quality [--workdir DIR] [--quick]
Outputs:  w_estimate_tracks_quality.png, w_estimate_tracks_quality.json, and the two runs under
          runs/ in the workdir.
"""

from __future__ import annotations

import os
import time

import jax.numpy as jnp
import numpy as np

from jaxgan import config as config_lib
from jaxgan import losses
from jaxgan import step as step_lib
from jaxgan.experiments import _common

NAME = "w_estimate_tracks_quality"
CHECKPOINTS = 10


def configs(quick: bool):
  wgan = config_lib.load_config("ring8_wgan_gp")
  wgan.name = "ring8_wgan_gp_lambda10"
  wgan.gp_weight = 10.0   # the paper's lambda: a critic held near slope 1, so its estimate is a W1
  wgan.ema_decay = 0.0    # the samples measured are those of the generator the critic saw
  wgan.n_critic = 5       # the paper's: a critic kept near its optimum, as the duality needs
  wgan.num_steps = 150 if quick else 6000
  gan = config_lib.load_config("ring8_gan")
  gan.num_steps = 300 if quick else 10000
  for c in (wgan, gan):
    every = c.num_steps // (CHECKPOINTS // 2 if quick else CHECKPOINTS)
    c.checkpoint_every = every
    c.eval_every = 0  # only the final evaluation: the checkpoints are measured here
    c.log_every = max(1, every // 5)
    c.keep_checkpoints = CHECKPOINTS + 2
    c.eval_samples = 1000
  return {"wgan_gp": wgan, "gan": gan}


def measure(kind: str, config, run_dir: str, records, n: int) -> dict:
  """Estimates (logged and recomputed) and the exact W1 at every checkpoint of a run."""
  train = _common.train_records(records)
  steps = list(range(config.checkpoint_every, config.num_steps + 1, config.checkpoint_every))
  run, restored = _common.checkpoint_samples(config, run_dir, steps, n, config.seed + 1,
                                             with_run=True)
  real = run.dataset.sample(n, config.seed)
  rows = []
  prev = 0
  for step in steps:
    if step not in restored:
      continue
    state, fake = restored[step]
    window = [r for r in train if prev < r["step"] <= step]
    prev = step
    real_scores = step_lib.critic_scores(run.critic, state, jnp.asarray(real))
    fake_scores = step_lib.critic_scores(run.critic, state, jnp.asarray(fake))
    if kind == "wgan_gp":
      logged = float(np.mean([r["w_estimate"] for r in window]))
      recomputed = float(jnp.mean(real_scores) - jnp.mean(fake_scores))
    else:
      logged = float(np.mean([_common.LOG2 - r["critic_loss"] / 2 for r in window]))
      recomputed = float(_common.LOG2 - losses.minimax_discriminator_loss(real_scores,
                                                                           fake_scores) / 2)
    rows.append({"step": step, "logged_estimate": logged, "recomputed_estimate": recomputed,
                 "exact_w1": _common.exact_w1(fake, real)})
  w1 = [r["exact_w1"] for r in rows]
  half = len(rows) // 2
  return {"rows": rows,
          "spearman_logged": _common.spearman([r["logged_estimate"] for r in rows], w1),
          "spearman_recomputed": _common.spearman([r["recomputed_estimate"] for r in rows], w1),
          "spearman_logged_second_half": _common.spearman(
              [r["logged_estimate"] for r in rows[half:]], w1[half:])}


def plot(path: str, res: dict) -> str:
  fig = _common.figure(15.0, 4.3)
  labels = {"wgan_gp": ("WGAN-GP critic's W estimate", "C3"),
            "gan": ("BCE GAN's JS estimate log 2 - L_D/2", "C0")}
  for i, kind in enumerate(("wgan_gp", "gan")):
    rows = res[kind]["rows"]
    steps = [r["step"] for r in rows]
    ax = fig.add_subplot(1, 3, i + 1)
    label, color = labels[kind]
    ax.plot(steps, [r["logged_estimate"] for r in rows], f"{color}o-", ms=4,
            label=f"{label} (logged)")
    ax.plot(steps, [r["recomputed_estimate"] for r in rows], f"{color}s--", ms=4, alpha=0.7,
            label=f"{label} (1,000 samples)")
    ax.set_xlabel("training step")
    ax.set_ylabel("estimate")
    ax2 = ax.twinx()
    ax2.plot(steps, [r["exact_w1"] for r in rows], "k^-", ms=4, label="exact W1(generated, real)")
    ax2.set_ylabel("exact W1 to real samples (lower is better)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="best", framealpha=0.6)
    ax.set_title(f"{'WGAN-GP' if kind == 'wgan_gp' else 'BCE GAN'} on ring8: Spearman rho "
                 f"{res[kind]['spearman_logged']:+.2f} (logged), "
                 f"{res[kind]['spearman_recomputed']:+.2f} (recomputed)", fontsize=9)
  ax = fig.add_subplot(1, 3, 3)
  for kind in ("wgan_gp", "gan"):
    rows = res[kind]["rows"]
    label, color = labels[kind]
    ax.plot([r["exact_w1"] for r in rows], [r["logged_estimate"] for r in rows], f"{color}o",
            label=f"{label}: rho {res[kind]['spearman_logged']:+.2f}")
  ax.set_xlabel("exact W1(generated, real)")
  ax.set_ylabel("the loss-based estimate (logged)")
  ax.set_title("does the loss track sample quality?", fontsize=9)
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  return _common.save_figure(fig, path)


def run(quick: bool = False, workdir: str | None = None) -> dict:
  """Runs the experiment; returns the numbers written to the JSON."""
  workdir = _common.prepare_workdir(workdir or os.path.join("runs", "experiments", NAME))
  t0 = time.time()
  n = 300 if quick else 1000
  res = {}
  for kind, config in configs(quick).items():
    run_dir = os.path.join(workdir, "runs", config.name)
    print(f"[{NAME}] training {config.name} for {config.num_steps} steps in {run_dir}", flush=True)
    records, seconds = _common.train(config, run_dir)
    res[kind] = measure(kind, config, run_dir, records, n)
    res[kind]["seconds"] = seconds
    res[kind]["num_steps"] = config.num_steps
  result = {
      "quick": quick, "samples": n, **res,
      "key_numbers": {"spearman_w_estimate_vs_exact_w1": res["wgan_gp"]["spearman_logged"],
                      "spearman_w_estimate_recomputed_vs_exact_w1":
                          res["wgan_gp"]["spearman_recomputed"],
                      "spearman_js_estimate_vs_exact_w1": res["gan"]["spearman_logged"],
                      "spearman_js_estimate_recomputed_vs_exact_w1":
                          res["gan"]["spearman_recomputed"],
                      "spearman_w_estimate_vs_exact_w1_second_half":
                          res["wgan_gp"]["spearman_logged_second_half"],
                      "spearman_js_estimate_vs_exact_w1_second_half":
                          res["gan"]["spearman_logged_second_half"]},
  }
  result["png"] = plot(os.path.join(workdir, f"{NAME}.png"), res)
  result["seconds"] = time.time() - t0
  result["json"] = _common.write_json(os.path.join(workdir, f"{NAME}.json"), result)
  for kind, label in (("wgan_gp", "W estimate"), ("gan", "JS estimate")):
    print(f"[{NAME}] {kind:8s} step       " + " ".join(f"{r['step']:7d}" for r in res[kind]["rows"]))
    print(f"[{NAME}] {kind:8s} {label:11s}" + " ".join(f"{r['logged_estimate']:7.3f}"
                                                     for r in res[kind]["rows"]))
    print(f"[{NAME}] {kind:8s} exact W1   " + " ".join(f"{r['exact_w1']:7.3f}"
                                                    for r in res[kind]["rows"]))
  k = result["key_numbers"]
  print(f"[{NAME}] Spearman rho with the exact W1: WGAN-GP W estimate "
        f"{k['spearman_w_estimate_vs_exact_w1']:+.3f} (recomputed "
        f"{k['spearman_w_estimate_recomputed_vs_exact_w1']:+.3f}); BCE JS estimate "
        f"{k['spearman_js_estimate_vs_exact_w1']:+.3f} (recomputed "
        f"{k['spearman_js_estimate_recomputed_vs_exact_w1']:+.3f}); second half of the "
        f"checkpoints: W {k['spearman_w_estimate_vs_exact_w1_second_half']:+.3f}, JS "
        f"{k['spearman_js_estimate_vs_exact_w1_second_half']:+.3f}; {result['seconds']:.0f}s")
  print(f"[{NAME}] wrote {result['png']} and {result['json']}")
  return result


def main(argv=None) -> dict:
  args = _common.parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
  return run(quick=args.quick, workdir=args.workdir)


if __name__ == "__main__":
  main()

"""Spectral normalization vs the gradient penalty on the same critic: Lipschitz bound, cost, modes.

Claim tested (the notes, "Spectral normalization (SNGAN)" and "Gradient penalty (WGAN-GP)"):
dividing each layer's weight by its largest singular value, estimated by one power iteration per
update, bounds each layer's Lipschitz constant and so the critic's; it is simple, cheap (no second
backward pass as the gradient penalty needs) and robust to its single hyper-parameter. The gradient
penalty is a soft constraint: it pulls the slope towards 1 at the interpolates only.

What the paper showed (Miyato et al., "Spectral Normalization for GANs", ICLR 2018): SN keeps every
layer's spectral norm at 1, so a critic of 1-Lipschitz activations is at most 1-Lipschitz; its
cost per update is small compared with WGAN-GP's (figure 10 / section 4: WGAN-GP's extra
forward-backward makes it markedly slower), and it matches or beats WGAN-GP in sample quality.

What this experiment runs, through ``jaxgan.train.train_and_evaluate`` on ring8 with the same 3 x 128
ReLU MLP critic and generator: ``ring8_sngan`` (SN + hinge loss), ``ring8_wgan_gp`` (GP with the
config's lambda 0.1) and the same with the paper's lambda 10. For each final critic it measures
  * the Lipschitz estimate: the maximum of ||grad_x c(x)|| (``losses.input_gradient_norms``) over
    random interpolates of 2,500 real and 2,500 generated samples (``losses.interpolate``) and over
    a grid covering the data, and the mean over the interpolates;
  * the step time: each config's compiled train step (``jaxgan.step.make_train_step``) timed in
    interleaved rounds on the same machine, the fastest round per config (robust to other jobs);
  * mode coverage: modes captured and high-quality fraction of the final evaluation (PacGAN
    protocol).

Command:  python -m jaxgan.experiments.spectral_vs_penalty [--workdir DIR] [--quick]
Runtime:  full: 3 runs of 10,000 steps (the configs train 25,000; the learning rate decays linearly
          over whatever num_steps is), a few minutes each on 2 busy CPU cores. Quick: SN and GP
          lambda 10 only, 200 steps each.
Outputs:  spectral_vs_penalty.png, spectral_vs_penalty.json, and the runs under runs/.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import config as config_lib
from jaxgan import data as data_lib
from jaxgan import losses
from jaxgan import models
from jaxgan import plots
from jaxgan import state as state_lib
from jaxgan import step as step_lib
from jaxgan import train as train_lib
from jaxgan.experiments import _common

NAME = "spectral_vs_penalty"


def configs(quick: bool) -> dict:
  out = {}
  for label, name, overrides in (("SN (hinge)", "ring8_sngan", {}),
                                 ("GP lambda 0.1", "ring8_wgan_gp", {}),
                                 ("GP lambda 10", "ring8_wgan_gp", {"gp_weight": 10.0,
                                                                    "name": "ring8_wgan_gp_l10"})):
    c = config_lib.load_config(name)
    for k, v in overrides.items():
      c[k] = v
    if quick and label == "GP lambda 0.1":
      continue  # quick: the two constraints at their papers' settings only
    c.num_steps = 200 if quick else 10000
    # The same generator average for all three: 10,000 of ring8_wgan_gp's 25,000 steps with its
    # EMA 0.9997 would still weigh the initial generator by 0.9997^10000 = 5%.
    c.ema_decay = 0.999
    c.log_every = c.num_steps // 4
    c.eval_every = 0
    c.checkpoint_every = c.num_steps
    c.eval_samples = 2500
    out[label] = c
  return out


def lipschitz(run, state, key, n: int) -> dict:
  """Max and mean ||grad_x c|| over interpolates of real and generated samples; max over a grid."""
  real = jnp.asarray(run.dataset.sample(n, run.config.seed))
  fake = jnp.asarray(run.samples(state, n, run.config.seed + 1))
  critic_fn = lambda x: step_lib.critic_scores(run.critic, state, x)
  at_interp = np.asarray(losses.input_gradient_norms(critic_fn, losses.interpolate(real, fake, key)))
  _, _, points = plots.critic_grid(plots.toy_extent(np.asarray(real)), n=80)
  on_grid = np.asarray(losses.input_gradient_norms(critic_fn, jnp.asarray(points)))
  return {"max_interpolates": float(at_interp.max()), "mean_interpolates": float(at_interp.mean()),
          "max_grid": float(on_grid.max()), "norms_interpolates": at_interp}


def time_steps(cfgs: dict, steps: int, rounds: int) -> dict:
  """Milliseconds per compiled train step of ONE critic update + one generator update (every config
  timed with ``n_critic = 1``, so that the constraint is the only difference: ``ring8_sngan`` trains
  with 5 critic updates per step, ``ring8_wgan_gp`` with 1), fastest of ``rounds`` interleaved rounds
  per config."""
  compiled = {}
  for label, config in cfgs.items():
    config = config_lib.apply_overrides(config, [("n_critic", "1")])
    ds = data_lib.make_dataset(config.dataset, config.seed)
    generator, critic = models.build(config, tuple(ds.sample_shape))
    g_tx, d_tx = state_lib.make_optimizers(config)
    state = state_lib.init_state(config, generator, critic, g_tx, d_tx, tuple(ds.sample_shape))
    fn = jax.jit(step_lib.make_train_step(config, generator, critic, g_tx, d_tx))
    batch = jnp.asarray(ds.batch(0, config.n_critic, config.batch_size))
    state, _ = fn(state, batch)
    jax.block_until_ready(state)
    compiled[label] = (fn, state, batch)
  best = {label: float("inf") for label in cfgs}
  for _ in range(rounds):
    for label, (fn, state, batch) in compiled.items():
      t0 = time.perf_counter()
      for _ in range(steps):
        state, _ = fn(state, batch)
      jax.block_until_ready(state)
      best[label] = min(best[label], (time.perf_counter() - t0) / steps * 1e3)
      compiled[label] = (fn, state, batch)
  return best


def plot(path: str, res: dict) -> str:
  labels = list(res)
  fig = _common.figure(14.0, 4.2)
  ax = fig.add_subplot(1, 3, 1)
  for i, label in enumerate(labels):
    norms = res[label]["lipschitz"]["norms_interpolates"]
    ax.hist(norms, bins=50, alpha=0.5, color=f"C{i}", label=f"{label}: max "
            f"{res[label]['lipschitz']['max_interpolates']:.2f}")
  ax.axvline(1.0, color="k", ls="--", lw=1)
  ax.set_xlabel("||grad_x c(x_hat)|| at interpolates")
  ax.set_ylabel("count")
  ax.set_title("critic slope at real-fake interpolates", fontsize=10)
  ax.legend(fontsize=8)
  ax = fig.add_subplot(1, 3, 2)
  ms = [res[label]["ms_per_step"] for label in labels]
  ax.bar(range(len(labels)), ms, color=[f"C{i}" for i in range(len(labels))])
  ax.set_xticks(range(len(labels)))
  ax.set_xticklabels(labels, fontsize=8)
  ax.set_ylabel("ms per critic + generator update (fastest round)")
  ax.set_title("cost of the constraint (same networks, batch 256)", fontsize=10)
  for i, v in enumerate(ms):
    ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
  ax = fig.add_subplot(1, 3, 3)
  modes = [res[label]["modes_captured"] for label in labels]
  hq = [100 * res[label]["high_quality_fraction"] for label in labels]
  x = np.arange(len(labels))
  ax.bar(x - 0.2, modes, 0.4, color="C7", label="modes captured (of 8)")
  ax2 = ax.twinx()
  ax2.bar(x + 0.2, hq, 0.4, color="C2", label="high-quality %")
  ax.set_xticks(x)
  ax.set_xticklabels(labels, fontsize=8)
  ax.set_ylim(0, 11)
  ax2.set_ylim(0, 137.5)
  ax.set_ylabel("modes captured")
  ax2.set_ylabel("high-quality samples (%)")
  h1, l1 = ax.get_legend_handles_labels()
  h2, l2 = ax2.get_legend_handles_labels()
  ax2.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper center", ncol=2, framealpha=1.0)
  ax.set_title("mode coverage on ring8 (PacGAN protocol)", fontsize=10)
  fig.tight_layout()
  return _common.save_figure(fig, path)


def run(quick: bool = False, workdir: str | None = None) -> dict:
  """Runs the experiment; returns the numbers written to the JSON."""
  workdir = _common.prepare_workdir(workdir or os.path.join("runs", "experiments", NAME))
  t0 = time.time()
  cfgs = configs(quick)
  res = {}
  for label, config in cfgs.items():
    run_dir = os.path.join(workdir, "runs", config.name)
    print(f"[{NAME}] training {config.name} ({label}) for {config.num_steps} steps", flush=True)
    records, seconds = _common.train(config, run_dir)
    final = _common.eval_records(records)[-1]
    run = train_lib.Run(config, run_dir, create=False)
    state = run.restore()
    res[label] = {"config": config.name, "num_steps": config.num_steps, "train_seconds": seconds,
                  "lipschitz": lipschitz(run, state, jax.random.PRNGKey(7), 2500),
                  "modes_captured": final["modes_captured"],
                  "high_quality_fraction": final["high_quality_fraction"],
                  "kl_to_uniform": final["kl_to_uniform"]}
  times = time_steps(cfgs, steps=10 if quick else 200, rounds=2 if quick else 5)
  for label in res:
    res[label]["ms_per_step"] = times[label]
  result = {"quick": quick, "runs": res, "key_numbers": {
      label: {"lipschitz_max_interpolates": r["lipschitz"]["max_interpolates"],
              "lipschitz_max_grid": r["lipschitz"]["max_grid"],
              "ms_per_step": r["ms_per_step"], "modes_captured": r["modes_captured"],
              "high_quality_fraction": r["high_quality_fraction"]} for label, r in res.items()}}
  result["png"] = plot(os.path.join(workdir, f"{NAME}.png"), res)
  result["seconds"] = time.time() - t0
  result["json"] = _common.write_json(os.path.join(workdir, f"{NAME}.json"), result)
  for label, r in res.items():
    lip = r["lipschitz"]
    print(f"[{NAME}] {label:14s} Lipschitz est. max {lip['max_interpolates']:.3f} (interpolates), "
          f"{lip['max_grid']:.3f} (grid), mean {lip['mean_interpolates']:.3f}; "
          f"{r['ms_per_step']:.2f} ms/step; {r['modes_captured']}/8 modes, "
          f"HQ {100 * r['high_quality_fraction']:.1f}%")
  print(f"[{NAME}] {result['seconds']:.0f}s; wrote {result['png']} and {result['json']}")
  return result


def main(argv=None) -> dict:
  args = _common.parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
  return run(quick=args.quick, workdir=args.workdir)


if __name__ == "__main__":
  main()

"""Parallel lines: the earth mover's distance is continuous where JS, KL and TV are not.

Claim tested (the notes, "Earth mover's distance"): the EMD (Wasserstein-1) keeps growing with the
distance between two distributions and has no flat regions, so its gradient does not vanish; on the
classic "parallel lines" example it is continuous in the parameter (W = |theta|) while the
Jensen-Shannon divergence is log 2, KL is infinite and the total variation is 1 for every
theta != 0.

What the paper showed (Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017, Example 1 and
figure 1): with Z ~ U[0, 1], P_0 the law of (0, Z) and P_theta that of (theta, Z),
W(P_0, P_theta) = |theta|, JS = log 2 for theta != 0 (0 at 0), KL = +inf for theta != 0 and
TV = 1 for theta != 0; so a model trained by the JS (the BCE GAN's divergence) gets no gradient
from theta, while the W distance gives a useful gradient everywhere.

What this experiment measures, for theta on a grid in [-1, 1]:
  * W from samples: the exact W1 between n points of P_0 and n points of P_theta (independent
    draws of Z), an optimal assignment (``scipy.optimize.linear_sum_assignment``).
  * JS from the optimal discriminator: an MLP trained with ``jaxgan.losses.minimax_discriminator_loss``
    (BCE) on fresh samples each step; for the optimal D the loss is 2 log 2 - 2 JS, so
    JS_hat = log 2 - L_D / 2 on held-out samples (a lower bound for any other D).
  * TV from the same discriminator: P_0(D > 1/2) - P_theta(D > 1/2), a lower bound of TV.
  * KL: no finite sample estimate exists for mutually singular distributions; only its closed form
    (+inf) is reported.

Command:  python -m jaxgan.experiments.parallel_lines [--workdir DIR] [--quick]
Outputs:  parallel_lines.png (W, JS and TV against theta, closed form and estimates),
          parallel_lines.json.
"""

from __future__ import annotations

import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import losses
from jaxgan import models
from jaxgan.experiments import _common

NAME = "parallel_lines"


def closed_forms(theta: np.ndarray) -> dict[str, np.ndarray]:
  """W, JS, KL and TV between P_0 and P_theta [WGAN, Example 1]."""
  theta = np.asarray(theta, np.float64)
  apart = theta != 0
  return {"w": np.abs(theta),
          "js": np.where(apart, math.log(2.0), 0.0),
          "kl": np.where(apart, np.inf, 0.0),
          "tv": np.where(apart, 1.0, 0.0)}


def sample_line(key: jax.Array, theta: jax.Array, n: int) -> jax.Array:
  """n points of P_theta = law of (theta, Z), Z ~ U[0, 1]: shape [n, 2]."""
  z = jax.random.uniform(key, (n, 1))
  return jnp.concatenate([jnp.full_like(z, theta), z], axis=1)


def w_estimates(thetas: np.ndarray, n: int, seed: int) -> np.ndarray:
  """Exact W1 between n samples of P_0 and n of P_theta, for each theta."""
  out = []
  for i, theta in enumerate(thetas):
    k0, k1 = jax.random.split(jax.random.PRNGKey(seed * 1000 + i))
    out.append(_common.exact_w1(np.asarray(sample_line(k0, 0.0, n)),
                                np.asarray(sample_line(k1, float(theta), n))))
  return np.asarray(out)


def discriminator_estimates(thetas: np.ndarray, *, steps: int, batch: int, n_eval: int,
                            hidden: int, seed: int) -> dict[str, np.ndarray]:
  """Trains one BCE discriminator per theta (vmapped) and returns its JS and TV estimates."""
  disc = models.MLPCritic(hidden_dim=hidden, num_hidden=2)
  tx = optax.adam(1e-3)

  def one(theta, key):
    init_key, train_key, eval_key = jax.random.split(key, 3)
    params = disc.init(init_key, jnp.zeros((1, 2)))

    def loss_fn(params, _, k):
      k0, k1 = jax.random.split(k)
      real = sample_line(k0, 0.0, batch)      # P_0, labelled real
      fake = sample_line(k1, theta, batch)    # P_theta, labelled fake
      return losses.minimax_discriminator_loss(disc.apply(params, real), disc.apply(params, fake))

    params, trace = _common.fit(loss_fn, params, jnp.zeros((steps,)), tx, train_key)
    k0, k1 = jax.random.split(eval_key)
    real_logits = disc.apply(params, sample_line(k0, 0.0, n_eval))
    fake_logits = disc.apply(params, sample_line(k1, theta, n_eval))
    loss = losses.minimax_discriminator_loss(real_logits, fake_logits)
    tv = jnp.mean(real_logits > 0) - jnp.mean(fake_logits > 0)
    return loss, tv, trace[-1]

  keys = jax.random.split(jax.random.PRNGKey(seed), len(thetas))
  loss, tv, last = jax.jit(jax.vmap(one))(jnp.asarray(thetas, jnp.float32), keys)
  loss = np.asarray(loss, np.float64)
  return {"d_loss": loss, "js": math.log(2.0) - loss / 2.0, "tv": np.asarray(tv, np.float64),
          "last_train_loss": np.asarray(last, np.float64)}


def plot(path: str, thetas: np.ndarray, est: dict[str, np.ndarray]) -> str:
  fine = np.linspace(-1.0, 1.0, 401)
  exact = closed_forms(fine)
  fig = _common.figure(13.5, 4.0)
  panels = [("w", "W(P_0, P_theta)", "earth mover's distance"),
            ("js", "JS(P_0, P_theta)", "Jensen-Shannon divergence"),
            ("tv", "TV(P_0, P_theta)", "total variation (KL = +inf for theta != 0)")]
  for i, (key, ylabel, title) in enumerate(panels):
    ax = fig.add_subplot(1, 3, i + 1)
    if key == "w":
      ax.plot(fine, exact["w"], "C0-", lw=2, label="closed form |theta|")
      ax.plot(thetas, est["w"], "C3o", ms=5, label="exact W1 of samples")
    else:
      off = fine != 0
      ax.plot(fine[off & (fine < 0)], exact[key][off & (fine < 0)], "C0-", lw=2,
              label="closed form")
      ax.plot(fine[off & (fine > 0)], exact[key][off & (fine > 0)], "C0-", lw=2)
      ax.plot([0], [0], "C0o", mfc="white", ms=7)
      label = ("log 2 - L_D*/2 (trained BCE D)" if key == "js"
               else "P_0(D>1/2) - P_theta(D>1/2)")
      ax.plot(thetas, est[key], "C3o", ms=5, label=label)
    ax.set_xlabel("theta")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right" if key != "w" else "upper center")
    ax.grid(alpha=0.3)
  fig.tight_layout()
  return _common.save_figure(fig, path)


def run(quick: bool = False, workdir: str | None = None, seed: int = 0) -> dict:
  """Runs the experiment; returns the numbers written to the JSON."""
  workdir = _common.prepare_workdir(workdir or os.path.join("runs", "experiments", NAME))
  t0 = time.time()
  thetas = np.linspace(-1.0, 1.0, 9 if quick else 21)
  n = 300 if quick else 1000
  est = {"w": w_estimates(thetas, n, seed)}
  d = discriminator_estimates(thetas, steps=400 if quick else 1500, batch=256,
                              n_eval=2048 if quick else 8192, hidden=32 if quick else 64,
                              seed=seed)
  est.update(d)
  exact = closed_forms(thetas)
  far = np.abs(thetas) >= 0.5
  result = {
      "quick": quick,
      "theta": thetas, "samples_per_distribution": n,
      "w_closed_form": exact["w"], "w_estimate": est["w"],
      "js_closed_form": exact["js"], "js_estimate": est["js"],
      "tv_closed_form": exact["tv"], "tv_estimate": est["tv"],
      "kl_closed_form": exact["kl"],
      "discriminator_loss": est["d_loss"],
      "key_numbers": {
          "max_abs_w_error": float(np.max(np.abs(est["w"] - exact["w"]))),
          "min_js_estimate_abs_theta_ge_0.5": float(np.min(est["js"][far])),
          "js_estimate_at_theta_0": float(est["js"][np.argmin(np.abs(thetas))]),
          "log2": math.log(2.0),
      },
      "seconds": time.time() - t0,
  }
  result["png"] = plot(os.path.join(workdir, f"{NAME}.png"), thetas, est)
  result["json"] = _common.write_json(os.path.join(workdir, f"{NAME}.json"), result)
  k = result["key_numbers"]
  print(f"[{NAME}] theta       " + " ".join(f"{t:+.2f}" for t in thetas))
  print(f"[{NAME}] |theta|     " + " ".join(f"{v:5.2f}" for v in exact["w"]))
  print(f"[{NAME}] W estimate  " + " ".join(f"{v:5.2f}" for v in est["w"]))
  print(f"[{NAME}] JS estimate " + " ".join(f"{v:5.2f}" for v in est["js"]))
  print(f"[{NAME}] TV estimate " + " ".join(f"{v:5.2f}" for v in est["tv"]))
  print(f"[{NAME}] max |W_hat - |theta|| = {k['max_abs_w_error']:.4f}; JS_hat >= "
        f"{k['min_js_estimate_abs_theta_ge_0.5']:.4f} for |theta| >= 0.5 (log 2 = 0.6931); "
        f"JS_hat(0) = {k['js_estimate_at_theta_0']:.4f}; {result['seconds']:.1f}s")
  print(f"[{NAME}] wrote {result['png']} and {result['json']}")
  return result


def main(argv=None) -> dict:
  args = _common.parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
  return run(quick=args.quick, workdir=args.workdir)


if __name__ == "__main__":
  main()

"""Vanishing gradients: a winning BCE discriminator gives the generator no gradient; a critic does.

Claim tested (the notes, "Vanishing gradients with BCE" and "W-loss and the critic"): the
discriminator's task is easier than the generator's; as it improves its outputs saturate near 0 and
1 and the gradient the generator receives through the BCE loss approaches zero. The W-loss critic
outputs an unbounded real number and, kept 1-Lipschitz (here by the gradient penalty), gives a
gradient of norm about 1 however far apart the distributions are.

What the papers showed: Arjovsky & Bottou ("Towards Principled Methods for Training GANs", ICLR
2017, theorem 2.4 and figure 2) prove and measure that the gradient of the original generator loss
E[log(1 - D(G(z)))] goes to 0 as the discriminator approaches optimality when the supports are
(nearly) disjoint; the WGAN paper (figure 2) shows a saturated discriminator next to a WGAN critic
whose gradient stays linear and useful on two separated Gaussians.

What this experiment measures: real N(0, 1) and fake N(d, 1) samples (n fixed points each) for
separations d from 0 to 10. For each d (vmapped over d) a BCE discriminator
(``losses.minimax_discriminator_loss``) and a WGAN-GP critic (``losses.wasserstein_critic_loss`` +
10 * ``losses.gradient_penalty``), the same MLP (``jaxgan.models.MLPCritic``), are trained close to
optimality on the fixed samples. Then the generator's gradient magnitude is
mean_i |d/dx_i of the per-sample generator loss| at the fake samples x_i, for the saturating
minimax loss (``losses.minimax_generator_loss``, E[log(1 - D)]), the non-saturating loss
(``losses.non_saturating_generator_loss``, for reference) and the W-loss
(``losses.wasserstein_generator_loss``).

Command:  python -m jaxgan.experiments.vanishing_gradients [--workdir DIR] [--quick]
Outputs:  vanishing_gradients.png (D(x) and c(x) at the largest separation; gradient magnitude vs
          d on a log scale), vanishing_gradients.json.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import losses
from jaxgan import models
from jaxgan.experiments import _common

NAME = "vanishing_gradients"
GP_WEIGHT = 10.0


def train_pair(separations: np.ndarray, *, n: int, steps: int, hidden: int, seed: int):
  """Trains a BCE discriminator and a WGAN-GP critic per separation; returns params and samples."""
  net = models.MLPCritic(hidden_dim=hidden, num_hidden=2)
  rng = np.random.default_rng(seed)
  real = jnp.asarray(rng.standard_normal((n, 1)), jnp.float32)
  noise = jnp.asarray(rng.standard_normal((n, 1)), jnp.float32)
  tx_d = optax.adam(3e-3)
  tx_c = optax.adam(1e-3, b1=0.5, b2=0.9)
  nothing = jnp.zeros((steps,))

  def one(d, key):
    fake = noise + d
    k_d, k_c, k_fit_d, k_fit_c = jax.random.split(key, 4)

    def bce(params, _, k):
      del k
      return losses.minimax_discriminator_loss(net.apply(params, real), net.apply(params, fake))

    def wgan_gp(params, _, k):
      critic_fn = lambda x: net.apply(params, x)
      return (losses.wasserstein_critic_loss(critic_fn(real), critic_fn(fake))
              + GP_WEIGHT * losses.gradient_penalty(critic_fn, real, fake, k))

    d_params, d_trace = _common.fit(bce, net.init(k_d, real[:1]), nothing, tx_d, k_fit_d)
    c_params, c_trace = _common.fit(wgan_gp, net.init(k_c, real[:1]), nothing, tx_c, k_fit_c)
    return d_params, c_params, d_trace[-1], c_trace[-1]

  keys = jax.random.split(jax.random.PRNGKey(seed), len(separations))
  out = jax.jit(jax.vmap(one))(jnp.asarray(separations, jnp.float32), keys)
  return net, real, noise, out


def generator_gradients(net, d_params, c_params, fake: jax.Array) -> dict[str, jax.Array]:
  """Mean |d/dx of the per-sample generator loss| at the fake samples, for each generator loss.

  The losses are batch means, so the gradient of (n * loss) at x_i is the gradient of sample i's
  own term.
  """
  n = fake.shape[0]

  def grad_mag(loss_fn, params):
    g = jax.grad(lambda x: n * loss_fn(net.apply(params, x)))(fake)
    return jnp.mean(jnp.abs(g))

  return {"bce_saturating": grad_mag(losses.minimax_generator_loss, d_params),
          "bce_non_saturating": grad_mag(losses.non_saturating_generator_loss, d_params),
          "wasserstein": grad_mag(losses.wasserstein_generator_loss, c_params)}


def plot(path, separations, grads, curve) -> str:
  fig = _common.figure(12.5, 4.4)
  ax = fig.add_subplot(1, 2, 1)
  xs, d_prob, c_val, real, fake, d_max = curve
  bins = np.linspace(xs.min(), xs.max(), 60)
  ax.hist(real, bins=bins, density=True, color="orange", alpha=0.5, label="real N(0, 1)")
  ax.hist(fake, bins=bins, density=True, color="green", alpha=0.5, label=f"fake N({d_max:g}, 1)")
  ax.plot(xs, d_prob, "C0-", lw=2, label="BCE discriminator D(x) = sigmoid(logit)")
  ax.set_xlabel("x")
  ax.set_ylabel("density / D(x)")
  ax.set_ylim(-0.05, 1.05)
  ax2 = ax.twinx()
  ax2.plot(xs, c_val, "C3-", lw=2, label="WGAN-GP critic c(x)")
  ax2.set_ylabel("critic value c(x)", color="C3")
  lines = ax.get_legend_handles_labels()
  lines2 = ax2.get_legend_handles_labels()
  ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="center left")
  ax.set_title(f"separation d = {d_max:g}: D saturates, c stays linear", fontsize=10)

  ax = fig.add_subplot(1, 2, 2)
  floor = 1e-30
  styles = {"bce_saturating": ("C0o-", "BCE, saturating  E[log(1 - D(G(z)))]"),
            "bce_non_saturating": ("C0s--", "BCE, non-saturating  -E[log D(G(z))]"),
            "wasserstein": ("C3o-", "W-loss, WGAN-GP critic  -E[c(G(z))]")}
  for key, (style, label) in styles.items():
    ax.semilogy(separations, np.maximum(grads[key], floor), style, label=label, ms=4)
  ax.set_xlabel("separation d between real N(0,1) and fake N(d,1)")
  ax.set_ylabel("mean |dL_G/dx| at the fake samples")
  ax.set_title("generator gradient magnitude", fontsize=10)
  ax.grid(alpha=0.3, which="both")
  ax.legend(fontsize=8)
  fig.tight_layout()
  return _common.save_figure(fig, path)


def run(quick: bool = False, workdir: str | None = None, seed: int = 0) -> dict:
  """Runs the experiment; returns the numbers written to the JSON."""
  workdir = _common.prepare_workdir(workdir or os.path.join("runs", "experiments", NAME))
  t0 = time.time()
  separations = np.linspace(0.0, 10.0, 6 if quick else 11)
  n, steps, hidden = (128, 500, 32) if quick else (512, 3000, 64)
  net, real, noise, (d_params, c_params, d_loss, c_loss) = train_pair(
      separations, n=n, steps=steps, hidden=hidden, seed=seed)

  def grads_at(i):
    p_d = jax.tree.map(lambda a: a[i], d_params)
    p_c = jax.tree.map(lambda a: a[i], c_params)
    return generator_gradients(net, p_d, p_c, noise + float(separations[i])), p_d, p_c

  per_d = [grads_at(i) for i in range(len(separations))]
  grads = {k: np.asarray([float(g[0][k]) for g in per_d]) for k in per_d[0][0]}
  last = len(separations) - 1
  d_max = float(separations[last])
  xs = np.linspace(-4.0, d_max + 4.0, 400, dtype=np.float32)[:, None]
  p_d, p_c = per_d[last][1], per_d[last][2]
  d_prob = np.asarray(jax.nn.sigmoid(net.apply(p_d, xs)))
  c_val = np.asarray(net.apply(p_c, xs))
  ratio = grads["bce_saturating"][last] / grads["wasserstein"][last]
  result = {
      "quick": quick, "separations": separations, "samples": n, "train_steps": steps,
      "gradient_magnitude": grads,
      "discriminator_loss": np.asarray(d_loss), "critic_loss": np.asarray(c_loss),
      "key_numbers": {
          "largest_separation": d_max,
          "bce_saturating_grad_at_largest": float(grads["bce_saturating"][last]),
          "wasserstein_grad_at_largest": float(grads["wasserstein"][last]),
          "ratio_bce_to_critic_at_largest": float(ratio),
          "bce_non_saturating_grad_at_largest": float(grads["bce_non_saturating"][last]),
      },
      "seconds": time.time() - t0,
  }
  result["png"] = plot(os.path.join(workdir, f"{NAME}.png"), separations, grads,
                       (xs[:, 0], d_prob, c_val, np.asarray(real)[:, 0],
                        np.asarray(noise)[:, 0] + d_max, d_max))
  result["json"] = _common.write_json(os.path.join(workdir, f"{NAME}.json"), result)
  print(f"[{NAME}] d                   " + " ".join(f"{d:8.1f}" for d in separations))
  for key in grads:
    print(f"[{NAME}] {key:19s} " + " ".join(f"{v:8.1e}" for v in grads[key]))
  print(f"[{NAME}] at d = {d_max:g}: BCE (saturating) gradient {grads['bce_saturating'][last]:.2e}"
        f", critic gradient {grads['wasserstein'][last]:.3f}, ratio {ratio:.2e}; "
        f"{result['seconds']:.1f}s")
  print(f"[{NAME}] wrote {result['png']} and {result['json']}")
  return result


def main(argv=None) -> dict:
  args = _common.parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
  return run(quick=args.quick, workdir=args.workdir)


if __name__ == "__main__":
  main()

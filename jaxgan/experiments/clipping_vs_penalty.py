"""Weight clipping vs gradient penalty: the WGAN-GP paper's figure 1 on 2 CPU cores.

Claim tested (the notes, "Weight clipping (WGAN)" and "Gradient penalty (WGAN-GP)"): clamping the
critic's weights to [-c, c] enforces the Lipschitz constraint crudely: with c too large the critic
is slow to optimise, with c too small its gradients vanish; it limits what the critic can learn and
needs tuning. The gradient penalty lambda * E[(||grad c(x_hat)|| - 1)^2] is a soft constraint that
works better.

What the paper showed (Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017,
figure 1): (a) value surfaces of critics trained to optimality against a generator held fixed at the
real data plus Gaussian noise, on 8 Gaussians, 25 Gaussians and the Swiss roll: with weight
clipping the critic learns overly simple functions that miss the data's structure; with the
gradient penalty it follows the data. (b) Gradient norms of a deep (12-layer ReLU MLP) critic on
the Swiss roll, per layer on a log scale: with weight clipping (c = 0.1, 0.01, 0.001) they explode
or vanish from layer to layer; with the gradient penalty they stay flat. (c) Weight clipping pushes
the weights to the two ends of the clipping range; the gradient penalty does not.

What this experiment does:
  (a) For each dataset (``jaxgan.data.make_dataset``: eight_gaussians, twentyfive_gaussians,
      swiss_roll) and each constraint (``losses.clip_weights`` after every update with c = 0.1,
      0.01, 0.001; or ``losses.gradient_penalty`` with lambda = 10), a 3-hidden-layer ReLU critic
      (``jaxgan.models.MLPCritic``) is trained by the W-loss (``losses.wasserstein_critic_loss``)
      against the fixed generator "real + N(0, 1) noise" (``gan_toy.py``'s FIXED_GENERATOR), and its
      value is drawn on a grid.
  (b) A 12-layer ReLU MLP critic (11 hidden layers and the output layer) is trained the same way
      on the Swiss roll with each constraint; then the norm of the gradient of the W-loss with
      respect to each layer's weight matrix is measured on a held-out batch. The key number is the
      spread max/min of these norms over the hidden-to-hidden layers 2-11 (all of the same shape;
      the input layer has 2 inputs and the output layer 1 output, so their norms are not comparable
      in size); the spread over all 12 layers is reported too. A norm of exactly 0 is float32
      underflow: the gradient vanished completely.
  (c) Histograms of that critic's weights for c = 0.01 and for GP.
Optimizer: Adam(1e-4, beta1 0.5, beta2 0.9) for every critic (the WGAN-GP toy script's).

Command:  python -m jaxgan.experiments.clipping_vs_penalty [--workdir DIR] [--quick]
Outputs:  clipping_vs_penalty.png, clipping_vs_penalty.json.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import data
from jaxgan import losses
from jaxgan import models
from jaxgan import plots
from jaxgan.experiments import _common

NAME = "clipping_vs_penalty"
DATASETS = ("eight_gaussians", "twentyfive_gaussians", "swiss_roll")
CLIPS = (0.1, 0.01, 0.001)
GP_WEIGHT = 10.0
NOISE_STD = 1.0  # the fixed generator: real + N(0, NOISE_STD^2) [gan_toy.py, FIXED_GENERATOR]


def _tx():
  return optax.adam(1e-4, b1=0.5, b2=0.9)


def make_trainer(critic, mode: str, steps: int):
  """A pure function (real batches [steps, B, 2], clip value, key) -> (params, losses).

  ``mode`` is 'clip' (W-loss, weights clamped to [-c, c] after each update) or 'gp' (W-loss +
  lambda GP; the clip value is ignored).
  """

  def train(reals, clip, key):
    init_key, fit_key = jax.random.split(key)
    params = critic.init(init_key, reals[0, :1])
    if mode == "clip":
      params = losses.clip_weights(params, clip)

    def loss_fn(params, real, k):
      noise_key, eps_key = jax.random.split(k)
      fake = real + NOISE_STD * jax.random.normal(noise_key, real.shape)
      critic_fn = lambda x: critic.apply(params, x)
      loss = losses.wasserstein_critic_loss(critic_fn(real), critic_fn(fake))
      if mode == "gp":
        loss = loss + GP_WEIGHT * losses.gradient_penalty(critic_fn, real, fake, eps_key)
      return loss

    project = (lambda p: losses.clip_weights(p, clip)) if mode == "clip" else None
    return _common.fit(loss_fn, params, reals, _tx(), fit_key, project=project)

  del steps
  return train


def layer_gradient_norms(critic, params, real: jax.Array, key: jax.Array) -> np.ndarray:
  """||d W-loss / d kernel|| of every Dense layer, input layer first (the output layer last)."""
  fake = real + NOISE_STD * jax.random.normal(key, real.shape)

  def w_loss(p):
    return losses.wasserstein_critic_loss(critic.apply(p, real), critic.apply(p, fake))

  grads = jax.grad(w_loss)(params)["params"]
  names = sorted((k for k in grads if k.startswith("hidden")), key=lambda k: int(k[6:])) + ["out"]
  return np.asarray([float(jnp.linalg.norm(grads[k]["kernel"])) for k in names])


def spread(norms: np.ndarray) -> float:
  """max/min of gradient norms; inf where some but not all are exactly 0 (float32 underflow), nan
  where all are 0 (the gradient vanished completely)."""
  norms = np.asarray(norms, np.float64)
  if np.max(norms) == 0:
    return float("nan")
  if np.min(norms) == 0:
    return float("inf")
  return float(np.max(norms) / np.min(norms))


def kernels(params) -> np.ndarray:
  p = params["params"]
  return np.concatenate([np.asarray(p[k]["kernel"]).ravel() for k in p])


def plot(path, surfaces, deep, sizes) -> str:
  fig = _common.figure(15.0, 15.5)
  grid = fig.add_gridspec(4, 4, height_ratios=[1, 1, 1, 1.1])
  columns = [f"clip c = {c:g}" for c in CLIPS] + [f"GP lambda = {GP_WEIGHT:g}"]
  for i, name in enumerate(DATASETS):
    xs, ys, values, real = surfaces[name]["grid"]
    for j, title in enumerate(columns):
      ax = fig.add_subplot(grid[i, j])
      v = values[j]
      if np.ptp(v) > 0:
        ax.contourf(xs, ys, v, levels=20, cmap="Blues")
        ax.contour(xs, ys, v, levels=20, colors="k", linewidths=0.3, alpha=0.4)
      ax.scatter(real[:, 0], real[:, 1], s=2, c="orange", alpha=0.6)
      ax.set_xticks([])
      ax.set_yticks([])
      ax.set_aspect("equal")
      if i == 0:
        ax.set_title(title, fontsize=11)
      if j == 0:
        ax.set_ylabel(name, fontsize=11)
  ax = fig.add_subplot(grid[3, 0:2])
  layers = np.arange(1, len(deep["grad_norms"]["gp"]) + 1)
  for k, (label, norms) in enumerate(deep["grad_norms"].items()):
    style = "k-o" if label == "gp" else f"C{k}-o"
    name = f"GP lambda = {GP_WEIGHT:g}" if label == "gp" else f"clip c = {label}"
    ratio = deep["spread"][label]
    shown = np.where(norms > 0, norms, np.nan)
    if np.max(norms) == 0:
      text = f"{name}: every layer exactly 0 (vanished)"
    else:
      text = f"{name} (max/min, layers 2-11: {ratio:.3g})"
    ax.semilogy(layers, shown, style, ms=4, label=text)
  ax.set_xlabel("critic layer (1 = input layer, 12 = output layer; exact zeros not drawn)")
  ax.set_ylabel("||grad of W-loss w.r.t. layer weights||")
  ax.set_title(f"(b) 12-layer ReLU critic on swiss_roll, width {sizes['deep_width']}, "
               f"{sizes['deep_steps']} steps", fontsize=10)
  ax.grid(alpha=0.3, which="both")
  ax.legend(fontsize=8)
  for k, label in enumerate(("0.01", "gp")):
    ax = fig.add_subplot(grid[3, 2 + k])
    w = deep["weights"][label]
    ax.hist(w, bins=60, color="C1" if label != "gp" else "C2")
    ax.set_title(f"(c) weights, {'clip c = 0.01' if label != 'gp' else 'GP'}", fontsize=10)
    ax.set_xlabel("weight value")
    ax.set_yscale("log")
  fig.suptitle("(a) critic value surfaces against a fixed generator (real + noise): weight "
               "clipping (left three) vs gradient penalty (right)", fontsize=12)
  fig.tight_layout(rect=(0, 0, 1, 0.98))
  return _common.save_figure(fig, path)


def run(quick: bool = False, workdir: str | None = None, seed: int = 0) -> dict:
  """Runs the experiment; returns the numbers written to the JSON."""
  workdir = _common.prepare_workdir(workdir or os.path.join("runs", "experiments", NAME))
  t0 = time.time()
  sizes = ({"surface_width": 32, "surface_steps": 100, "batch": 64, "deep_width": 64,
            "deep_steps": 30, "grid": 30, "w_samples": 300} if quick else
           {"surface_width": 128, "surface_steps": 1500, "batch": 256, "deep_width": 64,
            "deep_steps": 1000, "grid": 80, "w_samples": 1000})
  key = jax.random.PRNGKey(seed)

  # (a) value surfaces: every dataset and constraint, vmapped.
  shallow = models.MLPCritic(hidden_dim=sizes["surface_width"], num_hidden=3)
  steps, batch = sizes["surface_steps"], sizes["batch"]
  sets = {name: data.make_dataset(name, seed) for name in DATASETS}
  reals = jnp.stack([jnp.asarray(sets[n].batch(0, steps, batch)) for n in DATASETS])
  clips = jnp.asarray(CLIPS, jnp.float32)
  train_clip = make_trainer(shallow, "clip", steps)
  train_gp = make_trainer(shallow, "gp", steps)
  over_clips = jax.vmap(train_clip, in_axes=(None, 0, None))
  clip_params, clip_losses = jax.jit(jax.vmap(over_clips, in_axes=(0, None, None)))(
      reals, clips, key)
  gp_params, gp_losses = jax.jit(jax.vmap(train_gp, in_axes=(0, None, None)))(
      reals, jnp.float32(0.0), key)
  surfaces = {}
  w_key = jax.random.PRNGKey(seed + 3)
  for i, name in enumerate(DATASETS):
    real = sets[name].sample(sizes["w_samples"], seed)
    fake = real + NOISE_STD * np.asarray(jax.random.normal(w_key, real.shape))
    xs, ys, points = plots.critic_grid(plots.toy_extent(real[:500]), n=sizes["grid"])
    params = [jax.tree.map(lambda a: a[i, j], clip_params) for j in range(len(CLIPS))]
    params.append(jax.tree.map(lambda a: a[i], gp_params))
    values = [np.asarray(shallow.apply(p, points)).reshape(len(ys), len(xs)) for p in params]
    w_est = [float(jnp.mean(shallow.apply(p, real)) - jnp.mean(shallow.apply(p, fake)))
             for p in params]
    surfaces[name] = {"grid": (xs, ys, values, real[:500]), "w_estimate": w_est,
                      "exact_w1": _common.exact_w1(real, fake)}

  # (b), (c) the 12-layer critic on the Swiss roll.
  deep_critic = models.MLPCritic(hidden_dim=sizes["deep_width"], num_hidden=11)
  steps = sizes["deep_steps"]
  roll = jnp.asarray(sets["swiss_roll"].batch(0, steps, batch))
  deep_clip_params, _ = jax.jit(jax.vmap(make_trainer(deep_critic, "clip", steps),
                                         in_axes=(None, 0, None)))(roll, clips, key)
  deep_gp_params, _ = jax.jit(make_trainer(deep_critic, "gp", steps))(roll, jnp.float32(0.0), key)
  held_out = jnp.asarray(sets["swiss_roll"].sample(1024, seed + 1))
  eval_key = jax.random.PRNGKey(seed + 2)
  deep = {"grad_norms": {}, "weights": {}, "spread": {}, "spread_all_layers": {},
          "at_clip_fraction": {}}
  for j, c in enumerate(CLIPS):
    p = jax.tree.map(lambda a: a[j], deep_clip_params)
    label = f"{c:g}"
    deep["grad_norms"][label] = layer_gradient_norms(deep_critic, p, held_out, eval_key)
    w = kernels(p)
    deep["weights"][label] = w
    deep["at_clip_fraction"][label] = float(np.mean(np.abs(w) >= 0.99 * c))
  deep["grad_norms"]["gp"] = layer_gradient_norms(deep_critic, deep_gp_params, held_out, eval_key)
  deep["weights"]["gp"] = kernels(deep_gp_params)
  for label, norms in deep["grad_norms"].items():
    deep["spread"][label] = spread(norms[1:-1])
    deep["spread_all_layers"][label] = spread(norms)

  result = {
      "quick": quick, "sizes": sizes,
      "surface_w_estimate": {n: dict(zip([f"clip {c:g}" for c in CLIPS] + ["gp"],
                                         surfaces[n]["w_estimate"])) for n in DATASETS},
      "surface_exact_w1": {n: surfaces[n]["exact_w1"] for n in DATASETS},
      "deep_spread_all_layers": deep["spread_all_layers"],
      "deep_max_gradient_norm": {k: float(np.max(v)) for k, v in deep["grad_norms"].items()},
      "deep_layer_gradient_norms": deep["grad_norms"],
      "deep_weight_fraction_at_clip": deep["at_clip_fraction"],
      "key_numbers": {
          "gradient_norm_spread_max_over_min": deep["spread"],
          "gp_spread": deep["spread"]["gp"],

      },
  }
  result["png"] = plot(os.path.join(workdir, f"{NAME}.png"), surfaces, deep, sizes)
  result["seconds"] = time.time() - t0
  result["json"] = _common.write_json(os.path.join(workdir, f"{NAME}.json"), result)
  for n in DATASETS:
    est = result["surface_w_estimate"][n]
    print(f"[{NAME}] {n:21s} exact W1(real, real + noise) {surfaces[n]['exact_w1']:.3f}; critic "
          f"W estimates: " + ", ".join(f"{k} {v:.4f}" for k, v in est.items()))
  for label, norms in deep["grad_norms"].items():
    name = "GP" if label == "gp" else f"clip {label}"
    print(f"[{NAME}] 12-layer {name:10s} grad norm per layer: " +
          " ".join(f"{v:.1e}" for v in norms) + f"  max/min layers 2-11 {deep['spread'][label]:.3g}"
          f", all layers {deep['spread_all_layers'][label]:.3g}")
  print(f"[{NAME}] weights at +-c: " + ", ".join(
      f"c={k}: {100 * v:.0f}%" for k, v in deep["at_clip_fraction"].items()))
  print(f"[{NAME}] {result['seconds']:.1f}s; wrote {result['png']} and {result['json']}")
  return result


def main(argv=None) -> dict:
  args = _common.parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
  return run(quick=args.quick, workdir=args.workdir)


if __name__ == "__main__":
  main()

"""Tests for jaxgan.models.mlp's PacGAN networks and their layers (jaxgan.models.layers.maxout*).

References are NumPy in float64 on fresh random inputs and parameters; the models run in float32,
so values are compared with rtol/atol 1e-5 (a few float32 roundings of O(1) numbers per output).
Sizes are PacGAN's where only shapes are traced, tiny (width 8) where values are compared.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import config as config_lib
from jaxgan import models
from jaxgan.models import layers
from jaxgan.models.mlp import BatchNormMLPGenerator, MaxoutCritic

TOL = dict(rtol=1e-5, atol=1e-5)


def _np_maxout_layer(x, kernel, bias, pieces):
  """(x W + b) grouped by consecutive ``pieces`` features, maximum of each group (float64)."""
  h = np.asarray(x, np.float64) @ np.asarray(kernel, np.float64) + np.asarray(bias, np.float64)
  return h.reshape(h.shape[0], -1, pieces).max(axis=-1)


def test_maxout_is_the_max_over_consecutive_groups():
  rng = np.random.default_rng(0)
  h = rng.standard_normal((4, 15)).astype(np.float32)
  got = np.asarray(layers.maxout(jnp.asarray(h), 5))
  want = np.stack([h[:, 5 * j:5 * j + 5].max(axis=1) for j in range(3)], axis=1)
  np.testing.assert_array_equal(got, want)  # a max selects an element: exact
  with pytest.raises(ValueError, match="pieces"):
    layers.maxout(jnp.asarray(h), 4)


def test_maxout_critic_equals_numpy_reference():
  critic = MaxoutCritic(hidden_dim=8, num_hidden=3, pieces=5)
  key_p, key_x = jax.random.split(jax.random.PRNGKey(11))
  x = jax.random.normal(key_x, (6, 2))
  variables = critic.init(key_p, x)
  params = jax.tree_util.tree_map(  # fresh, O(1) parameters (the N(0, 0.02) init is near zero)
      lambda p: jax.random.normal(jax.random.PRNGKey(p.size), p.shape), variables["params"])
  got = np.asarray(critic.apply({"params": params}, x))
  h = np.asarray(x, np.float64)
  for i in range(3):
    h = _np_maxout_layer(h, params[f"hidden{i}"]["kernel"], params[f"hidden{i}"]["bias"], 5)
  want = h @ np.asarray(params["out"]["kernel"], np.float64) + np.asarray(params["out"]["bias"])
  assert got.shape == (6,)
  np.testing.assert_allclose(got, want[:, 0], **TOL)


def test_pacgan_networks_have_the_papers_sizes():
  """Parameter counts by hand from PacGAN's pacgan_task.py (z in R^2, x in R^2):
  G: 2x400 (no bias) + BN 2*400, 3 x (400x400 + BN 800), 400x2 + 2 = 800 + 800 + 3 * 160,800 + 802
     = 484,802;  D: maxout 2 -> 200x5: 2*1000 + 1000; 2 x (200*1000 + 1000); 200 + 1 = 405,201."""
  z = jnp.zeros((4, 2))
  g_vars = jax.eval_shape(BatchNormMLPGenerator().init, jax.random.PRNGKey(0), z)
  d_vars = jax.eval_shape(MaxoutCritic().init, jax.random.PRNGKey(0), z)
  count = lambda t: sum(int(np.prod(l.shape)) for l in jax.tree_util.tree_leaves(t))
  assert count(g_vars["params"]) == 484_802
  assert count(d_vars["params"]) == 405_201
  assert set(g_vars) == {"params", "batch_stats"} and set(d_vars) == {"params"}
  assert "bias" not in g_vars["params"]["hidden0"]  # BN's shift replaces the bias


def test_models_build_picks_pacgan_networks():
  config = config_lib.load_config("ring8_gan_pacgan")
  gen, critic = models.build(config, (2,))
  assert isinstance(gen, BatchNormMLPGenerator) and isinstance(critic, MaxoutCritic)
  assert (gen.hidden_dim, gen.num_hidden, gen.bn_momentum) == (400, 4, 0.95)
  assert (critic.hidden_dim, critic.num_hidden, critic.pieces) == (200, 3, 5)


def _np_generator(z, params, stats, eps):
  """Forward pass of BatchNormMLPGenerator in float64; ``stats`` None: batch statistics
  (biased variance), else the running ``(mean, var)`` per layer. Returns (x, batch (mean, var))."""
  h = np.asarray(z, np.float64)
  batch = []
  i = 0
  while f"hidden{i}" in params:
    h = h @ np.asarray(params[f"hidden{i}"]["kernel"], np.float64)
    mean, var = (h.mean(0), h.var(0)) if stats is None else stats[i]
    batch.append((h.mean(0), h.var(0)))
    bn = params[f"bn{i}"]
    h = (h - mean) / np.sqrt(var + eps) * np.asarray(bn["scale"]) + np.asarray(bn["bias"])
    h = np.maximum(h, 0.0)
    i += 1
  return h @ np.asarray(params["out"]["kernel"], np.float64) + np.asarray(params["out"]["bias"]), batch


def test_generator_batch_norm_batch_stats_in_training_running_stats_in_eval():
  gen = BatchNormMLPGenerator(hidden_dim=8, num_hidden=2)
  key_p, key_z, key_s = jax.random.split(jax.random.PRNGKey(5), 3)
  z = jax.random.normal(key_z, (16, 2))
  variables = gen.init(key_p, z)
  params = jax.tree_util.tree_map(
      lambda p: 0.5 + jax.random.uniform(jax.random.PRNGKey(p.size + p.ndim), p.shape),
      variables["params"])
  old = {name: {"mean": jax.random.normal(jax.random.fold_in(key_s, 2 * i), (8,)),
                "var": 0.5 + jax.random.uniform(jax.random.fold_in(key_s, 2 * i + 1), (8,))}
         for i, name in enumerate(("bn0", "bn1"))}
  v = {"params": params, "batch_stats": old}
  # Training: batch statistics, and the running ones move 5% towards them (momentum 0.95).
  x, updates = gen.apply(v, z, train=True, mutable=["batch_stats"])
  want, batch = _np_generator(z, params, None, gen.bn_epsilon)
  np.testing.assert_allclose(np.asarray(x), want, **TOL)
  for i, name in enumerate(("bn0", "bn1")):
    for j, stat in enumerate(("mean", "var")):
      np.testing.assert_allclose(np.asarray(updates["batch_stats"][name][stat]),
                                 0.95 * np.asarray(old[name][stat]) + 0.05 * batch[i][j], **TOL)
  # Evaluation: the running statistics; each sample's output does not depend on the others.
  x_eval = gen.apply(v, z, train=False)
  stats = [(np.asarray(old[n]["mean"]), np.asarray(old[n]["var"])) for n in ("bn0", "bn1")]
  want_eval, _ = _np_generator(z, params, stats, gen.bn_epsilon)
  np.testing.assert_allclose(np.asarray(x_eval), want_eval, **TOL)
  np.testing.assert_allclose(np.asarray(gen.apply(v, z[:3], train=False)), want_eval[:3], **TOL)
  assert not np.allclose(np.asarray(x_eval), want, atol=1e-2)  # the two modes differ here


def test_spectral_norm_on_maxout_layers_bounds_the_slope():
  """With spectral_norm every kernel (a maxout layer's whole [in, F * pieces] one) is divided by its
  largest singular value: after enough power iterations sigma matches NumPy's SVD, and since maxout
  is 1-Lipschitz the critic's input gradient has norm <= 1."""
  critic = MaxoutCritic(hidden_dim=8, num_hidden=3, pieces=5, spectral_norm=True)
  x = jax.random.normal(jax.random.PRNGKey(3), (32, 2))
  variables = critic.init(jax.random.PRNGKey(4), x)
  params = variables["params"]
  spectral = variables["spectral"]
  step = jax.jit(lambda s: critic.apply({"params": params, "spectral": s}, x, update_stats=True,
                                        mutable=["spectral"])[1]["spectral"])
  for _ in range(200):  # power iteration converges geometrically in (sigma_2 / sigma_1)^2
    spectral = step(spectral)
  for name in ("hidden0", "hidden1", "hidden2", "out"):
    sigma = np.linalg.svd(np.asarray(params[name]["kernel"], np.float64), compute_uv=False)[0]
    np.testing.assert_allclose(float(spectral[name]["sigma"]), sigma, rtol=1e-4)
  assert params["hidden1"]["kernel"].shape == (8, 40)
  grad = jax.vmap(jax.grad(lambda p: critic.apply({"params": params, "spectral": spectral},
                                                  p[None])[0]))(x)
  norms = np.linalg.norm(np.asarray(grad), axis=1)
  assert norms.max() <= 1.0 + 1e-4, norms.max()

"""Tests for jaxgan.losses: GAN losses, the WGAN-GP and R1 penalties, weight clipping.

Every expected value names its source in a comment: "by hand", "NumPy reference" (float64 NumPy
on the same inputs), "closed form" (an analytic result for that critic), "finite differences"
(central, in float64) or "torch" (torch.autograd on the same weights and interpolates).

Float64 is enabled only inside ``with jax.enable_x64(True):`` blocks, never globally
(``jax.experimental.enable_x64`` no longer exists in this JAX version; ``jax.enable_x64`` is its
context-manager replacement). Shapes are tiny and jitted signatures few, so the file runs in
seconds on two CPU cores.
"""

from __future__ import annotations

import functools
import re

import chex
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit  # NumPy-side sigmoid for the closed-form gradients

from jaxgan import losses

B = 5  # batch size of the loss tests
VEC = (4, 3)  # a batch of vectors [B, D] for the penalty tests
IMG = (4, 2, 3, 2)  # a batch of images [B, H, W, C] for the penalty tests

# float32 results compared with float64 NumPy references: a mean of a handful of O(1..10) terms
# carries a relative rounding error of a few float32 ulps (~1e-7), so 1e-5 is a safe bound.
F32_TOL = dict(rtol=1e-5, atol=1e-6)


def _softplus(x):
  """NumPy reference softplus, exact for logits of any magnitude."""
  return np.logaddexp(0.0, x)


def _relu(x):
  return np.maximum(x, 0.0)


# (function, number of score arguments, float64 NumPy reference on flattened [B] inputs).
LOSS_CASES = [
    (losses.minimax_discriminator_loss, 2,
     lambda r, f: np.mean(_softplus(-r)) + np.mean(_softplus(f))),
    (losses.minimax_generator_loss, 1, lambda f: -np.mean(_softplus(f))),
    (losses.non_saturating_generator_loss, 1, lambda f: np.mean(_softplus(-f))),
    (losses.wasserstein_critic_loss, 2, lambda r, f: np.mean(f) - np.mean(r)),
    (losses.wasserstein_generator_loss, 1, lambda f: -np.mean(f)),
    (losses.hinge_discriminator_loss, 2,
     lambda r, f: np.mean(_relu(1.0 - r)) + np.mean(_relu(1.0 + f))),
    (losses.hinge_generator_loss, 1, lambda f: -np.mean(f)),
    (losses.drift_penalty, 1, lambda r: np.mean(np.square(r))),
]
LOSS_IDS = [fn.__name__ for fn, _, _ in LOSS_CASES]
# One jitted wrapper per loss, shared by every test so each (loss, shape) compiles once.
JITTED = {fn.__name__: jax.jit(fn) for fn, _, _ in LOSS_CASES}


# ----------------------------------------------------------------------------------------------------
# Critics used by the penalty tests
# ----------------------------------------------------------------------------------------------------
def _linear_critic(w):
  """c(x) = flatten(x) . w, output [B]; its input gradient is w for every sample."""
  return lambda x: x.reshape(x.shape[0], -1) @ w


def _quadratic_critic(x):
  """c(x) = 0.5 ||x||^2 per sample, output [B, 1]; its input gradient is x itself."""
  return 0.5 * jnp.sum(jnp.square(x.reshape(x.shape[0], -1)), axis=1, keepdims=True)


def _mlp_init(rng, sizes):
  """NumPy float64 parameters of a dense tanh MLP (converted to JAX by the caller, in its dtype)."""
  return [{"w": rng.standard_normal((m, n)) / np.sqrt(m), "b": 0.1 * rng.standard_normal(n)}
          for m, n in zip(sizes[:-1], sizes[1:])]


def _to_jax(tree, dtype):
  return jax.tree.map(lambda a: jnp.asarray(a, dtype), tree)


def _mlp_apply(params, x):
  """Per-sample tanh MLP on flattened inputs: [B, ...] -> [B, 1]. No cross-sample operation."""
  h = x.reshape(x.shape[0], -1)
  for layer in params[:-1]:
    h = jnp.tanh(h @ layer["w"] + layer["b"])
  return h @ params[-1]["w"] + params[-1]["b"]


@functools.partial(jax.jit, static_argnames=("one_sided",))
def _gp_linear(w, real, fake, key, target=1.0, one_sided=False):
  return losses.gradient_penalty(_linear_critic(w), real, fake, key, target=target,
                                 one_sided=one_sided)


@jax.jit
def _gp_quadratic(real, fake, key):
  return losses.gradient_penalty(_quadratic_critic, real, fake, key)


@jax.jit
def _gp_mlp(params, real, fake, key):
  return losses.gradient_penalty(functools.partial(_mlp_apply, params), real, fake, key)


_interpolate = jax.jit(losses.interpolate)


def _batch_norms(x):
  """NumPy reference: per-sample L2 norm over all non-batch axes, in float64."""
  x = np.asarray(x, np.float64)
  return np.linalg.norm(x.reshape(x.shape[0], -1), axis=1)


# ----------------------------------------------------------------------------------------------------
# 1. Losses
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(B,), (B, 1)], ids=["[B]", "[B,1]"])
@pytest.mark.parametrize("fn, n_args, ref", LOSS_CASES, ids=LOSS_IDS)
def test_loss_matches_numpy_reference(fn, n_args, ref, shape):
  rng = np.random.default_rng(0)
  args = [(3.0 * rng.standard_normal(shape)).astype(np.float32) for _ in range(n_args)]
  got = JITTED[fn.__name__](*args)
  assert got.shape == ()
  # Expected: NumPy reference in float64 on the same float32 inputs.
  expected = ref(*[a.astype(np.float64).reshape(-1) for a in args])
  np.testing.assert_allclose(got, expected, **F32_TOL)


@pytest.mark.parametrize("fn, n_args, ref", LOSS_CASES, ids=LOSS_IDS)
def test_loss_finite_and_correct_at_extreme_logits(fn, n_args, ref):
  # Same shape [B] as above, so the jitted loss does not recompile.
  extremes = [np.array([1e4, -1e4, 1e4, -1e4, 0.0], np.float32),
              np.array([-1e4, -1e4, 1e4, 1e4, 0.0], np.float32)][:n_args]
  got = JITTED[fn.__name__](*extremes)
  assert np.isfinite(got)
  # Expected: NumPy reference (np.logaddexp is exact at +-1e4). Relative float32 tolerance only: at
  # 1e4-sized values an absolute 1e-6 would be below one ulp.
  np.testing.assert_allclose(got, ref(*[e.astype(np.float64) for e in extremes]), rtol=1e-6)


def test_bce_losses_named_extreme_values():
  pos = np.full(B, 1e4, np.float32)
  neg = np.full(B, -1e4, np.float32)
  d = JITTED["minimax_discriminator_loss"]
  # By hand: a confident, correct discriminator: softplus(-1e4) + softplus(-1e4) = 0 in float32.
  np.testing.assert_allclose(d(pos, neg), 0.0, atol=1e-30)
  # By hand: a confident, wrong discriminator: softplus(1e4) + softplus(1e4) = 2e4.
  np.testing.assert_allclose(d(neg, pos), 2e4, rtol=1e-6)
  # By hand: -log sigmoid(-1e4) = softplus(1e4) = 1e4 (the non-saturating loss keeps its gradient).
  np.testing.assert_allclose(JITTED["non_saturating_generator_loss"](neg), 1e4, rtol=1e-6)
  # By hand: log(1 - sigmoid(-1e4)) = -softplus(-1e4) = 0 (the saturating loss is flat there).
  np.testing.assert_allclose(JITTED["minimax_generator_loss"](neg), 0.0, atol=1e-30)
  # By hand: log(1 - sigmoid(1e4)) = -softplus(1e4) = -1e4.
  np.testing.assert_allclose(JITTED["minimax_generator_loss"](pos), -1e4, rtol=1e-6)


def test_bce_gradients_at_extreme_logits_match_closed_forms():
  r = np.array([1e4, -1e4, 1e4, -1e4, 0.0], np.float32)
  f = np.array([-1e4, 1e4, 1e4, -1e4, 0.0], np.float32)
  r64, f64 = r.astype(np.float64), f.astype(np.float64)
  grad_r, grad_f = jax.jit(jax.grad(losses.minimax_discriminator_loss, argnums=(0, 1)))(r, f)
  g_sat = jax.jit(jax.grad(losses.minimax_generator_loss))(f)
  g_ns = jax.jit(jax.grad(losses.non_saturating_generator_loss))(f)
  for g in (grad_r, grad_f, g_sat, g_ns):
    assert np.all(np.isfinite(g))
  # Closed form: d/dt softplus(-t) = -sigmoid(-t), d/dt softplus(t) = sigmoid(t); the batch mean
  # contributes 1/B. Sigmoid evaluated with scipy's expit (0, 1/2 or 1 at these logits).
  np.testing.assert_allclose(grad_r, -expit(-r64) / B, **F32_TOL)
  np.testing.assert_allclose(grad_f, expit(f64) / B, **F32_TOL)
  np.testing.assert_allclose(g_sat, -expit(f64) / B, **F32_TOL)  # vanishes at f = -1e4
  np.testing.assert_allclose(g_ns, -expit(-f64) / B, **F32_TOL)  # -1/B at f = -1e4


@pytest.mark.parametrize("bad_shape", [(B, 2), (), (B, 1, 1)], ids=["[B,2]", "scalar", "[B,1,1]"])
@pytest.mark.parametrize("fn, n_args, ref", LOSS_CASES, ids=LOSS_IDS)
def test_loss_rejects_bad_shapes(fn, n_args, ref, bad_shape):
  del ref
  good = np.zeros(B, np.float32)
  bad = np.zeros(bad_shape, np.float32)
  # Expected (by hand): the message states the accepted shapes and the offending one.
  pattern = re.escape(f"got shape {bad_shape}")
  for position in range(n_args):
    args = [good] * n_args
    args[position] = bad
    with pytest.raises(ValueError, match=pattern) as info:
      fn(*args)
    assert "[B] or [B, 1]" in str(info.value)


def test_loss_rejects_empty_batch():
  with pytest.raises(ValueError, match="empty"):
    losses.wasserstein_generator_loss(np.zeros((0,), np.float32))


def test_two_sided_losses_accept_different_batch_sizes():
  rng = np.random.default_rng(1)
  r = rng.standard_normal(B).astype(np.float32)
  f = rng.standard_normal((3, 1)).astype(np.float32)  # B' = 3, [B', 1]
  # NumPy reference: each term is its own batch mean.
  np.testing.assert_allclose(losses.minimax_discriminator_loss(r, f),
                             np.mean(_softplus(-r.astype(np.float64)))
                             + np.mean(_softplus(f.astype(np.float64))), **F32_TOL)
  np.testing.assert_allclose(losses.hinge_discriminator_loss(r, f),
                             np.mean(_relu(1.0 - r.astype(np.float64)))
                             + np.mean(_relu(1.0 + f.astype(np.float64))), **F32_TOL)


# ----------------------------------------------------------------------------------------------------
# 2. interpolate and gradient_penalty
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [VEC, IMG], ids=["vectors", "images"])
def test_interpolate_draws_one_eps_per_sample_in_unit_interval(shape):
  key = jax.random.key(0)
  real, fake = np.ones(shape, np.float32), np.zeros(shape, np.float32)
  # With real = 1 and fake = 0 the interpolate is eps itself (by hand).
  eps_grid = np.asarray(_interpolate(real, fake, key)).reshape(shape[0], -1)
  assert np.all(np.ptp(eps_grid, axis=1) == 0.0)  # constant within a sample
  eps = eps_grid[:, 0]
  assert np.all((eps >= 0.0) & (eps <= 1.0))
  assert len(np.unique(eps)) == shape[0]  # different across the batch
  # Expected: the same draw done independently, uniform(key, (B, 1, ...)).
  drawn = jax.random.uniform(key, (shape[0],) + (1,) * (len(shape) - 1))
  np.testing.assert_array_equal(eps, np.asarray(drawn).reshape(-1))
  # A different key gives different weights.
  other = np.asarray(_interpolate(real, fake, jax.random.key(1))).reshape(shape[0], -1)[:, 0]
  assert not np.allclose(eps, other)


def test_interpolate_matches_numpy_formula():
  rng = np.random.default_rng(2)
  real = rng.standard_normal(IMG).astype(np.float32)
  fake = rng.standard_normal(IMG).astype(np.float32)
  key = jax.random.key(3)
  eps = np.asarray(jax.random.uniform(key, (IMG[0], 1, 1, 1)), np.float64)
  # NumPy reference: eps * real + (1 - eps) * fake with eps broadcast over H, W, C.
  expected = eps * real + (1.0 - eps) * fake
  np.testing.assert_allclose(_interpolate(real, fake, key), expected, **F32_TOL)


@pytest.mark.parametrize("real_shape, fake_shape", [((4, 3), (4, 2)), ((4, 3), (3, 3)),
                                                    ((4, 2, 2, 1), (4, 2, 2))])
def test_interpolate_rejects_shape_mismatch(real_shape, fake_shape):
  key = jax.random.key(0)
  # Expected (by hand): the message names both shapes.
  with pytest.raises(ValueError, match=re.escape(f"{real_shape} and {fake_shape}")):
    losses.interpolate(np.zeros(real_shape, np.float32), np.zeros(fake_shape, np.float32), key)


def test_interpolate_rejects_empty_and_integer_batches():
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="non-empty"):
    losses.interpolate(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), key)
  with pytest.raises(ValueError, match="floating point"):
    losses.interpolate(np.zeros((2, 3), np.int32), np.zeros((2, 3), np.int32), key)


@pytest.mark.parametrize("shape", [VEC, IMG], ids=["vectors", "images"])
def test_gradient_penalty_linear_critic_is_independent_of_interpolation(shape):
  rng = np.random.default_rng(4)
  w = rng.standard_normal(int(np.prod(shape[1:]))).astype(np.float32)
  # Closed form: the input gradient of x . w is w everywhere, so GP = (||w|| - 1)^2 for any x_hat.
  expected = (np.linalg.norm(w.astype(np.float64)) - 1.0) ** 2
  for seed in range(3):
    real = rng.standard_normal(shape).astype(np.float32)
    fake = (5.0 * rng.standard_normal(shape)).astype(np.float32)
    got = _gp_linear(w, real, fake, jax.random.key(seed))
    np.testing.assert_allclose(got, expected, **F32_TOL)


@pytest.mark.parametrize("shape", [VEC, IMG], ids=["vectors", "images"])
def test_gradient_penalty_quadratic_critic_matches_interpolates(shape):
  rng = np.random.default_rng(5)
  real = rng.standard_normal(shape).astype(np.float32)
  fake = (0.3 * rng.standard_normal(shape)).astype(np.float32)
  key = jax.random.key(7)
  got = _gp_quadratic(real, fake, key)
  # Closed form: the input gradient of 0.5 ||x||^2 is x, so GP = mean_i (||x_hat_i|| - 1)^2.
  # (a) x_hat from losses.interpolate with the same key; norms in NumPy.
  x_hat = np.asarray(_interpolate(real, fake, key))
  np.testing.assert_allclose(got, np.mean((_batch_norms(x_hat) - 1.0) ** 2), **F32_TOL)
  # (b) x_hat rebuilt independently from eps = uniform(key, (B, 1, ...)), entirely in NumPy.
  eps = np.asarray(jax.random.uniform(key, (shape[0],) + (1,) * (len(shape) - 1)), np.float64)
  x_hat_np = eps * real + (1.0 - eps) * fake
  np.testing.assert_allclose(got, np.mean((_batch_norms(x_hat_np) - 1.0) ** 2), **F32_TOL)


def test_gradient_penalty_target_and_one_sided():
  rng = np.random.default_rng(6)
  real = rng.standard_normal(VEC).astype(np.float32)
  fake = rng.standard_normal(VEC).astype(np.float32)
  key = jax.random.key(0)
  direction = rng.standard_normal(VEC[1])
  direction /= np.linalg.norm(direction)
  w_small = (0.5 * direction).astype(np.float32)  # ||w|| = 0.5, under the target 1
  w_large = (2.0 * direction).astype(np.float32)  # ||w|| = 2, over the target 1
  # By hand: every slope is 0.5 < 1, so the one-sided penalty is exactly 0 ...
  assert float(_gp_linear(w_small, real, fake, key, one_sided=True)) == 0.0
  # ... while the two-sided one is (0.5 - 1)^2 = 0.25.
  np.testing.assert_allclose(_gp_linear(w_small, real, fake, key), 0.25, **F32_TOL)
  # By hand: above the target both variants give (2 - 1)^2 = 1.
  np.testing.assert_allclose(_gp_linear(w_large, real, fake, key, one_sided=True), 1.0, **F32_TOL)
  np.testing.assert_allclose(_gp_linear(w_large, real, fake, key), 1.0, **F32_TOL)
  # By hand: target gamma = 0.5 with slope 0.5 gives 0; target 3 with slope 2 gives (2 - 3)^2 = 1.
  np.testing.assert_allclose(_gp_linear(w_small, real, fake, key, target=0.5), 0.0, atol=1e-12)
  np.testing.assert_allclose(_gp_linear(w_large, real, fake, key, target=3.0), 1.0, **F32_TOL)


def test_gradient_penalty_zero_input_gradient_linear_critic():
  rng = np.random.default_rng(7)
  real = rng.standard_normal(VEC).astype(np.float32)
  fake = rng.standard_normal(VEC).astype(np.float32)
  key = jax.random.key(0)
  w0 = np.zeros(VEC[1], np.float32)
  value, grad = jax.jit(jax.value_and_grad(_gp_linear))(w0, real, fake, key)
  # Closed form: GP(w) = (||w|| - 1)^2, so GP(0) = 1.
  np.testing.assert_allclose(value, 1.0, **F32_TOL)
  assert np.all(np.isfinite(grad))
  # Closed form: GP(w) = 1 - 2||w|| + ||w||^2 has a kink at w = 0 (slope -2 in every direction); its
  # Clarke subdifferential is the ball of radius 2, whose minimum-norm element 0 is what the safe
  # norm returns.
  np.testing.assert_array_equal(grad, np.zeros_like(w0))

  # Why the test matters: the same penalty with a plain jnp.linalg.norm has a NaN gradient here.
  def naive_gp(w):
    x_hat = losses.interpolate(real, fake, key)
    g = jax.grad(lambda x: jnp.sum(_linear_critic(w)(x)))(x_hat)
    return jnp.mean(jnp.square(jnp.linalg.norm(g, axis=1) - 1.0))

  assert np.all(np.isnan(jax.jit(jax.grad(naive_gp))(w0)))


def test_gradient_penalty_zero_input_gradient_dead_relu_critic():
  rng = np.random.default_rng(8)
  real = rng.uniform(0.0, 1.0, VEC).astype(np.float32)
  fake = rng.uniform(0.0, 1.0, VEC).astype(np.float32)
  key = jax.random.key(0)
  params = {"w": (0.1 * rng.standard_normal((VEC[1], 6))).astype(np.float32),
            "b": np.full(6, -10.0, np.float32),  # every pre-activation is below zero
            "v": rng.standard_normal(6).astype(np.float32)}

  def relu_critic(p, x):
    return jax.nn.relu(x @ p["w"] + p["b"]) @ p["v"]

  x_hat = np.asarray(_interpolate(real, fake, key))
  assert np.all(x_hat @ params["w"] + params["b"] < -5.0)  # precondition: all units dead

  def penalty(p):
    return losses.gradient_penalty(functools.partial(relu_critic, p), real, fake, key)

  value, grads = jax.jit(jax.value_and_grad(penalty))(params)
  # Closed form: with every unit dead the critic is 0 in a neighbourhood of these parameters, so
  # GP = (0 - 1)^2 = 1 there and its gradient with respect to every parameter is exactly 0.
  np.testing.assert_allclose(value, 1.0, **F32_TOL)
  for leaf in jax.tree.leaves(grads):
    assert np.all(np.isfinite(leaf))
    np.testing.assert_array_equal(leaf, np.zeros_like(leaf))


def test_gradient_penalty_param_gradient_matches_finite_differences():
  rng = np.random.default_rng(9)
  params_np = _mlp_init(rng, (3, 5, 1))  # 26 parameters
  real_np = rng.standard_normal(VEC)
  fake_np = rng.standard_normal(VEC)
  h = 1e-6
  with jax.enable_x64(True):
    params = _to_jax(params_np, jnp.float64)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    assert flat.dtype == jnp.float64
    real, fake = jnp.asarray(real_np, jnp.float64), jnp.asarray(fake_np, jnp.float64)
    key = jax.random.key(10)

    def penalty(theta):
      return losses.gradient_penalty(functools.partial(_mlp_apply, unravel(theta)), real, fake, key)

    grad = np.asarray(jax.jit(jax.grad(penalty))(flat))
    # Finite differences: (GP(theta + h e_k) - GP(theta - h e_k)) / 2h for every coordinate k,
    # evaluated in one vmapped call.
    basis = jnp.eye(flat.size, dtype=jnp.float64)
    fd = np.asarray(jax.jit(jax.vmap(
        lambda e: (penalty(flat + h * e) - penalty(flat - h * e)) / (2.0 * h)))(basis))
  assert grad.dtype == np.float64
  # Tolerance: the central difference has truncation error h^2 |GP'''| / 6 ~ 1e-13 and rounding
  # error ~ 2^-52 |GP| / h ~ 1e-10 (GP is O(1) here), so agreement to 1e-7 absolute leaves three
  # orders of margin while still catching any real error in the second-order gradient.
  np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)
  assert np.max(np.abs(grad)) > 1e-3  # the comparison is not between two near-zero vectors


def test_sum_trick_equals_per_sample_gradients_without_cross_sample_ops():
  rng = np.random.default_rng(11)
  params = _to_jax(_mlp_init(rng, (VEC[1], 8, 1)), jnp.float32)
  x = rng.standard_normal(VEC).astype(np.float32)
  critic = functools.partial(_mlp_apply, params)
  got = jax.jit(losses.input_gradient_norms, static_argnums=0)(critic, x)
  # Reference: per-sample gradients, each sample alone through the critic (jax.vmap of jax.grad).
  per_sample = jax.vmap(jax.grad(lambda xi: critic(xi[None])[0, 0]))(x)
  np.testing.assert_allclose(got, _batch_norms(per_sample), **F32_TOL)


def test_sum_trick_differs_with_cross_sample_ops():
  """Documents the caveat: a critic that couples samples breaks the one-backward sum trick."""
  rng = np.random.default_rng(12)
  params = _to_jax(_mlp_init(rng, (VEC[1], 8, 1)), jnp.float32)
  x = rng.standard_normal(VEC).astype(np.float32)
  n = VEC[0]

  def centred_critic(xb):  # subtracts the batch mean: a cross-sample operation, like batch norm
    return _mlp_apply(params, xb - jnp.mean(xb, axis=0, keepdims=True))

  got = np.asarray(losses.input_gradient_norms(centred_critic, x))
  # Reference for "per-sample gradient": d c(x)_i / d x_i, the diagonal blocks of the Jacobian.
  jac = np.asarray(jax.jacrev(centred_critic)(x))  # [B, 1, B, D]
  diag = np.stack([jac[i, 0, i] for i in range(n)])
  assert np.max(np.abs(got - _batch_norms(diag))) > 1e-2  # the sum trick is a different quantity
  # Closed form of what the sum trick does compute: with g_i the MLP gradient at the centred x_i,
  # d/dx_j sum_i c_i = g_j - mean_i g_i, while the diagonal block is g_j (1 - 1/B).
  g = np.asarray(jax.vmap(jax.grad(lambda xi: _mlp_apply(params, xi[None])[0, 0]))(
      x - x.mean(axis=0, keepdims=True)), np.float64)
  np.testing.assert_allclose(got, _batch_norms(g - g.mean(axis=0, keepdims=True)), **F32_TOL)
  np.testing.assert_allclose(diag, g * (1.0 - 1.0 / n), **F32_TOL)


def test_gradient_penalty_under_vmap_matches_python_loop():
  rng = np.random.default_rng(13)
  params = _to_jax(_mlp_init(rng, (VEC[1], 8, 1)), jnp.float32)
  k = 3  # independent batches, each with its own key
  reals = rng.standard_normal((k,) + VEC).astype(np.float32)
  fakes = rng.standard_normal((k,) + VEC).astype(np.float32)
  keys = jax.random.split(jax.random.key(14), k)
  batched = jax.jit(jax.vmap(_gp_mlp.__wrapped__, in_axes=(None, 0, 0, 0)))(params, reals, fakes,
                                                                          keys)
  # Reference: a Python loop over the batches with the jitted single-batch penalty.
  looped = np.array([_gp_mlp(params, reals[i], fakes[i], keys[i]) for i in range(k)])
  assert batched.shape == (k,)
  np.testing.assert_allclose(batched, looped, **F32_TOL)
  assert len(np.unique(looped)) == k  # the batches really are independent


# ----------------------------------------------------------------------------------------------------
# 3. Cross-check against PyTorch
# ----------------------------------------------------------------------------------------------------
def test_gradient_penalty_matches_pytorch():
  torch = pytest.importorskip("torch")
  rng = np.random.default_rng(15)
  params_np = _mlp_init(rng, (2, 16, 16, 1))
  n = 6
  real_np = rng.standard_normal((n, 2))
  fake_np = rng.standard_normal((n, 2)) + 2.0
  with jax.enable_x64(True):
    params = _to_jax(params_np, jnp.float64)
    real, fake = jnp.asarray(real_np, jnp.float64), jnp.asarray(fake_np, jnp.float64)
    key = jax.random.key(16)
    penalty = lambda p: losses.gradient_penalty(functools.partial(_mlp_apply, p), real, fake, key)
    value, grads = jax.jit(jax.value_and_grad(penalty))(params)
    value = np.asarray(value)
    grads = jax.tree.map(np.asarray, grads)
    # The eps interpolate draws, drawn the same way here and handed to torch explicitly.
    eps = np.asarray(jax.random.uniform(key, (n, 1), dtype=jnp.float64))
    # NumPy reference for x_hat (float64; 1e-14 allows for a fused multiply-add in XLA).
    np.testing.assert_allclose(np.asarray(losses.interpolate(real, fake, key)),
                               eps * real_np + (1.0 - eps) * fake_np, rtol=1e-14, atol=1e-14)
  assert value.dtype == np.float64

  # Torch: the textbook WGAN-GP with create_graph=True, float64, the same weights and x_hat.
  t_params = [{name: torch.tensor(a, dtype=torch.float64, requires_grad=True)
               for name, a in layer.items()} for layer in params_np]
  t_eps = torch.tensor(eps, dtype=torch.float64)
  x_hat = t_eps * torch.tensor(real_np) + (1.0 - t_eps) * torch.tensor(fake_np)
  x_hat.requires_grad_(True)
  h = x_hat
  for layer in t_params[:-1]:
    h = torch.tanh(h @ layer["w"] + layer["b"])
  out = h @ t_params[-1]["w"] + t_params[-1]["b"]
  (g,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
  t_value = ((g.norm(2, dim=1) - 1.0) ** 2).mean()
  leaves = [layer[name] for layer in t_params for name in ("w", "b")]
  # The output bias does not reach the input gradient, so torch leaves it out of the graph;
  # materialize_grads turns that into the zero JAX reports.
  t_grads = torch.autograd.grad(t_value, leaves, allow_unused=True, materialize_grads=True)
  # Expected: torch. Both sides compute the same float64 expression in a different operation order,
  # so they agree to ~1e-15 relative; 1e-10 is a comfortable bound.
  np.testing.assert_allclose(value, t_value.item(), rtol=1e-10, atol=1e-12)
  ours = [layer[name] for layer in grads for name in ("w", "b")]
  for got, expected in zip(ours, t_grads, strict=True):
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-10, atol=1e-12)
  np.testing.assert_array_equal(ours[-1], 0.0)  # by hand: d GP / d (output bias) = 0


# ----------------------------------------------------------------------------------------------------
# 4. r1_penalty and clip_weights
# ----------------------------------------------------------------------------------------------------
@jax.jit
def _r1_linear(w, x):
  return losses.r1_penalty(_linear_critic(w), x)


@pytest.mark.parametrize("shape", [VEC, IMG], ids=["vectors", "images"])
def test_r1_penalty_closed_forms(shape):
  rng = np.random.default_rng(17)
  x = rng.standard_normal(shape).astype(np.float32)
  w = rng.standard_normal(int(np.prod(shape[1:]))).astype(np.float32)
  # Closed form: the linear critic's input gradient is w for every sample, so R1 = ||w||^2.
  np.testing.assert_allclose(_r1_linear(w, x), np.sum(np.square(w.astype(np.float64))), **F32_TOL)
  # Closed form: the quadratic critic's input gradient is x, so R1 = mean_i ||x_i||^2 (NumPy).
  got = jax.jit(functools.partial(losses.r1_penalty, _quadratic_critic))(x)
  np.testing.assert_allclose(got, np.mean(_batch_norms(x) ** 2), **F32_TOL)


def test_r1_penalty_rejects_non_batch():
  with pytest.raises(ValueError, match=re.escape("got shape ()")):
    losses.r1_penalty(_quadratic_critic, np.float32(1.0))


def test_clip_weights_matches_np_clip_on_nested_pytree():
  rng = np.random.default_rng(18)
  params = {"conv": {"kernel": rng.standard_normal((2, 3)).astype(np.float32),
                     "bias": rng.standard_normal(3).astype(np.float32)},
            "head": {"kernel": (0.01 * rng.standard_normal((3, 1))).astype(np.float32),
                     "scale": np.float32(-4.0)}}
  c = 0.5
  clipped = losses.clip_weights(params, c)
  assert jax.tree.structure(clipped) == jax.tree.structure(params)
  # NumPy reference: np.clip leaf by leaf.
  check = lambda got, p: np.testing.assert_array_equal(got, np.clip(p, -c, c))
  jax.tree.map(check, clipped, params)
  # Under jit with a traced bound it still clips (the bound cannot be checked there).
  jitted = jax.jit(losses.clip_weights)(params, c)
  jax.tree.map(check, jitted, params)


@pytest.mark.parametrize("bad", [0, -1, 0.0, -1.0, float("nan"), np.float32(0.0),
                                 jnp.asarray(-1.0)],
                         ids=["0", "-1", "0.0", "-1.0", "nan", "np.float32(0)", "jnp(-1)"])
def test_clip_weights_rejects_non_positive_clip_value(bad):
  # Expected (by hand): c <= 0 (or NaN) is rejected, whatever scalar type carries it.
  with pytest.raises(ValueError, match="clip_value must be > 0"):
    losses.clip_weights({"w": np.ones(2, np.float32)}, bad)


# ----------------------------------------------------------------------------------------------------
# 5. No recompilation
# ----------------------------------------------------------------------------------------------------
def test_penalties_trace_once_for_new_values_of_the_same_shape():
  rng = np.random.default_rng(19)
  params = _to_jax(_mlp_init(rng, (VEC[1], 8, 1)), jnp.float32)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def gp_step(p, real, fake, key):
    return jax.value_and_grad(
        lambda q: losses.gradient_penalty(functools.partial(_mlp_apply, q), real, fake, key))(p)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def r1_step(p, x):
    return losses.r1_penalty(functools.partial(_mlp_apply, p), x)

  values = []
  for seed in range(2):  # new parameters, inputs and key each call; same shapes and dtypes
    p = jax.tree.map(lambda a: a + seed, params)
    real = rng.standard_normal(VEC).astype(np.float32)
    fake = rng.standard_normal(VEC).astype(np.float32)
    values.append(gp_step(p, real, fake, jax.random.key(seed))[0])
    r1_step(p, real)
  assert values[0] != values[1]  # the second call really ran on new values
  # The guard is live: a new shape would retrace, and chex refuses it.
  with pytest.raises(AssertionError):
    r1_step(params, np.zeros((VEC[0] + 1, VEC[1]), np.float32))

"""Tests for jaxgan.spectral: power iteration, the SN layers, operator norms and the audit helper.

Every expected value names its source in a comment: "NumPy SVD" (``np.linalg.svd`` in float64 on the
same matrix, reshaped independently in NumPy), "Algorithm 1" (the SNGAN paper's power iteration
written in float64 NumPy), "torch" (``torch.nn.utils.parametrizations.spectral_norm`` on the same
weights and vectors), "flax" (``flax.linen.SpectralNorm`` / ``nn.Dense`` / ``nn.Conv`` /
``nn.ConvTranspose`` with the same variables), "brute force" (the full matrix of a tiny convolution
from ``jax.jacfwd``, then NumPy SVD), "closed form" or "by hand".

Float64 is enabled only inside ``with jax.enable_x64(True):`` blocks (``jax.experimental.enable_x64``
no longer exists in this JAX version), never globally. Shapes are tiny so the file runs in seconds.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import spectral
from jaxgan.spectral import SNConv, SNConvTranspose, SNDense, power_iteration

# float32 results against float64 references: O(1) quantities from a few dozen flops each.
F32_TOL = dict(rtol=1e-5, atol=1e-6)


def _np_normalize(x, eps=1e-12):
  """NumPy reference of the module's normalisation, x / max(||x||, eps) (= torch F.normalize)."""
  return x / max(np.linalg.norm(x), eps)


def _np_sigma_max(m):
  """NumPy SVD: the largest singular value, in float64."""
  return np.linalg.svd(np.asarray(m, np.float64), compute_uv=False)[0]


def _np_conv_matrix(kernel):
  """NumPy reshape of a flax conv kernel [kh, kw, in, out] to [out, in*kh*kw] (torch flatten(1))."""
  k = np.asarray(kernel)
  return np.transpose(k, (3, 2, 0, 1)).reshape(k.shape[3], -1)


def _unit(rng, n):
  return _np_normalize(rng.standard_normal(n))


def _with(variables, kernel=None, u=None, bias=None):
  """Copy of single-layer ``variables`` with kernel / u / bias replaced."""
  params = dict(variables["params"])
  spec = dict(variables["spectral"])
  if kernel is not None:
    params["kernel"] = jnp.asarray(kernel, jnp.float32)
  if bias is not None:
    params["bias"] = jnp.asarray(bias, jnp.float32)
  if u is not None:
    spec["u"] = jnp.asarray(u, jnp.float32)
  return {"params": params, "spectral": spec}


# ----------------------------------------------------------------------------------------------------
# power_iteration
# ----------------------------------------------------------------------------------------------------
def test_power_iteration_converges_to_svd_dense_and_conv():
  rng = np.random.default_rng(0)
  w = rng.standard_normal((8, 5))
  sigma, u_new = power_iteration(jnp.asarray(w, jnp.float32), jnp.asarray(_unit(rng, 8), jnp.float32),
                                 num_iters=300)
  np.testing.assert_allclose(sigma, _np_sigma_max(w), rtol=1e-4)  # NumPy SVD
  np.testing.assert_allclose(np.linalg.norm(u_new), 1.0, rtol=1e-6)  # by hand: u is a unit vector

  kernel = rng.standard_normal((3, 3, 2, 4))
  w_conv = spectral.reshape_kernel(jnp.asarray(kernel, jnp.float32), "conv")
  assert w_conv.shape == (4, 18)
  np.testing.assert_allclose(w_conv, _np_conv_matrix(kernel), rtol=1e-6)  # NumPy reshape
  sigma, _ = power_iteration(w_conv, jnp.asarray(_unit(rng, 4), jnp.float32), num_iters=300)
  np.testing.assert_allclose(sigma, _np_sigma_max(_np_conv_matrix(kernel)), rtol=1e-4)  # NumPy SVD


@pytest.mark.parametrize("num_iters", [1, 3])
def test_power_iteration_matches_algorithm1_float64(num_iters):
  rng = np.random.default_rng(1)
  w, u = rng.standard_normal((6, 4)), rng.standard_normal(6)
  # Algorithm 1 [SNGAN]: v = W^T u / ||W^T u||, u = W v / ||W v||, repeated; sigma = u^T W v.
  u_ref = u.copy()
  for _ in range(num_iters):
    v_ref = w.T @ u_ref / np.linalg.norm(w.T @ u_ref)
    u_ref = w @ v_ref / np.linalg.norm(w @ v_ref)
  sigma_ref = u_ref @ w @ v_ref
  with jax.enable_x64(True):
    sigma, u_new = power_iteration(jnp.asarray(w), jnp.asarray(u), num_iters=num_iters)
    assert sigma.dtype == jnp.float64
    np.testing.assert_allclose(sigma, sigma_ref, rtol=1e-13)  # Algorithm 1
    np.testing.assert_allclose(u_new, u_ref, rtol=1e-13, atol=1e-15)  # Algorithm 1


def test_power_iteration_u_update_matches_torch():
  torch = pytest.importorskip("torch")
  from torch.nn.utils.parametrizations import spectral_norm
  rng = np.random.default_rng(2)
  m, n, iters = 7, 5, 3
  w, u = rng.standard_normal((m, n)), _unit(rng, m)
  lin = spectral_norm(torch.nn.Linear(n, m, bias=False, dtype=torch.float64),
                      n_power_iterations=iters, eps=1e-12)
  sn = lin.parametrizations.weight[0]
  with torch.no_grad():
    lin.parametrizations.weight.original.copy_(torch.from_numpy(w))
    # torch advances u from its stored v (u = normalize(W v), then v = normalize(W^T u)): seeding
    # v = normalize(W^T u) makes its iterations coincide with ours started from u.
    sn._u.copy_(torch.from_numpy(u))
    sn._v.copy_(torch.from_numpy(_np_normalize(w.T @ u)))
  lin.train()
  _ = lin.weight  # a training-mode forward of the parametrization runs the power method
  u_torch = sn._u.detach().numpy()
  with jax.enable_x64(True):
    _, u_new = power_iteration(jnp.asarray(w), jnp.asarray(u), num_iters=iters)
    np.testing.assert_allclose(u_new, u_torch, rtol=1e-12, atol=1e-14)  # torch


def test_power_iteration_gradient_is_u_v_outer_and_none_through_u():
  rng = np.random.default_rng(3)
  w, u = rng.standard_normal((5, 3)), _unit(rng, 5)
  with jax.enable_x64(True):
    wj, uj = jnp.asarray(w), jnp.asarray(u)
    grad_w = jax.grad(lambda a: power_iteration(a, uj)[0])(wj)
    grad_u = jax.grad(lambda b: power_iteration(wj, b)[0])(uj)
  v = _np_normalize(w.T @ u)  # Algorithm 1, one step
  u1 = _np_normalize(w @ v)
  np.testing.assert_allclose(grad_w, np.outer(u1, v), rtol=1e-12, atol=1e-14)  # closed form u v^T
  np.testing.assert_array_equal(grad_u, np.zeros(5))  # by hand: u, v are stop_gradient'ed


def test_power_iteration_jit_and_vmap():
  rng = np.random.default_rng(4)
  ws = jnp.asarray(rng.standard_normal((3, 4, 2)), jnp.float32)
  us = jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  sig_v, u_v = jax.jit(jax.vmap(lambda a, b: power_iteration(a, b, 2)))(ws, us)
  for i in range(3):
    s_i, u_i = power_iteration(ws[i], us[i], 2)  # eager, one matrix at a time
    np.testing.assert_allclose(sig_v[i], s_i, **F32_TOL)
    np.testing.assert_allclose(u_v[i], u_i, **F32_TOL)


def test_scaled_identity_has_sigma_four():
  u = jnp.asarray([0.3, -1.0, 2.0], jnp.float32)
  sigma, _ = power_iteration(4.0 * jnp.eye(3), u)
  np.testing.assert_allclose(sigma, 4.0, rtol=1e-6)  # closed form: every singular value of 4 I is 4

  layer = SNDense(3, use_bias=False)
  x = jnp.asarray([[1.0, -2.0, 0.5]])
  variables = _with(layer.init(jax.random.PRNGKey(0), x, update_stats=False), kernel=4.0 * np.eye(3))
  y, upd = layer.apply(variables, x, update_stats=True, mutable=["spectral"])
  np.testing.assert_allclose(upd["spectral"]["sigma"], 4.0, rtol=1e-6)  # closed form
  np.testing.assert_allclose(y, x, rtol=1e-6)  # closed form: (4 I / 4) x = x


# ----------------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------------
def test_dense_matches_flax_spectral_norm():
  rng = np.random.default_rng(5)
  x = jnp.asarray(rng.standard_normal((2, 3)), jnp.float32)
  kernel, bias, u = rng.standard_normal((3, 4)), rng.standard_normal(4), _unit(rng, 4)

  ref = nn.SpectralNorm(nn.Dense(4), n_steps=1)
  ref_vars = ref.init(jax.random.PRNGKey(0), x, update_stats=False)
  # flax keeps u as [1, out] (its u lives in the output space, like ours) under these names:
  assert set(ref_vars["batch_stats"]) == {"layer_instance/kernel/u", "layer_instance/kernel/sigma"}
  assert ref_vars["batch_stats"]["layer_instance/kernel/u"].shape == (1, 4)
  ref_vars = {"params": {"layer_instance": {"kernel": jnp.asarray(kernel, jnp.float32),
                                            "bias": jnp.asarray(bias, jnp.float32)}},
              "batch_stats": {"layer_instance/kernel/u": jnp.asarray(u[None], jnp.float32),
                              "layer_instance/kernel/sigma": jnp.ones((), jnp.float32)}}
  y_ref, ref_upd = ref.apply(ref_vars, x, update_stats=True, mutable=["batch_stats"])

  layer = SNDense(4)
  variables = _with(layer.init(jax.random.PRNGKey(0), x, update_stats=False), kernel, u, bias)
  y, upd = layer.apply(variables, x, update_stats=True, mutable=["spectral"])
  # flax: same Algorithm 1 step; its normalisation x * rsqrt(|x|^2 + eps) differs by ~eps only.
  np.testing.assert_allclose(upd["spectral"]["sigma"],
                             ref_upd["batch_stats"]["layer_instance/kernel/sigma"], **F32_TOL)
  np.testing.assert_allclose(upd["spectral"]["u"], ref_upd["batch_stats"]["layer_instance/kernel/u"][0],
                             **F32_TOL)
  np.testing.assert_allclose(y, y_ref, **F32_TOL)  # flax


@pytest.mark.parametrize("kind", ["dense", "conv", "conv_transpose"])
def test_layers_match_flax_layers_with_normalized_kernel(kind):
  rng = np.random.default_rng(6)
  if kind == "dense":
    layer, ref = SNDense(3), nn.Dense(3)
    x = rng.standard_normal((2, 4))
  elif kind == "conv":
    layer, ref = SNConv(3, (3, 3), strides=2, padding="SAME"), nn.Conv(3, (3, 3), 2, "SAME")
    x = rng.standard_normal((2, 5, 5, 2))
  else:
    layer = SNConvTranspose(3, (3, 3), strides=2, padding="SAME")
    ref = nn.ConvTranspose(3, (3, 3), 2, "SAME")
    x = rng.standard_normal((2, 3, 3, 2))
  x = jnp.asarray(x, jnp.float32)
  variables = layer.init(jax.random.PRNGKey(1), x, update_stats=False)
  ref_params = ref.init(jax.random.PRNGKey(1), x)["params"]
  # flax: same parameter names and shapes as the plain layer.
  assert jax.tree_util.tree_map(jnp.shape, variables["params"]) == jax.tree_util.tree_map(
      jnp.shape, dict(ref_params))
  params = {"kernel": variables["params"]["kernel"],
            "bias": jnp.asarray(rng.standard_normal(3), jnp.float32)}
  variables = {"params": params, "spectral": variables["spectral"]}
  y, upd = layer.apply(variables, x, update_stats=True, mutable=["spectral"])
  sigma = upd["spectral"]["sigma"]
  y_ref = ref.apply({"params": {"kernel": params["kernel"] / sigma, "bias": params["bias"]}}, x)
  np.testing.assert_allclose(y, y_ref, **F32_TOL)  # flax layer with kernel W / sigma


def test_eval_keeps_u_and_train_updates_it_and_params_never_change():
  rng = np.random.default_rng(7)
  x = jnp.asarray(rng.standard_normal((2, 4, 4, 2)), jnp.float32)
  layer = SNConv(3, (3, 3))
  variables = layer.init(jax.random.PRNGKey(2), x, update_stats=False)
  u0, s0 = variables["spectral"]["u"], variables["spectral"]["sigma"]
  np.testing.assert_allclose(np.linalg.norm(u0), 1.0, rtol=1e-6)  # by hand: u is drawn as a unit

  _, upd = layer.apply(variables, x, update_stats=False, mutable=["spectral"])
  np.testing.assert_array_equal(upd["spectral"]["u"], u0)  # by hand: eval reads u only
  np.testing.assert_array_equal(upd["spectral"]["sigma"], s0)

  _, upd = layer.apply(variables, x, update_stats=True, mutable=True)
  assert not np.allclose(upd["spectral"]["u"], u0, atol=1e-3)  # by hand: training advances u
  # by hand: W / sigma lives only in the forward pass; 'params' comes back as it went in.
  for name in ("kernel", "bias"):
    np.testing.assert_array_equal(upd["params"][name], variables["params"][name])


def test_layer_gradient_flows_only_through_kernel():
  rng = np.random.default_rng(8)
  x = jnp.asarray(rng.standard_normal((2, 3)), jnp.float32)
  layer = SNDense(2)
  variables = layer.init(jax.random.PRNGKey(3), x, update_stats=False)

  def loss(params, spec):
    return jnp.sum(layer.apply({"params": params, "spectral": spec}, x, update_stats=False) ** 2)

  g_params, g_spec = jax.grad(loss, argnums=(0, 1))(variables["params"], variables["spectral"])
  assert float(jnp.abs(g_params["kernel"]).sum()) > 0  # by hand: W gets a gradient
  np.testing.assert_array_equal(g_spec["u"], 0.0)  # by hand: u is stop_gradient'ed
  np.testing.assert_array_equal(g_spec["sigma"], 0.0)  # by hand: stored sigma unused in forward


def test_conv_transpose_normalizes_by_output_channels():
  rng = np.random.default_rng(9)
  x = jnp.asarray(rng.standard_normal((1, 3, 3, 2)), jnp.float32)
  layer = SNConvTranspose(5, (3, 3), strides=2, num_iters=300)
  variables = layer.init(jax.random.PRNGKey(4), x, update_stats=False)
  kernel = np.asarray(variables["params"]["kernel"], np.float64)  # [kh, kw, in=2, out=5]
  _, upd = layer.apply(variables, x, update_stats=True, mutable=["spectral"])
  by_out = _np_sigma_max(np.transpose(kernel, (3, 2, 0, 1)).reshape(5, -1))  # NumPy SVD [out, ...]
  by_in = _np_sigma_max(np.transpose(kernel, (2, 3, 0, 1)).reshape(2, -1))  # NumPy SVD [in, ...]
  assert abs(by_out - by_in) > 0.05 * by_out  # the two conventions differ on this kernel
  assert upd["spectral"]["u"].shape == (5,)
  np.testing.assert_allclose(upd["spectral"]["sigma"], by_out, rtol=1e-4)  # NumPy SVD


def test_conv_transpose_u_update_matches_torch_dim1():
  torch = pytest.importorskip("torch")
  from torch.nn.utils.parametrizations import spectral_norm
  rng = np.random.default_rng(10)
  c_in, c_out = 2, 4
  x = jnp.asarray(rng.standard_normal((1, 3, 3, c_in)), jnp.float32)
  layer = SNConvTranspose(c_out, (3, 3), strides=2)
  kernel = rng.standard_normal((3, 3, c_in, c_out)).astype(np.float32)
  u = _unit(rng, c_out).astype(np.float32)
  variables = _with(layer.init(jax.random.PRNGKey(5), x, update_stats=False), kernel=kernel, u=u)
  _, upd = layer.apply(variables, x, update_stats=True, mutable=["spectral"])

  conv_t = torch.nn.ConvTranspose2d(c_in, c_out, 3, stride=2, bias=False)
  conv_t = spectral_norm(conv_t)  # torch picks dim=1 for ConvTranspose (pytorch issue #7865)
  sn = conv_t.parametrizations.weight[0]
  assert sn.dim == 1
  w_torch = np.transpose(kernel, (2, 3, 0, 1))  # torch ConvTranspose2d weight [in, out, kh, kw]
  w_mat = np.transpose(w_torch, (1, 0, 2, 3)).reshape(c_out, -1)  # torch's dim=1 matrix
  with torch.no_grad():
    conv_t.parametrizations.weight.original.copy_(torch.from_numpy(w_torch))
    sn._u.copy_(torch.from_numpy(u))
    sn._v.copy_(torch.from_numpy(_np_normalize(w_mat.T @ u).astype(np.float32)))
  conv_t.train()
  _ = conv_t.weight
  np.testing.assert_allclose(upd["spectral"]["u"], sn._u.numpy(), **F32_TOL)  # torch


def test_sn_critic_input_gradient_bounded_by_product_of_sigmas():

  class Critic(nn.Module):

    @nn.compact
    def __call__(self, x, *, update_stats):
      h = SNDense(16, num_iters=300)(x, update_stats=update_stats)
      h = nn.leaky_relu(h, 0.2)
      return SNDense(1, num_iters=300)(h, update_stats=update_stats)[..., 0]

  critic = Critic()
  rng = np.random.default_rng(11)
  xs = jnp.asarray(rng.standard_normal((256, 6)), jnp.float32)
  variables = critic.init(jax.random.PRNGKey(6), xs[:1], update_stats=False)
  _, upd = critic.apply(variables, xs[:1], update_stats=True, mutable=["spectral"])
  variables = {"params": variables["params"], "spectral": upd["spectral"]}

  audit = spectral.spectral_audit(variables["params"], variables["spectral"])
  assert sorted(audit) == ["SNDense_0", "SNDense_1"]
  # NumPy SVD of each W / sigma_est; Lipschitz bound of a composition with 1-Lipschitz leaky ReLU.
  bound = 1.0
  for name, kern in (("SNDense_0", variables["params"]["SNDense_0"]["kernel"]),
                     ("SNDense_1", variables["params"]["SNDense_1"]["kernel"])):
    exact = _np_sigma_max(kern) / float(variables["spectral"][name]["sigma"])
    np.testing.assert_allclose(audit[name]["normalized_sigma_svd"], exact, rtol=1e-5)
    bound *= exact
  np.testing.assert_allclose(bound, 1.0, rtol=1e-4)  # converged estimates: each W / sigma ~ 1

  grads = jax.jit(jax.vmap(jax.grad(lambda x: critic.apply(variables, x, update_stats=False))))(xs)
  max_norm = float(jnp.max(jnp.linalg.norm(grads, axis=-1)))
  assert 0 < max_norm <= bound * (1 + 1e-5)


# ----------------------------------------------------------------------------------------------------
# Operator norms and audit
# ----------------------------------------------------------------------------------------------------
def test_conv_operator_norm_of_1x1_conv_is_matrix_norm():
  rng = np.random.default_rng(12)
  kernel = rng.standard_normal((1, 1, 4, 6))
  est = spectral.conv_operator_norm(jnp.asarray(kernel, jnp.float32), (3, 3, 4), 1, "SAME",
                                    num_iters=200)
  # closed form: a 1x1 conv is I (x) W on the pixels, so its norm is sigma_1 of W [out, in].
  np.testing.assert_allclose(est, _np_sigma_max(kernel[0, 0].T), rtol=1e-4)  # NumPy SVD


@pytest.mark.parametrize("kind,strides,padding", [("conv", 1, "SAME"), ("conv", 2, "SAME"),
                                                  ("conv", 1, "VALID"),
                                                  ("conv_transpose", 2, "SAME")])
def test_conv_operator_norm_matches_brute_force(kind, strides, padding):
  rng = np.random.default_rng(13)
  kernel = jnp.asarray(rng.standard_normal((3, 3, 2, 3)), jnp.float32)
  in_shape = (4, 4, 2)
  ref_layer = (nn.Conv if kind == "conv" else nn.ConvTranspose)(3, (3, 3), strides, padding,
                                                                use_bias=False,
                                                                precision=jax.lax.Precision.HIGHEST)
  op = lambda x: ref_layer.apply({"params": {"kernel": kernel}}, x[None])[0]
  jac = np.asarray(jax.jacfwd(op)(jnp.zeros(in_shape)), np.float64).reshape(-1, int(np.prod(in_shape)))
  exact = _np_sigma_max(jac)  # brute force: full matrix of the flax layer, NumPy SVD
  est = spectral.conv_operator_norm(kernel, in_shape, strides, padding, kind=kind, num_iters=300)
  np.testing.assert_allclose(est, exact, rtol=1e-4)
  # bound derived in conv_operator_norm's docstring: ||A|| <= sqrt(kh * kw) * sigma_1(R).
  assert exact <= 3.0 * _np_sigma_max(_np_conv_matrix(kernel)) * (1 + 1e-6)


def test_spectral_audit_reports_every_layer():

  class Net(nn.Module):

    @nn.compact
    def __call__(self, x, *, update_stats):
      h = SNConv(3, (3, 3), strides=2)(x, update_stats=update_stats)
      h = SNConvTranspose(2, (3, 3), strides=2)(h, update_stats=update_stats)
      return SNDense(1)(h.reshape(h.shape[0], -1), update_stats=update_stats)

  x = jnp.ones((1, 4, 4, 2), jnp.float32)
  variables = Net().init(jax.random.PRNGKey(7), x, update_stats=False)
  params, spec = variables["params"], variables["spectral"]
  audit = spectral.spectral_audit(
      params, spec, {"SNConv_0": dict(input_shape=(4, 4, 2), strides=2, padding="SAME")},
      num_iters=100)
  assert list(audit) == ["SNConv_0", "SNConvTranspose_0", "SNDense_0"]
  for name in audit:
    kern = np.asarray(params[name]["kernel"])
    mat = kern.T if kern.ndim == 2 else _np_conv_matrix(kern)
    np.testing.assert_allclose(audit[name]["sigma_svd"], _np_sigma_max(mat), rtol=1e-5)  # NumPy SVD
    np.testing.assert_allclose(audit[name]["sigma_estimate"], spec[name]["sigma"], rtol=0)
    np.testing.assert_allclose(audit[name]["normalized_sigma_svd"],
                               audit[name]["sigma_svd"] / audit[name]["sigma_estimate"], rtol=1e-6)
  ref = spectral.conv_operator_norm(params["SNConv_0"]["kernel"], (4, 4, 2), 2, "SAME",
                                    num_iters=100)
  np.testing.assert_allclose(audit["SNConv_0"]["operator_norm"], ref, rtol=1e-6)  # same routine
  assert "operator_norm" not in audit["SNConvTranspose_0"]
  with pytest.raises(ValueError, match="not found"):
    spectral.spectral_audit(params, spec, {"SNConv_9": dict(input_shape=(4, 4, 2))})


# ----------------------------------------------------------------------------------------------------
# Bad inputs
# ----------------------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
  w, u = jnp.ones((3, 2)), jnp.ones(3)
  with pytest.raises(ValueError, match=r"num_iters must be an integer >= 1, got 0"):
    power_iteration(w, u, num_iters=0)
  with pytest.raises(ValueError, match=r"num_iters must be an integer >= 1"):
    power_iteration(w, u, num_iters=1.5)
  with pytest.raises(ValueError, match=r"w must be a 2-D matrix"):
    power_iteration(jnp.ones((3, 2, 2)), u)
  with pytest.raises(ValueError, match=r"u must have shape \[m\] = \(3,\)"):
    power_iteration(w, jnp.ones(2))
  with pytest.raises(ValueError, match=r"cannot be reshaped"):
    spectral.reshape_kernel(jnp.ones((3, 2)), "conv")
  with pytest.raises(ValueError, match=r"kind must be one of"):
    spectral.kernel_spectral_norm(jnp.ones((3, 2)), "conv1x1")

  x = jnp.ones((1, 3))
  variables = SNDense(2).init(jax.random.PRNGKey(0), x, update_stats=False)
  with pytest.raises(ValueError, match=r"num_iters must be an integer >= 1"):
    SNDense(2, num_iters=0).apply(variables, x, update_stats=False)
  with pytest.raises(ValueError, match=r"pass it when applying.*'spectral'"):
    SNDense(2).apply({"params": variables["params"]}, x, update_stats=False)
  with pytest.raises(ValueError, match=r"mutable=\['spectral'\]"):
    SNDense(2).apply(variables, x, update_stats=True)
  with pytest.raises(ValueError, match=r"padding must be"):
    SNConv(2, (3, 3), padding="CIRCULAR").init(jax.random.PRNGKey(0), jnp.ones((1, 4, 4, 1)),
                                               update_stats=False)

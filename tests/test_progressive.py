"""Tests of jaxgan.models.progressive (PGGAN networks with fade-in); the SWD is in test_swd.py.

The networks are checked against an independent float64 NumPy forward pass written from the rules of
Karras et al. 2018 (ICLR, section 4 and Table 2) and the official code (tkarras/
progressive_growing_of_gans, ``networks.py``): equalized learning rate
``w = gain / sqrt(fan_in) * w_hat`` (gain sqrt(2), sqrt(2)/4 for the generator's 4x4 dense, 1 for
to-RGB and the critic's output), pixel norm after every generator layer, leaky ReLU 0.2, nearest
upsampling, 2x2 average pooling, and the minibatch stddev layer (groups of min(4, B), sample i in
group i mod B/G).

Tiny networks: 16x16x3 images (stages 0, 1, 2), fmap_base 32 and fmap_max 16 (16, 8, 4 feature maps
at 4x4, 8x8, 16x16; latent 16), batch 4, parameters drawn in NumPy. Forward passes run eagerly;
two functions are jitted (the trace count of ``alpha``, and a gradient). About 22 s of CPU time.
"""

from __future__ import annotations

import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import state as state_lib
from jaxgan.models import progressive as pg

B, SIZE, C, LATENT = 4, 16, 3, 16
KW = dict(image_size=SIZE, channels=C, fmap_base=32, fmap_max=16)
G = pg.ProgressiveGenerator(**KW)
D = pg.ProgressiveCritic(**KW)
SQRT2 = math.sqrt(2)


def _random_params(model, x, seed):
  """Parameters of ``model`` drawn in NumPy: kernels N(0, 1) as at init, biases N(0, 0.1^2).

  (``model.init`` is exercised separately; drawing with jax.random would compile one sampler per
  shape, seconds on 2 cores.)
  """
  shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x, stage=0))["params"]
  rng = np.random.default_rng(seed)
  return {layer: {name: jnp.asarray((1.0 if name == "kernel" else 0.1)
                                    * rng.standard_normal(leaf.shape), jnp.float32)
                  for name, leaf in leaves.items()}
          for layer, leaves in shapes.items()}


@pytest.fixture(scope="module")
def z():
  return jnp.asarray(np.random.default_rng(1).standard_normal((B, LATENT)), jnp.float32)


@pytest.fixture(scope="module")
def g_params(z):
  return _random_params(G, z, seed=2)


@pytest.fixture(scope="module")
def d_params():
  return _random_params(D, jnp.zeros((B, 4, 4, C)), seed=3)


def _images(stage: int, seed: int = 4) -> jax.Array:
  r = pg.resolution(stage)
  return jnp.asarray(np.random.default_rng(seed).standard_normal((B, r, r, C)), jnp.float32)


# ------------------------------------------------------------------------------------------------
# NumPy reference (float64).


def _np_lrelu(x):
  return np.where(x >= 0, x, 0.2 * x)


def _np_pn(x):
  return x / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + 1e-8)


def _np_conv(x, p, gain=SQRT2):
  """Stride-1 'SAME' convolution with the He-scaled kernel, by summing shifted products."""
  k, b = np.float64(p["kernel"]), np.float64(p["bias"])
  kh, kw, cin, _ = k.shape
  k = k * gain / math.sqrt(kh * kw * cin)
  n, h, w, _ = x.shape
  xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
  out = sum(xp[:, i:i + h, j:j + w] @ k[i, j] for i in range(kh) for j in range(kw))
  return out + b


def _np_dense(x, p, gain=SQRT2):
  k, b = np.float64(p["kernel"]), np.float64(p["bias"])
  return x @ (k * gain / math.sqrt(k.shape[0])) + b


def _np_up(x):
  return x.repeat(2, axis=1).repeat(2, axis=2)


def _np_pool(x):
  n, h, w, c = x.shape
  return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _np_mbstd(x, group_size=4):
  n = x.shape[0]
  g = min(group_size, n)
  m = n // g
  stat = np.empty(n)
  for grp in range(m):
    members = x[grp::m]  # sample i is in group i % m
    stat[grp::m] = np.mean(np.sqrt(members.var(axis=0) + 1e-8))
  return np.concatenate([x, np.broadcast_to(stat[:, None, None, None], x.shape[:3] + (1,))], -1)


def _np_generator(p, z, stage):
  """The grown generator at ``stage``: no skip branch."""
  h = _np_dense(_np_pn(np.float64(z)), p["res4_dense"], gain=SQRT2 / 4)
  h = _np_pn(_np_lrelu(h.reshape(z.shape[0], 4, 4, -1)))
  h = _np_pn(_np_lrelu(_np_conv(h, p["res4_conv"])))
  for s in range(1, stage + 1):
    r = pg.resolution(s)
    h = _np_up(h)
    h = _np_pn(_np_lrelu(_np_conv(h, p[f"res{r}_conv0"])))
    h = _np_pn(_np_lrelu(_np_conv(h, p[f"res{r}_conv1"])))
  return _np_conv(h, p[f"res{pg.resolution(stage)}_to_rgb"], gain=1.0)


def _np_critic(p, x, stage):
  """The grown critic at ``stage``: no skip branch."""
  h = _np_lrelu(_np_conv(np.float64(x), p[f"res{pg.resolution(stage)}_from_rgb"]))
  for s in range(stage, 0, -1):
    r = pg.resolution(s)
    h = _np_lrelu(_np_conv(h, p[f"res{r}_conv0"]))
    h = _np_pool(_np_lrelu(_np_conv(h, p[f"res{r}_conv1"])))
  h = _np_lrelu(_np_conv(_np_mbstd(h), p["res4_conv"]))
  h = _np_lrelu(_np_dense(h.reshape(h.shape[0], -1), p["res4_dense0"]))
  return _np_dense(h, p["res4_dense1"], gain=1.0)[:, 0]


def _perturb(params, prefix, seed=9):
  """Copy of ``params`` with every leaf of the layers named ``prefix*`` replaced by noise."""
  out = dict(params)
  for i, name in enumerate(sorted(k for k in params if k.startswith(prefix))):
    out[name] = jax.tree_util.tree_map(
        lambda a, i=i: a + np.float32(np.random.default_rng(seed + i).standard_normal(a.shape)),
        params[name])
  assert len(out) == len(params) and any(k.startswith(prefix) for k in params)
  return out


# ------------------------------------------------------------------------------------------------
# Stages, feature maps, parameter tree.


def test_stages_resolutions_and_feature_maps():
  assert [pg.num_stages(r) for r in (4, 8, 16, 1024)] == [1, 2, 3, 9]
  assert [pg.resolution(s) for s in range(4)] == [4, 8, 16, 32]
  for bad in (0, 2, 3, 12, 24, 6.0, -8):
    with pytest.raises(ValueError, match="power of two >= 4"):
      pg.num_stages(bad)
  # Table 2 of the paper (CelebA-HQ): 512 maps up to 32x32, then 256, 128, 64, 32, 16; latent 512.
  assert [pg.stage_features(s) for s in range(9)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]
  assert pg.nf(0) == 512 and pg.nf(3, fmap_base=32, fmap_max=16) == 4
  assert pg.ProgressiveGenerator(image_size=64).max_stage == 4


def test_parameter_tree_is_the_same_at_every_stage(z, g_params, d_params):
  for model, make_input, params in ((G, lambda s: z, g_params), (D, _images, d_params)):
    shapes = []
    for stage in range(3):
      variables = jax.eval_shape(
          lambda s=stage: model.init(jax.random.PRNGKey(0), make_input(s), stage=s))
      assert set(variables) == {"params"}
      shapes.append(jax.tree_util.tree_map(lambda a: a.shape, variables["params"]))
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0] == jax.tree_util.tree_map(jnp.shape, params)
  # Names depend on the resolution only; each resolution has its to-RGB / from-RGB layer.
  assert sorted(g_params) == ["res16_conv0", "res16_conv1", "res16_to_rgb", "res4_conv",
                              "res4_dense", "res4_to_rgb", "res8_conv0", "res8_conv1",
                              "res8_to_rgb"]
  assert sorted(d_params) == ["res16_conv0", "res16_conv1", "res16_from_rgb", "res4_conv",
                              "res4_dense0", "res4_dense1", "res4_from_rgb", "res8_conv0",
                              "res8_conv1", "res8_from_rgb"]
  # Feature maps: 16, 8, 4 at 4x4, 8x8, 16x16; the critic's extra mbstd channel and nf(0) dense.
  assert g_params["res4_dense"]["kernel"].shape == (LATENT, 16 * 16)
  assert g_params["res16_conv0"]["kernel"].shape == (3, 3, 8, 4)
  assert d_params["res16_conv1"]["kernel"].shape == (3, 3, 4, 8)
  assert d_params["res4_conv"]["kernel"].shape == (3, 3, 17, 16)
  assert d_params["res4_dense0"]["kernel"].shape == (16 * 16, 16)


def test_full_size_networks_have_the_papers_parameter_counts():
  # Table 2 of the paper: 23.1M trainable parameters in each network at 1024x1024 (traced only).
  for model, x in ((pg.ProgressiveGenerator(image_size=1024), jnp.zeros((1, 512))),
                   (pg.ProgressiveCritic(image_size=1024), jnp.zeros((1, 4, 4, 3)))):
    shapes = jax.eval_shape(lambda m=model, x=x: m.init(jax.random.PRNGKey(0), x, stage=0))
    count = sum(math.prod(a.shape) for a in jax.tree_util.tree_leaves(shapes))
    assert round(count / 1e6, 1) == 23.1, count


def test_init_builds_every_layer_with_the_same_values_at_every_stage(z):
  # An RBG key: cheaper to compile on CPU than threefry; flax derives every layer's key from its
  # name, so the values cannot depend on which layers the init call's stage uses.
  key = jax.random.key(0, impl="rbg")
  for model, inputs in ((G, (z, z, z)), (D, tuple(_images(s) for s in range(3)))):
    first = state_lib.init_variables(model, key, inputs[0], stage=0)["params"]
    chex.assert_trees_all_equal(
        state_lib.init_variables(model, key, inputs[2], stage=2)["params"], first)
    for leaves in first.values():
      np.testing.assert_array_equal(leaves["bias"], 0.0)
    kernels = np.concatenate([np.ravel(v["kernel"]) for v in first.values()])
    assert abs(kernels.mean()) < 0.05 and abs(kernels.std() - 1.0) < 0.05, kernels.size


# ------------------------------------------------------------------------------------------------
# Forward passes and fade-in.


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_shapes_per_stage_and_alpha(z, g_params, d_params, stage):
  r = 4 * 2 ** stage
  for alpha in (0.0, 0.5, 1.0):
    img = G.apply({"params": g_params}, z, stage=stage, alpha=alpha)
    assert img.shape == (B, r, r, C) and img.dtype == jnp.float32
    assert np.all(np.isfinite(img))
    scores = D.apply({"params": d_params}, img, stage=stage, alpha=alpha)
    assert scores.shape == (B,) and np.all(np.isfinite(scores))
  assert G.apply({"params": g_params}, z).shape == (B, SIZE, SIZE, C)  # default: max_stage


def test_alpha_one_is_the_grown_network(z, g_params, d_params):
  p = jax.tree_util.tree_map(np.asarray, g_params)
  for stage in (0, 1, 2):
    out = G.apply({"params": g_params}, z, stage=stage, alpha=1.0)
    np.testing.assert_allclose(out, _np_generator(p, np.asarray(z), stage), rtol=1e-4, atol=1e-5)
  # The generator is not trivially linear: outputs are not rescaled to unit range (no tanh).
  assert np.abs(out).max() > 0
  q = jax.tree_util.tree_map(np.asarray, d_params)
  for stage in (0, 1, 2):
    x = _images(stage)
    out = D.apply({"params": d_params}, x, stage=stage, alpha=1.0)
    np.testing.assert_allclose(out, _np_critic(q, np.asarray(x), stage), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("stage", [1, 2])
def test_alpha_zero_new_block_contributes_nothing(z, g_params, d_params, stage):
  r = pg.resolution(stage)
  prev = G.apply({"params": g_params}, z, stage=stage - 1, alpha=1.0)
  out = G.apply({"params": g_params}, z, stage=stage, alpha=0.0)
  np.testing.assert_allclose(out, _np_up(np.asarray(prev)), rtol=1e-6, atol=1e-6)
  moved = G.apply({"params": _perturb(g_params, f"res{r}_")}, z, stage=stage, alpha=0.0)
  np.testing.assert_array_equal(moved, out)
  assert not np.allclose(G.apply({"params": _perturb(g_params, f"res{r}_")}, z, stage=stage,
                                 alpha=0.5), G.apply({"params": g_params}, z, stage=stage,
                                                     alpha=0.5))

  x = _images(stage)
  prev = D.apply({"params": d_params}, _np_pool(np.asarray(x)), stage=stage - 1, alpha=1.0)
  out = D.apply({"params": d_params}, x, stage=stage, alpha=0.0)
  np.testing.assert_allclose(out, prev, rtol=1e-5, atol=1e-6)
  moved = D.apply({"params": _perturb(d_params, f"res{r}_")}, x, stage=stage, alpha=0.0)
  np.testing.assert_array_equal(moved, out)


def test_unused_layers_get_zero_gradients(z, g_params):
  def loss(params, alpha):
    return jnp.sum(G.apply({"params": params}, z, stage=1, alpha=alpha) ** 2)

  grad = jax.jit(jax.grad(loss))  # one compile: alpha is traced
  for alpha, new_block_moves in ((0.0, False), (0.5, True)):
    grads = grad(g_params, alpha)
    for name, leaves in grads.items():
      norm = sum(float(jnp.sum(jnp.abs(v))) for v in leaves.values())
      if name.startswith("res16_") or (name.startswith("res8_") and not new_block_moves):
        assert norm == 0.0, name
      else:
        assert norm > 0.0, name


def test_alpha_is_traced_and_never_recompiles(z, g_params, d_params):
  @jax.jit
  @chex.assert_max_traces(n=1)
  def forward(gp, dp, z, alpha):
    img = G.apply({"params": gp}, z, stage=1, alpha=alpha)
    return img, D.apply({"params": dp}, img, stage=1, alpha=alpha)

  img3, s3 = forward(g_params, d_params, z, 0.3)
  img7, s7 = forward(g_params, d_params, z, 0.7)  # a second trace would raise
  eager = G.apply({"params": g_params}, z, stage=1, alpha=0.7)
  np.testing.assert_allclose(img7, eager, rtol=1e-5, atol=1e-5)
  assert not np.allclose(img3, img7) and not np.allclose(s3, s7)
  # The output is exactly linear in alpha between the two to-RGB images.
  img0 = G.apply({"params": g_params}, z, stage=1, alpha=0.0)
  img1 = G.apply({"params": g_params}, z, stage=1, alpha=1.0)
  np.testing.assert_allclose(img3, 0.7 * img0 + 0.3 * img1, rtol=1e-5, atol=1e-5)


def test_bad_stage_and_input_resolution(z, g_params, d_params):
  with pytest.raises(ValueError, match=r"stage must be in \[0, 2\]"):
    G.apply({"params": g_params}, z, stage=3)
  with pytest.raises(TypeError, match="static"):
    G.apply({"params": g_params}, z, stage=jnp.asarray(1))
  with pytest.raises(ValueError, match=r"expects images \[B, 8, 8, 3\]"):
    D.apply({"params": d_params}, _images(2), stage=1)
  with pytest.raises(ValueError, match="scalar"):
    G.apply({"params": g_params}, z, stage=1, alpha=jnp.ones(B))


def test_real_images_at():
  x = np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype(np.float32)
  np.testing.assert_allclose(pg.real_images_at(x, 2, 0.4), 0.6 * _np_up(_np_pool(x)) + 0.4 * x,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pg.real_images_at(x, 1, 1.0), _np_pool(x), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pg.real_images_at(x, 1, 0.0), _np_up(_np_pool(_np_pool(x))),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pg.real_images_at(x, 0, 0.3), _np_pool(_np_pool(x)), rtol=1e-5,
                             atol=1e-6)


# ------------------------------------------------------------------------------------------------
# Layers.


def test_equalized_layers_are_plain_layers_with_he_scaled_weights():
  rng = np.random.default_rng(0)

  def normal(*shape):
    return jnp.asarray(rng.standard_normal(shape), jnp.float32)

  x = normal(2, 7)
  p = {"kernel": normal(7, 5), "bias": normal(5)}
  plain = {"kernel": p["kernel"] * math.sqrt(2 / 7), "bias": p["bias"]}
  np.testing.assert_allclose(pg.EqualizedDense(5).apply({"params": p}, x),
                             nn.Dense(5).apply({"params": plain}, x), rtol=1e-5, atol=1e-6)

  x = normal(2, 5, 5, 3)
  for kernel_size, gain in (((3, 3), SQRT2), ((1, 1), 1.0)):
    p = {"kernel": normal(*kernel_size, 3, 4), "bias": normal(4)}
    fan_in = kernel_size[0] * kernel_size[1] * 3
    plain = {"kernel": p["kernel"] * gain / math.sqrt(fan_in), "bias": p["bias"]}
    ref = nn.Conv(4, kernel_size, padding="SAME").apply({"params": plain}, x)
    out = pg.EqualizedConv(4, kernel_size, gain=gain).apply({"params": p}, x)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_pixel_norm_gives_unit_rms_over_channels():
  x = jnp.asarray(5.0 * np.random.default_rng(0).standard_normal((2, 3, 3, 8)) + 1.0, jnp.float32)
  y = pg.pixel_norm(x)
  np.testing.assert_allclose(jnp.sqrt(jnp.mean(y ** 2, axis=-1)), 1.0, rtol=1e-5)
  np.testing.assert_allclose(y, _np_pn(np.asarray(x, np.float64)), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pg.pixel_norm(3.0 * x), y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch,group_size", [(8, 4), (4, 4), (2, 4), (4, 8), (6, 2)])
def test_minibatch_stddev_matches_numpy(batch, group_size):
  x = np.random.default_rng(batch).standard_normal((batch, 2, 3, 5)).astype(np.float32)
  y = pg.minibatch_stddev(jnp.asarray(x), group_size)
  assert y.shape == (batch, 2, 3, 6)
  np.testing.assert_array_equal(y[..., :5], x)
  np.testing.assert_allclose(y, _np_mbstd(np.float64(x), group_size), rtol=1e-5, atol=1e-6)


def test_minibatch_stddev_groups_are_strided_and_batch_must_divide():
  # Groups of 2 in a batch of 4 are {0, 2} and {1, 3}: equal pairs there give a zero statistic.
  x = np.array([0.0, 1.0, 0.0, 3.0])[:, None, None, None] * np.ones((4, 1, 1, 2))
  y = np.asarray(pg.minibatch_stddev(jnp.asarray(x, jnp.float32), 2))[:, 0, 0, -1]
  np.testing.assert_allclose(y, [1e-4, 1.0, 1e-4, 1.0], rtol=1e-3)
  with pytest.raises(ValueError, match="multiple of the group size"):
    pg.minibatch_stddev(jnp.zeros((6, 4, 4, 2)), 4)

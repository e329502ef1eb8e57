"""Tests for the image models of jaxgan.models: resnet (SNGAN / WGAN-GP ResNets) and sngan_cnn, and
for config.conv_impl (im2col convolutions equal to XLA's, with the same parameters).

Full-size models are only traced with ``jax.eval_shape`` (shapes, no FLOPs): parameter counts are
compared with numbers derived by hand from the papers' tables (SNGAN Tables 3 and 4, WGAN-GP
``gan_cifar_resnet.py``), and the variable collections are inspected. Real forward passes use tiny
widths (4 to 8 channels) and batch 2 so that the file runs in well under a minute on 2 CPU cores.

Parameter counts by hand (z in R^128, 32x32x3 images; conv k x k, in -> out: k*k*in*out + out;
batch norm over C channels: 2C params, scale and bias; dense in -> out: in*out + out):

SNGAN standard CNN generator (Table 3(a), b = 64, M = 4):
  dense 128 -> 4*4*512 = 8192:          128*8192 + 8192     = 1,056,768
  BN over the 8192 dense features:      2*8192              =    16,384
  deconv 4x4 512 -> 256, BN 256:        16*512*256 + 256    = 2,097,408  + 512
  deconv 4x4 256 -> 128, BN 128:        16*256*128 + 128    =   524,416  + 256
  deconv 4x4 128 -> 64,  BN 64:         16*128*64 + 64      =   131,136  + 128
  conv 3x3 64 -> 3:                     9*64*3 + 3          =     1,731
  total                                                     = 3,828,739
SNGAN standard CNN critic (Table 3(b)):
  conv 3x3 3 -> 64:      9*3*64 + 64     =     1,792
  conv 4x4 64 -> 64:     16*64*64 + 64   =    65,600
  conv 3x3 64 -> 128:    9*64*128 + 128  =    73,856
  conv 4x4 128 -> 128:   16*128*128 + 128 =  262,272
  conv 3x3 128 -> 256:   9*128*256 + 256 =   295,168
  conv 4x4 256 -> 256:   16*256*256 + 256 = 1,048,832
  conv 3x3 256 -> 512:   9*256*512 + 512 = 1,180,160
  dense 4*4*512 -> 1:    8192 + 1        =     8,193
  total                                  = 2,935,873
ResNet generator of width C (Table 4(a); 3 up-blocks for 32x32):
  dense 128 -> 16C:      128*16C + 16C
  up block:              BN 2C + conv3x3 (9C^2 + C) + BN 2C + conv3x3 (9C^2 + C)
                         + 1x1 shortcut (C^2 + C)  = 19C^2 + 7C
  BN C + conv3x3 C -> 3: 2C + 27C + 3
  SNGAN,   C = 256:  528,384 + 3*1,246,976 + 512 + 6,915 = 4,276,739
  WGAN-GP, C = 128:  264,192 + 3*312,192   + 256 + 3,459 = 1,204,483
ResNet critic of width C = 128 (Table 4(b)):
  optimized block 1:     conv3x3 3 -> C (27C + C) + conv3x3 (9C^2 + C) + 1x1 3 -> C (3C + C)
                         = 3,584 + 147,584 + 512 = 151,680
  down block 2:          two conv3x3 (2 * (9C^2 + C)) + 1x1 shortcut (C^2 + C)
                         = 19C^2 + 3C = 311,680
  blocks 3, 4:           two conv3x3 each, identity shortcut: 2 * (18C^2 + 2C)
                         = 2 * 295,168 = 590,336
  dense C -> 1:          C (SNGAN, no bias) or C + 1 (WGAN-GP)
  SNGAN:   151,680 + 311,680 + 590,336 + 128 = 1,053,824
  WGAN-GP: 151,680 + 311,680 + 590,336 + 129 = 1,053,825
"""

from __future__ import annotations

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import config as config_lib
from jaxgan import losses
from jaxgan import models as models_lib
from jaxgan import ops
from jaxgan import state as state_lib
from jaxgan.models import dcgan, layers, resnet, sngan_cnn
from jaxgan.models.resnet import ResNetCritic, ResNetGenerator
from jaxgan.models.sngan_cnn import SNGANCNNCritic, SNGANCNNGenerator

KEY = jax.random.PRNGKey(0)
# Real initialisations use the 'rbg' generator: XLA compiles it far faster than threefry on CPU.
RBG_KEY = jax.random.key(0, impl="rbg")
Z_SPEC = jax.ShapeDtypeStruct((2, 128), jnp.float32)
X_SPEC = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)


def _count(tree) -> int:
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(tree))


def _abstract_init(model, spec):
  """Variables of ``model`` as ShapeDtypeStructs (nothing is computed)."""
  return jax.eval_shape(model.init, KEY, spec)


def _paths(tree, leaf_name):
  """'/'-joined paths of the modules that own a variable called ``leaf_name``."""
  flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(tree))
  return sorted("/".join(p[:-1]) for p in flat if p[-1] == leaf_name)


# ----------------------------------------------------------------------------------------------------
# Full-size models, traced only
# ----------------------------------------------------------------------------------------------------
FULL_SIZE = {
    # name: (module, input spec, parameter count derived by hand in the module docstring)
    "sngan_cnn_generator": (SNGANCNNGenerator(), Z_SPEC, 3_828_739),
    "sngan_cnn_critic": (SNGANCNNCritic(spectral_norm=True), X_SPEC, 2_935_873),
    "sngan_resnet_generator": (resnet.sngan_resnet()[0], Z_SPEC, 4_276_739),
    "sngan_resnet_critic": (resnet.sngan_resnet()[1], X_SPEC, 1_053_824),
    "wgan_gp_resnet_generator": (resnet.wgan_gp_resnet()[0], Z_SPEC, 1_204_483),
    "wgan_gp_resnet_critic": (resnet.wgan_gp_resnet()[1], X_SPEC, 1_053_825),
}


@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_full_size_parameter_counts_and_output_shapes(name):
  model, spec, expected = FULL_SIZE[name]
  variables = _abstract_init(model, spec)
  assert _count(variables["params"]) == expected  # by hand, module docstring
  out = jax.eval_shape(model.apply, variables, spec)
  assert out.shape == ((2, 32, 32, 3) if "generator" in name else (2,))


def test_full_size_layer_parameters_match_the_tables():
  """A few layers by name, so a wrong count cannot hide behind a compensating error elsewhere."""
  p = _abstract_init(SNGANCNNCritic(), X_SPEC)["params"]
  assert [p[f"conv{i}"]["kernel"].shape[-1] for i in range(7)] == [64, 64, 128, 128, 256, 256, 512]
  assert [p[f"conv{i}"]["kernel"].shape[0] for i in range(7)] == [3, 4, 3, 4, 3, 4, 3]
  assert p["out"]["kernel"].shape == (4 * 4 * 512, 1)  # the 4x4 map of Table 3(b): padding is right
  p = _abstract_init(SNGANCNNGenerator(), Z_SPEC)["params"]
  assert p["project"]["kernel"].shape == (128, 4 * 4 * 512)
  assert [p[f"up{i}"]["kernel"].shape for i in range(3)] == [(4, 4, 512, 256), (4, 4, 256, 128),
                                                             (4, 4, 128, 64)]
  g, d = resnet.sngan_resnet()
  p = _abstract_init(g, Z_SPEC)["params"]
  assert p["project"]["kernel"].shape == (128, 4 * 4 * 256)
  assert p["block1"]["shortcut"]["kernel"].shape == (1, 1, 256, 256)  # learnable: it upsamples
  p = _abstract_init(d, X_SPEC)["params"]
  assert p["block1"]["shortcut"]["kernel"].shape == (1, 1, 3, 128)
  assert p["block2"]["shortcut"]["kernel"].shape == (1, 1, 128, 128)
  assert "shortcut" not in p["block3"] and "shortcut" not in p["block4"]  # identity shortcuts
  assert "bias" not in p["out"]  # SNGAN: SNLinear(ch, 1, nobias=True)
  assert "bias" in _abstract_init(resnet.wgan_gp_resnet()[1], X_SPEC)["params"]["out"]


CRITICS = {
    # name: (critic, number of conv + dense layers)
    "sngan_cnn": (SNGANCNNCritic(spectral_norm=True), 8),
    "sngan_resnet": (resnet.sngan_resnet()[1], 11),
}


@pytest.mark.parametrize("name", sorted(CRITICS))
def test_spectral_collection_has_one_u_per_layer(name):
  critic, num_layers = CRITICS[name]
  variables = _abstract_init(critic, X_SPEC)
  assert set(variables) == {"params", "spectral"}  # no batch_stats in a critic
  kernels = _paths(variables["params"], "kernel")
  assert len(kernels) == num_layers
  assert _paths(variables["spectral"], "u") == kernels  # one u per conv / dense, nothing else
  plain = _abstract_init(critic.clone(spectral_norm=False), X_SPEC)
  assert set(plain) == {"params"}  # no 'spectral' and no 'batch_stats'
  assert _count(plain["params"]) == _count(variables["params"])  # SN adds no parameters


def test_wgan_gp_critic_has_only_params():
  assert set(_abstract_init(resnet.wgan_gp_resnet()[1], X_SPEC)) == {"params"}


def test_factories_use_the_papers_settings():
  g, d = resnet.sngan_resnet()
  settings = (g.channels, d.channels, d.spectral_norm, d.pooling, d.output_bias)
  assert settings == (256, 128, True, "sum", False)
  assert resnet.sngan_resnet(spectral_norm=False)[1].spectral_norm is False
  g, d = resnet.wgan_gp_resnet()
  settings = (g.channels, d.channels, d.spectral_norm, d.pooling, d.output_bias)
  assert settings == (128, 128, False, "mean", True)
  g, d = sngan_cnn.sngan_cnn()
  settings = (g.base_channels, d.base_channels, d.negative_slope, d.spectral_norm)
  assert settings == (64, 64, 0.1, True)


def test_invalid_arguments():
  with pytest.raises(ValueError, match="pooling"):
    _abstract_init(ResNetCritic(pooling="max"), X_SPEC)
  with pytest.raises(ValueError, match="multiple of 8"):
    _abstract_init(SNGANCNNGenerator(image_size=20), Z_SPEC)
  with pytest.raises(ValueError, match="power of two"):
    _abstract_init(ResNetGenerator(image_size=48), Z_SPEC)


# ----------------------------------------------------------------------------------------------------
# Resampling helpers
# ----------------------------------------------------------------------------------------------------
def test_upsample_is_nearest_neighbour_and_pool_is_2x2_mean():
  x = jnp.arange(4.0).reshape(1, 2, 2, 1)
  up = resnet.upsample_nearest(x)[0, :, :, 0]
  # by hand:
  np.testing.assert_array_equal(up, [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
  np.testing.assert_array_equal(resnet.avg_pool2(resnet.upsample_nearest(x)), x)  # by hand
  y = jnp.arange(16.0).reshape(1, 4, 4, 1)
  np.testing.assert_allclose(resnet.avg_pool2(y)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])  # by hand


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_resampled_conv_layers_equal_conv_with_the_resampling_and_share_its_variables(spectral_norm):
  """layers.conv(..., resample=...) and layers.ResampledConv (what the ResNet blocks use) have the
  variables of the plain convolution (same init, same tree) and compute ``avgpool2(conv(x))`` /
  ``conv(up(x))`` with them: values, the updated power-iteration vector ``u`` and a parameter
  gradient, for both conv_impls. float32: ~1e-6 relative is the rounding of a differently ordered
  sum of <= 16*4 products per output (the box-summed kernel adds a rounding per tap)."""
  x = jax.random.normal(jax.random.key(5), (2, 8, 8, 4))
  for impl in ("xla", "im2col"):
    plain = lambda: layers.conv(4, (3, 3), (1, 1), spectral_norm, "c", impl)
    cases = [("down", lambda: layers.conv(4, (3, 3), (1, 1), spectral_norm, "c", impl,
                                          resample="down"), resnet.avg_pool2, None)]
    if not spectral_norm:  # the generators' upsampling layer (no spectral norm there)
      cases.append(("up", lambda: layers._plain(layers.ResampledConv(4, (3, 3), "up", impl,
                                                                     name="c")),
                    None, resnet.upsample_nearest))
    for resample, fused, after, before in cases:
      after, before = after or (lambda v: v), before or (lambda v: v)

      class Fused(nn.Module):
        @nn.compact
        def __call__(self, v, fused=fused):
          return fused()(v, True)

      class Plain(nn.Module):
        @nn.compact
        def __call__(self, v, plain=plain, after=after, before=before):
          return after(plain()(before(v), True))

      variables = state_lib.init_variables(Fused(), jax.random.key(6), x)
      assert (jax.tree.map(jnp.shape, variables)
              == jax.tree.map(jnp.shape, jax.eval_shape(Plain().init, jax.random.key(6), x)))
      mutable = ["spectral"] if spectral_norm else False

      def run(module, p, rest):
        out = module.apply({"params": p, **rest}, x, mutable=mutable)
        return out if spectral_norm else (out, {})

      params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
      results = []
      for module in (Fused(), Plain()):
        (y, new_rest) = jax.jit(lambda p, m=module: run(m, p, rest))(params)
        grad = jax.jit(jax.grad(lambda p, m=module: jnp.sum(jnp.sin(run(m, p, rest)[0]))))(params)
        results.append((y, new_rest, grad))
      (y0, r0, g0), (y1, r1, g1) = results
      assert y0.shape == ((2, 4, 4, 4) if resample == "down" else (2, 16, 16, 4))
      np.testing.assert_allclose(y0, y1, rtol=1e-5, atol=1e-5, err_msg=f"{impl} {resample}")
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), r0, r1)
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g0, g1)


# ----------------------------------------------------------------------------------------------------
# Tiny models, really run
# ----------------------------------------------------------------------------------------------------
TINY_GENERATORS = {
    "sngan_cnn": SNGANCNNGenerator(base_channels=4),
    "resnet": ResNetGenerator(channels=8),
}


@pytest.mark.parametrize("name", sorted(TINY_GENERATORS))
def test_tiny_generator_shapes_range_and_batch_stats(name):
  gen = TINY_GENERATORS[name]
  z = jax.random.normal(jax.random.PRNGKey(1), (2, 128))
  variables = jax.jit(gen.init)(RBG_KEY, z)
  assert set(variables) == {"params", "batch_stats"}

  apply = jax.jit(gen.apply)
  images = apply(variables, z)  # train=False: running averages, read only
  assert images.shape == (2, 32, 32, 3)
  # Running averages: a sample does not depend on the rest of its batch.
  np.testing.assert_allclose(apply(variables, z[:1])[0], images[0], rtol=1e-5, atol=1e-6)

  train_images, updates = jax.jit(
      lambda v, z: gen.apply(v, z, train=True, mutable=["batch_stats"]))(variables, z)
  assert train_images.shape == (2, 32, 32, 3) and bool(jnp.all(jnp.isfinite(train_images)))
  # train=True normalises with the batch's own statistics, not the running averages.
  assert not np.allclose(train_images, images, atol=1e-3)
  old = jax.tree_util.tree_leaves(variables["batch_stats"])
  new = jax.tree_util.tree_leaves(updates["batch_stats"])
  assert len(new) == len(old) > 0
  # every running mean / var moved: momentum 0.9 mixes in 0.1 of the batch statistics
  assert all(not np.allclose(a, b) for a, b in zip(old, new))
  with pytest.raises(Exception, match="batch_stats"):  # train mode writes batch_stats: mutable
    jax.eval_shape(lambda v, z: gen.apply(v, z, train=True), variables, z)


TINY_CRITICS = {
    "sngan_cnn_sn": SNGANCNNCritic(base_channels=4, spectral_norm=True),
    "sngan_cnn_plain": SNGANCNNCritic(base_channels=4),
    "resnet_sn_sum": ResNetCritic(channels=8, spectral_norm=True, pooling="sum", output_bias=False),
    "resnet_plain_mean": ResNetCritic(channels=8, pooling="mean"),
}


@pytest.mark.parametrize("name", sorted(TINY_CRITICS))
def test_tiny_critic_shapes_and_per_sample_independence(name):
  critic = TINY_CRITICS[name]
  x = jax.random.uniform(jax.random.PRNGKey(2), (2, 32, 32, 3), minval=-1.0, maxval=1.0)
  variables = jax.jit(critic.init)(RBG_KEY, x)
  assert "batch_stats" not in variables
  assert ("spectral" in variables) == critic.spectral_norm

  x_other = x.at[1].set(jax.random.uniform(jax.random.PRNGKey(3), (32, 32, 3), minval=-1.0))

  def score0_train(v, inp):  # training mode: spectral norm also advances its power iteration
    mutable = ["spectral"] if critic.spectral_norm else False
    out = critic.apply(v, inp, update_stats=True, mutable=mutable)
    return (out[0] if critic.spectral_norm else out)[0]

  @jax.jit
  def run(v, x, x_other):  # one compilation for everything below
    return critic.apply(v, x), critic.apply(v, x_other), jax.grad(score0_train, 1)(v, x)

  scores, scores_other, grad = run(variables, x, x_other)
  assert scores.shape == (2,) and bool(jnp.all(jnp.isfinite(scores)))
  # Changing sample 1 leaves the score of sample 0 unchanged ...
  np.testing.assert_allclose(scores_other[0], scores[0], rtol=1e-5, atol=1e-6)
  assert not np.isclose(scores_other[1], scores[1])
  # ... and the gradient of score 0 has no component on sample 1 (what the WGAN-GP penalty needs).
  assert bool(jnp.all(grad[1] == 0.0))
  assert float(jnp.abs(grad[0]).max()) > 0.0


def test_sum_pooling_is_64_times_mean_pooling():
  """On the final 8x8 map of a 32x32 input the same weights give sum = 64 * mean (no out bias)."""
  x = jax.random.uniform(jax.random.PRNGKey(4), (2, 32, 32, 3), minval=-1.0, maxval=1.0)
  summed = ResNetCritic(channels=4, pooling="sum", output_bias=False)
  variables = jax.jit(summed.init)(RBG_KEY, x)
  meaned = summed.clone(pooling="mean")
  both = jax.jit(lambda v, x: (summed.apply(v, x), meaned.apply(v, x)))
  sum_scores, mean_scores = both(variables, x)
  np.testing.assert_allclose(sum_scores, 64.0 * mean_scores, rtol=1e-5, atol=1e-6)  # 8*8 positions


# ----------------------------------------------------------------------------------------------------
# config.conv_impl: 'im2col' (jaxgan.ops) computes what 'xla' computes, with the same parameters
# ----------------------------------------------------------------------------------------------------


def _tiny_config(model: str, conv_impl: str):
  c = config_lib.base_config()
  c.model, c.conv_impl = model, conv_impl
  c.base_channels, c.fmap_base, c.fmap_max = 4, 32, 8
  c.spectral_norm = model in ("sngan_cnn", "sngan_resnet")
  return c


@pytest.mark.parametrize("model", [
    "dcgan", "wgan_gp_resnet", "sngan_resnet", "pggan", "sngan_cnn"])
def test_conv_impl_im2col_equals_xla_with_the_same_parameters(model):
  """Same init (same keys) -> identical parameter trees; generator output, critic scores and a
  parameter gradient (the gradient penalty's, a second-order quantity, for the DCGAN and PGGAN
  critics) agree to float32 rounding.
  Tolerances: ~1e-6 relative is the rounding of a differently ordered float32 sum over <= 9*32
  products per output; the penalty gradient goes through three such passes (atol 1e-4 on O(1))."""
  shape = (8, 8, 3)
  x = jax.random.uniform(jax.random.key(3), (4, *shape), minval=-1.0, maxval=1.0)
  out = {}
  for impl in ("xla", "im2col"):
    g, d = models_lib.build(_tiny_config(model, impl), shape)
    assert g.conv_impl == impl and d.conv_impl == impl
    z = jax.random.normal(jax.random.key(0), (4, 128))
    vg = state_lib.init_variables(g, jax.random.key(1), z)  # one cheap compile, not op by op
    vd = state_lib.init_variables(d, jax.random.key(2), x)
    params, rest = vd["params"], {k: v for k, v in vd.items() if k != "params"}

    def critic(p, v, rest=rest, d=d):
      return d.apply({"params": p, **rest}, v)

    def penalty(p, critic=critic):
      if model in ("dcgan", "pggan"):  # second order: the gradient penalty's parameter gradient
        return losses.gradient_penalty(lambda v: critic(p, v), x, -x, jax.random.key(4))
      return jnp.sum(jnp.tanh(critic(p, x)))  # first order only (compile time: XLA's SN convs)

    out[impl] = (vg, vd, jax.jit(g.apply)(vg, z), jax.jit(critic)(params, x),
                 jax.jit(jax.grad(penalty))(params))
  (vg0, vd0, x0, s0, gp0), (vg1, vd1, x1, s1, gp1) = out["xla"], out["im2col"]
  jax.tree.map(np.testing.assert_array_equal, (vg0, vd0), (vg1, vd1))
  np.testing.assert_allclose(x1, x0, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(s1, s0, rtol=1e-5, atol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), gp1, gp0)


def test_critic_with_winograd_layers_equals_xla(monkeypatch):
  """conv_impl='winograd': a DCGAN critic whose 4x4 stride-2 layer gets conv2d's 'winograd' form
  (16x16 input, 16 -> 32 channels, 8x8 output) scores and differentiates as with XLA's
  convolutions, in float32 at a shape the policy really picks it for (the float64 second-order
  test is in test_ops); conv_impl='im2col' (the CPU default) never calls it.
  Tolerances: float32 rounding of reassociated sums of <= 16*32 O(1) products (~1e-6 relative)."""
  calls = []
  winograd = ops._conv2d_winograd
  monkeypatch.setattr(ops, "_conv2d_winograd", lambda *a: calls.append(a[1].shape) or winograd(*a))
  x = jax.random.uniform(jax.random.key(5), (3, 16, 16, 3), minval=-1.0, maxval=1.0)
  critic = lambda impl: dcgan.DCGANCritic(image_size=16, base_channels=16, conv_impl=impl)
  v = critic("xla").init(jax.random.key(6), x)
  jax.eval_shape(lambda: critic("im2col").apply(v, x))  # traced only: the default's forms
  assert not calls
  out = {}
  for impl in ("xla", "winograd"):
    d = critic(impl)
    v = state_lib.init_variables(d, jax.random.key(6), x)
    f = lambda p, d=d: jnp.sum(jnp.tanh(d.apply({"params": p}, x)))
    out[impl] = (jax.jit(d.apply)(v, x), jax.jit(jax.grad(f))(v["params"]))
  assert calls == [(4, 4, 16, 32)] * 3  # traced by init, apply and the gradient: that layer only
  np.testing.assert_allclose(out["winograd"][0], out["xla"][0], rtol=1e-5, atol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
               out["winograd"][1], out["xla"][1])

@pytest.mark.parametrize("spectral_norm,resample", [(True, None), (False, "down"), (True, "down")])
def test_winograd_conv_impl_reaches_every_conv_layer_kind(monkeypatch, spectral_norm, resample):
  """conv_impl='winograd' through layers.conv: a spectrally normalised 4x4 stride-2 layer (SNGAN's
  CNN critic) and a 3x3 'down' layer (the ResNet critics', a 4x4 stride-2 convolution at the low
  resolution), plain and normalised, call the Winograd form once and equal conv_impl='xla' with the
  same variables (float32 rounding of reassociated sums: 1e-5)."""
  calls = []
  winograd = ops._conv2d_winograd
  monkeypatch.setattr(ops, "_conv2d_winograd", lambda *a: calls.append(a[1].shape) or winograd(*a))
  x = jax.random.normal(jax.random.key(7), (2, 16, 16, 16))
  kernel, strides = ((3, 3), (1, 1)) if resample else ((4, 4), (2, 2))

  class Layer(nn.Module):
    impl: str

    @nn.compact
    def __call__(self, h):
      return layers.conv(8, kernel, strides, spectral_norm, "c", conv_impl=self.impl,
                         resample=resample)(h, False)

  v = Layer("xla").init(jax.random.key(8), x)
  want = Layer("xla").apply(v, x)
  assert not calls
  got = Layer("winograd").apply(v, x)
  assert calls == [(4, 4, 16, 8)]
  assert got.shape == (2, 8, 8, 8)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv_impl_resolution_and_errors():
  assert layers.resolve_conv_impl("auto", "cpu") == "im2col"
  assert layers.resolve_conv_impl("auto", "gpu") == "xla"
  assert layers.resolve_conv_impl("auto", "tpu") == "xla"
  assert layers.resolve_conv_impl("xla", "cpu") == "xla"
  assert layers.resolve_conv_impl("im2col", "gpu") == "im2col"
  assert layers.resolve_conv_impl("winograd", "cpu") == "winograd"
  with pytest.raises(ValueError,
                     match="conv_impl must be one of auto, xla, im2col, winograd; got 'cudnn'"):
    layers.resolve_conv_impl("cudnn")
  c = config_lib.base_config()
  c.conv_impl = "fast"
  with pytest.raises(config_lib.ConfigError, match="conv_impl"):
    config_lib.validate(c)
  # 'auto' is resolved when the models are built (this suite runs on CPU).
  c = _tiny_config("dcgan", "auto")
  g, d = models_lib.build(c, (8, 8, 1))
  assert (g.conv_impl, d.conv_impl) == (layers.resolve_conv_impl("auto"),) * 2


def test_conv_transpose_module_matches_flax():
  """layers.ConvTranspose (im2col) vs nn.ConvTranspose: same parameters from the same key, same
  output, for the padding forms the models use and an explicit asymmetric one."""
  x = jax.random.normal(jax.random.key(0), (2, 5, 6, 3))
  for kernel, strides, padding in (((4, 4), (2, 2), "SAME"), ((3, 3), (2, 2), "VALID"),
                                   ((3, 2), (1, 2), ((1, 2), (0, 1)))):
    ref = nn.ConvTranspose(7, kernel, strides=strides, padding=padding)
    ours = layers.conv_transpose(7, kernel, strides, "im2col", padding=padding)
    assert isinstance(ours, layers.ConvTranspose)
    # jitted (one compile each, not op by op); both inits compiled alike
    v_ref, v_ours = jax.jit(ref.init)(jax.random.key(1), x), jax.jit(ours.init)(jax.random.key(1), x)
    jax.tree.map(np.testing.assert_array_equal, v_ref, v_ours)
    np.testing.assert_allclose(jax.jit(ours.apply)(v_ours, x), jax.jit(ref.apply)(v_ref, x),
                               rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------------
# jaxgan.ops: the one box downscale and the one power-of-two rule the models share
# ----------------------------------------------------------------------------------------------------
def test_box_downscale_is_block_mean_on_numpy_and_jax():
  """ops.box_downscale equals an explicit loop over blocks (float64 numpy reference), on numpy and
  jax inputs alike, keeps the dtype, and at factor 2 equals flax's 2x2 average pooling."""
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  from jaxgan import ops  # pylint: disable=import-outside-toplevel
  x = np.random.default_rng(5).standard_normal((2, 3, 8, 8, 3)).astype(np.float32)
  for f in (1, 2, 4):
    want = np.zeros((2, 3, 8 // f, 8 // f, 3))
    for i in range(8 // f):
      for j in range(8 // f):
        want[..., i, j, :] = x[..., i * f:(i + 1) * f, j * f:(j + 1) * f, :].astype(np.float64).mean(
            axis=(-3, -2))
    got_np = ops.box_downscale(x, f)
    got_jax = ops.box_downscale(jnp.asarray(x), f)
    assert isinstance(got_np, np.ndarray) and got_np.dtype == np.float32
    assert isinstance(got_jax, jax.Array) and got_jax.dtype == jnp.float32
    # float32 means of 1-16 terms: a few ulps.
    np.testing.assert_allclose(got_np, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(got_jax), want, rtol=1e-6, atol=1e-6)
  pooled = nn.avg_pool(jnp.asarray(x[0]), (2, 2), strides=(2, 2))
  np.testing.assert_allclose(np.asarray(ops.box_downscale(jnp.asarray(x[0]), 2)), np.asarray(pooled),
                             rtol=1e-6, atol=1e-6)
  with pytest.raises(ValueError, match="not a multiple of 3"):
    ops.box_downscale(x, 3)


@pytest.mark.parametrize("n, k", [(1, 0), (2, 1), (4, 2), (64, 6), (np.int64(1024), 10), (0, None),
                                  (3, None), (48, None), (-4, None), (8.0, None), (True, None)])
def test_power_of_two_exponent(n, k):
  from jaxgan import ops  # pylint: disable=import-outside-toplevel
  assert ops.power_of_two_exponent(n) == k


def test_init_variables_equals_module_init_and_stays_abstract_under_eval_shape(monkeypatch):
  """state.init_variables (one program, compiled unoptimized on CPU) gives module.init's variables
  -- the same random draws, float32 rounding apart (~1e-7 relative: the power iteration's norms
  and the initializers' scalings, fused differently) -- and under jax.eval_shape (how the
  benchmarks and the sharded step take the abstract state) it only traces: nothing is jitted."""
  critic = SNGANCNNCritic(base_channels=4)
  x = jax.random.normal(jax.random.key(9), (2, 32, 32, 3))
  want = critic.init(jax.random.key(10), x, update_stats=False)
  got = state_lib.init_variables(critic, jax.random.key(10), x, update_stats=False)
  assert jax.tree.structure(got) == jax.tree.structure(want)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)
  monkeypatch.setattr(state_lib.jax, "jit", lambda *a, **k: pytest.fail("compiled under a trace"))
  shapes = jax.eval_shape(lambda: state_lib.init_variables(critic, jax.random.key(10), x,
                                                           update_stats=False))
  assert jax.tree.map(lambda s: s.shape, shapes) == jax.tree.map(jnp.shape, want)

r"""Progressive growing of GANs (PGGAN): generator, critic and their layers, with fade-in.

Karras, Aila, Laine, Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability, and
Variation", ICLR 2018 [PGGAN]; the official TensorFlow code [OFFICIAL] (``networks.py``,
``G_paper`` / ``D_paper`` with ``fused_scale=False``) settles the details the paper leaves open.

Stages and resolutions
  Stage ``s`` is the network whose top resolution is :func:`resolution` ``(s) = 4 * 2**s`` (stage 0
  is 4x4). A network grown to ``image_size`` has :func:`num_stages` ``= log2(image_size) - 1``
  stages, ``0 .. max_stage``.

Feature maps ([PGGAN] Table 2; [OFFICIAL] ``nf``)
  :math:`\mathrm{nf}(k) = \min(\lfloor \mathrm{fmap\_base} / 2^{k \cdot \mathrm{fmap\_decay}}
  \rfloor, \mathrm{fmap\_max})`. The layers at resolution :math:`2^r` have :math:`\mathrm{nf}(r-1)`
  feature maps, i.e. stage ``s`` has ``nf(s + 1)`` (:func:`stage_features`); the latent size and the
  critic's penultimate dense layer use ``nf(0)``. The defaults (8192, 1.0, 512) give 512 maps up to
  32x32, then 256, 128, 64, 32, 16 at 64 .. 1024, as in Table 2; shrink ``fmap_base`` /
  ``fmap_max`` for small data and tests.

Equalized learning rate ([PGGAN] section 4.1)
  Weights are stored as :math:`\hat w \sim \mathcal N(0, 1)` and scaled at run time by He's
  constant, :math:`w = c\,\hat w`, :math:`c = \mathrm{gain} / \sqrt{\mathrm{fan\_in}}` (fan_in =
  in-features of a dense layer, :math:`k_h k_w C_{in}` of a convolution), gain :math:`\sqrt 2` for
  layers followed by a leaky ReLU and 1 for the linear to-RGB and output layers; biases start at
  zero (:class:`EqualizedDense`, :class:`EqualizedConv`). Adam's updates are invariant to the scale
  of the gradient, so every weight then learns at the same effective speed. As in [OFFICIAL] the
  generator's first dense layer uses gain :math:`\sqrt 2 / 4` (``_PROJECT_GAIN``; "to match the
  original Theano implementation"); its output is pixel-normalised, so only the effective step size
  changes.

Pixelwise feature normalization ([PGGAN] section 4.2)
  :math:`b_{x,y} = a_{x,y} / \sqrt{\frac1C \sum_c (a^c_{x,y})^2 + \epsilon}`,
  :math:`\epsilon = 10^{-8}` (:func:`pixel_norm`), after the leaky ReLU of every generator
  convolution (and on the latent).

Minibatch standard deviation ([PGGAN] section 3; :func:`minibatch_stddev`)
  The batch is split into groups of ``G = min(group_size, B)`` samples (``B`` must be a multiple of
  ``G``; sample ``i`` belongs to group ``i mod B/G``, the layout of [OFFICIAL]'s reshape). For every
  group, the standard deviation (population, :math:`\sqrt{\mathrm{Var} + 10^{-8}}`) of every
  feature at every pixel over the group is averaged over features and pixels to one scalar, which
  is appended to each of the group's samples as one constant extra feature map. ``group_size=4`` as
  [OFFICIAL]; ``group_size >= B`` gives the whole-batch statistic of the paper's text.

Generator (:class:`ProgressiveGenerator`; [PGGAN] Table 2; leaky ReLU 0.2 and pixel norm after every
layer but to-RGB)
  ``z`` -> pixel norm -> dense to 4x4xnf(1) -> conv 3x3 (stage 0); per stage ``s >= 1``: nearest
  upsample x2 -> conv 3x3 -> conv 3x3, nf(s+1) maps; ``to_rgb_s``: 1x1 conv to the image channels,
  gain 1, linear output (no tanh).

Critic (:class:`ProgressiveCritic`; leaky ReLU 0.2 after every layer but the last; no batch,
layer or pixel norm)
  ``from_rgb_s``: 1x1 conv to nf(s+1) maps; per stage ``s >= 1``: conv 3x3 to nf(s+1) -> conv 3x3 to
  nf(s) -> 2x2 average pool; at 4x4: minibatch stddev -> conv 3x3 to nf(1) -> dense 4*4*nf(1) ->
  nf(0) -> dense to 1 (gain 1). Scores have shape [B].

Fade-in ([PGGAN] Figure 2)
  Both networks take the static ``stage`` and a traced scalar ``alpha`` in [0, 1] (clipped) as call
  arguments. With :math:`\mathrm{lerp}(a, b, \alpha) = (1 - \alpha) a + \alpha b` (exact at both
  ends),

  * generator: :math:`\mathrm{lerp}(\mathrm{up}(\mathrm{toRGB}_{s-1}(h_{s-1})),
    \mathrm{toRGB}_s(h_s), \alpha)`;
  * critic: the features entering stage ``s-1`` are
    :math:`\mathrm{lerp}(\mathrm{fromRGB}_{s-1}(\mathrm{avgpool}(x)),
    \mathrm{block}_s(\mathrm{fromRGB}_s(x)), \alpha)`;

  ``alpha`` is ignored at stage 0. ``alpha`` is an array input, so changing it never recompiles;
  ``stage`` changes the graph and must be static (``jax.jit(..., static_argnames="stage")``).
  Real images are faded the same way by :func:`real_images_at` ([OFFICIAL] ``process_reals``).

Parameters across stages
  Every layer of every resolution up to ``image_size`` is created by ``init`` whatever ``stage`` it
  is called with, under names that depend only on the layer's resolution (``res8_conv0``,
  ``res8_to_rgb``, ...), so one parameter tree (and one optimizer state) serves all stages;
  ``stage`` only selects the layers used, and the others get exactly zero gradients: layers not
  used yet keep zero Adam moments and so get zero updates, while a layer that fell out of use (the
  previous to-RGB / from-RGB after a fade) drifts on its decaying Adam momentum unless the optimizer
  state is reset (and under weight decay, of course). Note: [OFFICIAL] ``train.py`` resets the Adam moments whenever
  new layers come in (``reset_opt_for_new_lod=True``: at the start and at the end of every fade);
  with this tree either policy is a choice of the training loop (keep the state, or re-``init`` the
  optimizer).

References:
  [PGGAN]    Karras, Aila, Laine, Lehtinen, ICLR 2018 (arXiv:1710.10196), sections 2-4, Table 2.
  [OFFICIAL] github.com/tkarras/progressive_growing_of_gans, ``networks.py`` and ``train.py``.
  [HE]       He, Zhang, Ren, Sun, "Delving Deep into Rectifiers", ICCV 2015 (the constant c).
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from jaxgan import ops
from jaxgan.models import layers

__all__ = [
    "EqualizedConv",
    "EqualizedDense",
    "ProgressiveCritic",
    "ProgressiveGenerator",
    "avg_pool2x",
    "lerp",
    "minibatch_stddev",
    "nf",
    "num_stages",
    "pixel_norm",
    "real_images_at",
    "resolution",
    "stage_features",
    "upsample2x",
]

LEAKY_SLOPE = 0.2
PIXEL_NORM_EPS = 1e-8
MBSTD_EPS = 1e-8
_PROJECT_GAIN = math.sqrt(2) / 4  # [OFFICIAL] G_paper, 4x4 dense


# ------------------------------------------------------------------------------------------------
# Stages and feature maps.


def num_stages(target_resolution: int) -> int:
  """Number of stages (4x4, 8x8, ..., target) of a network grown to ``target_resolution``."""
  k = ops.power_of_two_exponent(target_resolution)
  if k is None or k < 2:
    raise ValueError(
        f"target resolution must be a power of two >= 4, got {target_resolution!r}")
  return k - 1


def resolution(stage: int) -> int:
  """Top resolution of ``stage``: 4 * 2**stage."""
  if stage < 0:
    raise ValueError(f"stage must be >= 0, got {stage}")
  return 4 * 2 ** stage


def nf(k: int, fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512) -> int:
  """The paper's rule ``min(int(fmap_base / 2**(k * fmap_decay)), fmap_max)``, k = log2(res) - 1."""
  return min(int(fmap_base / 2.0 ** (k * fmap_decay)), fmap_max)


def stage_features(stage: int, fmap_base: int = 8192, fmap_decay: float = 1.0,
                   fmap_max: int = 512) -> int:
  """Feature maps of the layers at ``resolution(stage)``: ``nf(stage + 1)``."""
  return nf(stage + 1, fmap_base, fmap_decay, fmap_max)


# ------------------------------------------------------------------------------------------------
# Functional layers.


def pixel_norm(x: jax.Array, epsilon: float = PIXEL_NORM_EPS) -> jax.Array:
  """``x / sqrt(mean_c(x^2) + epsilon)`` over the last (feature) axis."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + epsilon)


def minibatch_stddev(x: jax.Array, group_size: int = 4) -> jax.Array:
  """Appends the group's mean feature standard deviation as one extra channel: [B,H,W,C+1].

  Groups of ``G = min(group_size, B)`` samples, sample ``i`` in group ``i % (B // G)``; the
  statistic is ``mean_{h,w,c} sqrt(Var_group(x[..., h, w, c]) + 1e-8)`` (population variance), in
  float32.
  """
  b, h, w, c = x.shape
  g = min(group_size, b)
  if g < 1 or b % g:
    raise ValueError(f"batch size {b} must be a multiple of the group size min({group_size}, {b})")
  y = x.astype(jnp.float32).reshape(g, b // g, h, w, c)
  y = y - jnp.mean(y, axis=0, keepdims=True)
  y = jnp.sqrt(jnp.mean(jnp.square(y), axis=0) + MBSTD_EPS)  # [M, H, W, C]
  y = jnp.mean(y, axis=(1, 2, 3))  # [M]
  y = jnp.tile(y, g).astype(x.dtype)  # [B]: sample i gets group i % M
  y = jnp.broadcast_to(y[:, None, None, None], (b, h, w, 1))
  return jnp.concatenate([x, y], axis=-1)


def upsample2x(x: jax.Array, factor: int = 2) -> jax.Array:
  """Nearest-neighbour upsampling of [B, H, W, C] by ``factor``."""
  if factor == 1:
    return x
  b, h, w, c = x.shape
  x = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, factor, w, factor, c))
  return x.reshape(b, h * factor, w * factor, c)


def avg_pool2x(x: jax.Array, factor: int = 2) -> jax.Array:
  """Box-filter downscaling of [B, H, W, C] by ``factor`` (:func:`jaxgan.ops.box_downscale`)."""
  return ops.box_downscale(x, factor)


def lerp(a: jax.Array, b: jax.Array, t: jax.Array) -> jax.Array:
  """``(1 - t) a + t b``: exactly ``a`` at t = 0 and exactly ``b`` at t = 1."""
  return (1 - t) * a + t * b


def _alpha(alpha, dtype) -> jax.Array:
  alpha = jnp.asarray(alpha, dtype)
  if alpha.ndim != 0:
    raise ValueError(f"alpha must be a scalar, got shape {alpha.shape}")
  return jnp.clip(alpha, 0.0, 1.0)


def real_images_at(x: jax.Array, stage: int, alpha=1.0) -> jax.Array:
  """Real images [B, S, S, C] as the critic sees them at ``stage`` and fade ``alpha``.

  Box-downscaled to ``resolution(stage)`` and, during a fade, blended with their own 2x-blurred
  version, ``lerp(up(avgpool(x_s)), x_s, alpha)``, so that reals carry the same detail as the fading
  generator's output ([OFFICIAL] ``train.py``, ``process_reals``).
  """
  res = resolution(stage)
  size = x.shape[1]
  if size % res or size != x.shape[2]:
    raise ValueError(f"images of shape {x.shape} cannot be downscaled to {res}x{res}")
  x = avg_pool2x(x, size // res)
  if stage == 0:
    return x
  return lerp(upsample2x(avg_pool2x(x)), x, _alpha(alpha, x.dtype))


# ------------------------------------------------------------------------------------------------
# Equalized-learning-rate layers.


class EqualizedDense(nn.Module):
  """Dense layer on the last axis, ``x @ (c * kernel) + bias``, ``c = gain / sqrt(in_features)``.

  ``kernel`` [in, features] ~ N(0, 1) and ``bias`` [features] = 0 are stored unscaled in ``params``
  (same names and layout as ``nn.Dense``).
  """
  features: int
  gain: float = math.sqrt(2)
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    fan_in = x.shape[-1]
    kernel = self.param("kernel", nn.initializers.normal(1.0), (fan_in, self.features),
                        jnp.float32)
    scale = self.gain / math.sqrt(fan_in)
    y = jnp.dot(x, (kernel * scale).astype(x.dtype))
    if self.use_bias:
      bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
      y = y + bias.astype(y.dtype)
    return y


class EqualizedConv(nn.Module):
  """Stride-1 'SAME' NHWC convolution with kernel ``c * kernel``, ``c = gain / sqrt(fan_in)``.

  ``fan_in = kh * kw * C_in``; ``kernel`` [kh, kw, C_in, features] ~ N(0, 1), ``bias`` = 0 (names
  and layout of ``nn.Conv``).
  """
  features: int
  kernel_size: Sequence[int] = (3, 3)
  gain: float = math.sqrt(2)
  use_bias: bool = True
  conv_impl: str = "xla"  # 'xla' (lax) or 'im2col' (jaxgan.ops; fast on CPU): how, not what

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kh, kw = self.kernel_size
    fan_in = kh * kw * x.shape[-1]
    kernel = self.param("kernel", nn.initializers.normal(1.0),
                        (kh, kw, x.shape[-1], self.features), jnp.float32)
    scale = self.gain / math.sqrt(fan_in)
    w = (kernel * scale).astype(x.dtype)
    conv = layers.conv_general_dilated_fn(self.conv_impl) or lax.conv_general_dilated
    y = conv(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
      y = y + bias.astype(y.dtype)
    return y


def _act(x: jax.Array) -> jax.Array:
  return nn.leaky_relu(x, LEAKY_SLOPE)


class _Progressive(nn.Module):
  """Shared fields and stage bookkeeping."""
  image_size: int = 32  # target (largest) resolution, a power of two >= 4
  channels: int = 3
  fmap_base: int = 8192
  fmap_decay: float = 1.0
  fmap_max: int = 512
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  def _conv(self, *args, **kwargs) -> EqualizedConv:
    return EqualizedConv(*args, conv_impl=self.conv_impl, **kwargs)

  @property
  def max_stage(self) -> int:
    return num_stages(self.image_size) - 1

  def features(self, stage: int) -> int:
    """Feature maps at ``resolution(stage)`` (``nf(stage + 1)``; ``stage = -1`` gives ``nf(0)``)."""
    return stage_features(stage, self.fmap_base, self.fmap_decay, self.fmap_max)

  def _stage(self, stage) -> int:
    if stage is None:
      return self.max_stage
    if not isinstance(stage, (int, np.integer)) or isinstance(stage, bool):
      raise TypeError(f"stage must be a Python int (static), got {type(stage).__name__}")
    if not 0 <= stage <= self.max_stage:
      raise ValueError(f"stage must be in [0, {self.max_stage}] for image_size "
                       f"{self.image_size}, got {stage}")
    return int(stage)


class ProgressiveGenerator(_Progressive):
  """z [B, latent] -> images [B, R, R, channels], R = resolution(stage); linear output.

  Call: ``G.apply(variables, z, stage=s, alpha=a)``; ``stage`` (static int, default ``max_stage``)
  and ``alpha`` (traced float scalar, default 1). ``train`` is accepted for the common generator
  interface and unused (no batch norm). The latent size is free; the paper's is ``nf(0)`` (512).
  """
  normalize_latents: bool = True
  use_pixel_norm: bool = True

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool = False, stage: int | None = None,
               alpha=1.0) -> jax.Array:
    del train
    stage = self._stage(stage)
    # At init every layer is built, so the parameter tree does not depend on `stage`.
    last = self.max_stage if self.is_initializing() else stage
    pn = pixel_norm if self.use_pixel_norm else (lambda h: h)

    x = pixel_norm(z) if self.normalize_latents else z
    f0 = self.features(0)
    h = EqualizedDense(16 * f0, gain=_PROJECT_GAIN, name="res4_dense")(x)
    h = pn(_act(h.reshape(z.shape[0], 4, 4, f0)))
    h = pn(_act(self._conv(f0, (3, 3), name="res4_conv")(h)))
    hs = [h]
    for s in range(1, last + 1):
      r, f = resolution(s), self.features(s)
      h = upsample2x(h)
      h = pn(_act(self._conv(f, (3, 3), name=f"res{r}_conv0")(h)))
      h = pn(_act(self._conv(f, (3, 3), name=f"res{r}_conv1")(h)))
      hs.append(h)

    to_rgb = [self._conv(self.channels, (1, 1), gain=1.0, name=f"res{resolution(s)}_to_rgb")
              for s in range(last + 1)]
    if self.is_initializing():
      for s in range(last + 1):
        if s not in (stage, stage - 1):
          to_rgb[s](hs[s])
    img = to_rgb[stage](hs[stage])
    if stage == 0:
      return img
    prev = upsample2x(to_rgb[stage - 1](hs[stage - 1]))
    return lerp(prev, img, _alpha(alpha, img.dtype))


class ProgressiveCritic(_Progressive):
  """images [B, R, R, channels], R = resolution(stage) -> scores [B].

  Call: ``D.apply(variables, x, stage=s, alpha=a)``, as the generator; ``update_stats`` is accepted
  for the common critic interface and unused. ``mbstd_group_size``: 0 or 1 disables the minibatch
  stddev layer; otherwise groups of ``min(mbstd_group_size, B)`` (the batch must divide into them).
  """
  mbstd_group_size: int = 4

  @property
  def couples_batch(self) -> bool:
    """True with the minibatch stddev layer: a sample's score depends on its group's samples."""
    return self.mbstd_group_size > 1

  def batch_group_size(self, batch_size: int) -> int:
    """G: the minibatch stddev couples sample i only with samples i + k * batch_size / G (its group,
    ``i mod batch_size / G``); 1 without the layer."""
    return min(self.mbstd_group_size, batch_size) if self.couples_batch else 1

  @staticmethod
  def real_inputs(x: jax.Array, stage: int, alpha=1.0) -> jax.Array:
    """Real images as this critic sees them at ``stage`` and fade ``alpha`` (:func:`real_images_at`)."""
    return real_images_at(x, stage, alpha)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False, stage: int | None = None,
               alpha=1.0) -> jax.Array:
    del update_stats
    stage = self._stage(stage)
    res = resolution(stage)
    if x.ndim != 4 or x.shape[1:] != (res, res, self.channels):
      raise ValueError(f"stage {stage} expects images [B, {res}, {res}, {self.channels}], "
                       f"got {x.shape}")
    init = self.is_initializing()

    from_rgb = [self._conv(self.features(s), (1, 1), name=f"res{resolution(s)}_from_rgb")
                for s in range(self.max_stage + 1)]
    blocks = {}
    for s in range(1, self.max_stage + 1):
      r = resolution(s)
      blocks[s] = (self._conv(self.features(s), (3, 3), name=f"res{r}_conv0"),
                   self._conv(self.features(s - 1), (3, 3), name=f"res{r}_conv1"))

    def block(s, h):
      conv0, conv1 = blocks[s]
      return avg_pool2x(_act(conv1(_act(conv0(h)))))

    if init:  # Build the layers `stage` does not use, on dummy inputs of batch 1.
      for s in range(self.max_stage + 1):
        r = resolution(s)
        if s not in (stage, stage - 1):
          from_rgb[s](jnp.zeros((1, r, r, x.shape[-1]), x.dtype))
        if s > stage:
          block(s, jnp.zeros((1, r, r, self.features(s)), x.dtype))

    h = _act(from_rgb[stage](x))
    if stage > 0:
      h = block(stage, h)
      skip = _act(from_rgb[stage - 1](avg_pool2x(x)))
      h = lerp(skip, h, _alpha(alpha, h.dtype))
      for s in range(stage - 1, 0, -1):
        h = block(s, h)

    if self.mbstd_group_size > 1:
      h = minibatch_stddev(h, self.mbstd_group_size)
    h = _act(self._conv(self.features(0), (3, 3), name="res4_conv")(h))
    h = h.reshape(h.shape[0], -1)
    h = _act(EqualizedDense(self.features(-1), name="res4_dense0")(h))
    return EqualizedDense(1, gain=1.0, name="res4_dense1")(h)[:, 0]

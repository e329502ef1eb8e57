"""ResNet generator and critic for 32x32 images, as in SNGAN (Miyato et al.) and WGAN-GP.

Both papers use the same pre-activation residual architecture for CIFAR-10; they differ in widths,
pooling, the critic's last bias and whether the critic is spectrally normalised. The blocks follow
the authors' code (pfnet-research/sngan_projection ``gen_models/resblocks.py``,
``dis_models/resblocks.py``, ``gen_models/resnet_32.py``, ``dis_models/snresnet_32.py``;
igul222/improved_wgan_training ``gan_cifar_resnet.py``). Images are NHWC here and NCHW in the
chainer / TF code, which changes no parameter count.

Generator (both papers; [SNGAN] Table 4(a), C = 256 there and 128 in [WGAN-GP])::

  z in R^128 ~ N(0, I)
  dense -> 4 x 4 x C                           (no normalisation or activation after it)
  ResBlock up C                                x log2(S / 4)  (3 for S = 32)
  BN, ReLU, 3x3 conv (stride 1) -> out_channels
  tanh

Critic ([SNGAN] Table 4(b); [WGAN-GP] ``Discriminator`` with DIM_D = 128)::

  x in R^{32 x 32 x 3}
  ResBlock down C   (the "optimized" first block)   32 -> 16
  ResBlock down C                                   16 -> 8
  ResBlock C                                        8
  ResBlock C                                        8
  ReLU
  global pooling over H, W   (sum in SNGAN, mean in WGAN-GP)
  dense -> 1                 (no bias in SNGAN, bias in WGAN-GP)

Residual blocks (``h`` is the residual branch, ``s`` the shortcut, output ``h + s``):

* :class:`GeneratorResBlock` (up): ``h = BN -> ReLU -> up -> conv3x3 -> BN -> ReLU -> conv3x3``
  applied to ``x``, with ``up`` the nearest-neighbour 2x upsampling placed before the first
  convolution; ``s = conv1x1(up(x))`` (learnable because the block upsamples; identity only for a
  same-width block without upsampling). The hidden width is the output width. chainer's
  ``unpooling_2d(x, 2)`` and TF's ``depth_to_space`` of four copies are both nearest-neighbour
  upsampling.
* :class:`CriticResBlock` (down or not): ``h = ReLU -> conv3x3 -> ReLU -> conv3x3 -> avgpool2``
  (the pool only when downsampling; hidden width = input width); ``s = avgpool2(conv1x1(x))`` when
  the block downsamples or changes the width (conv first, then pool: ``ConvMeanPool`` in
  [WGAN-GP]), else ``s = x``. No normalisation in the critic.
* :class:`OptimizedCriticResBlock` (first critic block, acting on raw pixels, so no ReLU first):
  ``h = conv3x3 -> ReLU -> conv3x3 -> avgpool2``, ``s = conv1x1(avgpool2(x))`` (pool first, then
  conv: ``MeanPoolConv`` in [WGAN-GP]).

All convolutions are stride 1 with 'SAME' padding (chainer ``pad=1`` for 3x3, ``pad=0`` for 1x1).

How the resampling is computed (the functions above, parameters unchanged, same outputs to float
rounding): nearest upsampling and 2x2 mean pooling are linear and commute with a convolution's
taps, so ``conv3x3(up(h))`` makes each product of a low-resolution pixel and a tap once and adds
them into the four output phases (a quarter of the multiplications), and ``avgpool2(conv3x3(h))``
is one stride-2 convolution with the 3x3 kernel summed over a 2x2 box into a 4x4 one (4/9 of them;
:func:`jaxgan.ops.resampled_conv2d`).
The 1x1 shortcuts run at the low resolution (``conv1x1(up(x)) = up(conv1x1(x))``,
``avgpool2(conv1x1(x)) = conv1x1(avgpool2(x))``). ``tests/test_models.py`` checks the layers against
the plain compositions; ``benchmarks/torch_reference.py`` computes them plainly, as the authors'
code does.

Initialisation (identical in both codes): the 3x3 convolutions of the residual branches are
uniform with variance ``4 / (fan_in + fan_out)`` (chainer ``GlorotUniform(sqrt(2))``, tflib
``he_init=True``), i.e. ``variance_scaling(2, 'fan_avg', 'uniform')``; the 1x1 shortcuts, the
generator's input dense and output convolution and the critic's output dense are Glorot uniform
(chainer ``GlorotUniform()``, tflib ``he_init=False`` / ``Linear`` default). Biases start at zero.

Differences between the two published settings (the factories :func:`sngan_resnet` and
:func:`wgan_gp_resnet` return them):

========================  =====================================  ==================================
setting                   SNGAN (Table 4, sngan_projection)      WGAN-GP (``gan_cifar_resnet.py``)
========================  =====================================  ==================================
generator width C         256                                    128 (``DIM_G``)
critic width C            128                                    128 (``DIM_D``)
critic normalisation      spectral norm on every conv / dense    none (``NORMALIZATION_D = False``)
global pooling            sum over the 8 x 8 positions           mean (``reduce_mean``)
critic output dense bias  no (``SNLinear(..., nobias=True)``)    yes (tflib ``Linear``)
loss used with it         hinge (``sn_cifar10_unconditional``)   WGAN loss + gradient penalty
========================  =====================================  ==================================

On the final 8 x 8 map sum pooling is 64 times mean pooling; spectral normalisation acts on the
weights only and does not remove that factor, so the two poolings give different critics.
Full-size parameter counts (z of dimension 128): SNGAN generator 4,276,739 and critic 1,053,824;
WGAN-GP generator 1,204,483 and critic 1,053,825 (derived in ``tests/test_models.py``).

Deliberate differences from the reference code: the WGAN-GP release script defaults to the
class-conditional AC-GAN (conditional batch norm in G, an extra 10-way head in D); here, as for its
unconditional CIFAR-10 result, G uses plain batch norm and D has only the score head. tflib's batch
norm in that script always normalises with batch statistics (``is_training=None``); here
``train=True`` does that and ``train=False`` uses running averages (momentum 0.9, chainer's default
decay), the convention of every generator in this package. Batch-norm epsilon is flax's 1e-5
(chainer 2e-5, tflib 1e-5).

References:
  [SNGAN]   Miyato, Kataoka, Koyama, Yoshida, "Spectral Normalization for Generative Adversarial
            Networks", ICLR 2018 (arXiv:1802.05957), appendix Table 4 and Figure 8; code:
            github.com/pfnet-research/sngan_projection (config ``sn_cifar10_unconditional.yml``).
  [WGAN-GP] Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville, "Improved Training of Wasserstein
            GANs", NIPS 2017 (arXiv:1704.00028), appendix (CIFAR-10 ResNet); code:
            github.com/igul222/improved_wgan_training, ``gan_cifar_resnet.py``.
  [RESNET]  He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016
            (pre-activation blocks).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import ops
from jaxgan.models import layers
from jaxgan.models.dcgan import num_doublings

__all__ = ["GeneratorResBlock", "CriticResBlock", "OptimizedCriticResBlock", "ResNetGenerator",
           "ResNetCritic", "sngan_resnet", "wgan_gp_resnet"]

POOLINGS = ("sum", "mean")

# Residual-branch 3x3 convolutions: Var = 4 / (fan_in + fan_out), uniform (see module docstring).
RESIDUAL_INIT = nn.initializers.variance_scaling(2.0, "fan_avg", "uniform")
# Shortcuts, dense layers and the output convolution: Glorot uniform, Var = 2 / (fan_in + fan_out).
GLOROT_INIT = nn.initializers.glorot_uniform()


def upsample_nearest(x: jax.Array) -> jax.Array:
  """[B, H, W, C] -> [B, 2H, 2W, C], each pixel repeated in a 2x2 square."""
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def avg_pool2(x: jax.Array) -> jax.Array:
  """[B, H, W, C] -> [B, H/2, W/2, C], the mean of each non-overlapping 2x2 square."""
  return ops.box_downscale(x, 2)


class GeneratorResBlock(nn.Module):
  """Pre-activation generator block: BN-ReLU-[up]-conv3x3-BN-ReLU-conv3x3 plus a shortcut."""
  out_channels: int
  upsample: bool = True
  bn_axis_name: str | None = None  # pmap axis for global batch statistics
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    def bn(name):
      return layers.batch_norm(train, self.bn_axis_name, name)

    h = nn.relu(bn("bn1")(x))
    ci = self.conv_impl
    if self.upsample:  # conv3x3(up(h)), its products at the low resolution (module docstring)
      h = layers.ResampledConv(self.out_channels, (3, 3), "up", ci, kernel_init=RESIDUAL_INIT,
                               name="conv1")(h)
    else:
      h = layers.plain_conv(self.out_channels, (3, 3), ci, kernel_init=RESIDUAL_INIT,
                            name="conv1")(h)
    h = nn.relu(bn("bn2")(h))
    h = layers.plain_conv(self.out_channels, (3, 3), ci, kernel_init=RESIDUAL_INIT, name="conv2")(h)

    s = x
    if self.upsample or x.shape[-1] != self.out_channels:
      s = layers.plain_conv(self.out_channels, (1, 1), ci, kernel_init=GLOROT_INIT,
                            name="shortcut")(s)
      if self.upsample:  # conv1x1(up(x)) == up(conv1x1(x)), at a quarter of the multiplications
        s = upsample_nearest(s)
    return h + s


class CriticResBlock(nn.Module):
  """Pre-activation critic block: ReLU-conv3x3-ReLU-conv3x3-[avgpool] plus a shortcut (no norm)."""
  out_channels: int
  downsample: bool = True
  spectral_norm: bool = False
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    sn, ci = self.spectral_norm, self.conv_impl
    hidden = x.shape[-1]
    h = layers.conv(hidden, (3, 3), (1, 1), sn, "conv1", ci, kernel_init=RESIDUAL_INIT)(nn.relu(x),
                                                                                    update_stats)
    # avgpool(conv3x3(h)) as one stride-2 4x4 convolution when downsampling (module docstring).
    h = layers.conv(self.out_channels, (3, 3), (1, 1), sn, "conv2", ci, kernel_init=RESIDUAL_INIT,
                    resample="down" if self.downsample else None)(nn.relu(h), update_stats)

    s = x
    if self.downsample or x.shape[-1] != self.out_channels:
      if self.downsample:  # avgpool(conv1x1(x)) == conv1x1(avgpool(x)), a quarter of the work
        s = avg_pool2(s)
      s = layers.conv(self.out_channels, (1, 1), (1, 1), sn, "shortcut", ci, kernel_init=GLOROT_INIT)(
          s, update_stats)
    return h + s


class OptimizedCriticResBlock(nn.Module):
  """First critic block on raw pixels: conv3x3-ReLU-conv3x3-avgpool, shortcut avgpool-conv1x1."""
  out_channels: int
  spectral_norm: bool = False
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    sn, ci = self.spectral_norm, self.conv_impl
    h = layers.conv(self.out_channels, (3, 3), (1, 1), sn, "conv1", ci, kernel_init=RESIDUAL_INIT)(
        x, update_stats)
    h = layers.conv(self.out_channels, (3, 3), (1, 1), sn, "conv2", ci, kernel_init=RESIDUAL_INIT,
                    resample="down")(nn.relu(h), update_stats)  # avgpool(conv3x3(h))
    s = layers.conv(self.out_channels, (1, 1), (1, 1), sn, "shortcut", ci, kernel_init=GLOROT_INIT)(
        avg_pool2(x), update_stats)
    return h + s


class ResNetGenerator(nn.Module):
  """z [B, latent_dim] -> images [B, S, S, out_channels] in [-1, 1] (see the module docstring).

  Attributes:
    channels: width C of every block (256 in SNGAN, 128 in WGAN-GP).
    image_size: output side S, a power of two >= 8; log2(S / 4) up-blocks follow the 4x4 projection.
    out_channels: image channels (3 for RGB).
  """
  channels: int = 256
  image_size: int = 32
  out_channels: int = 3
  bn_axis_name: str | None = None  # pmap axis for global batch statistics
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
    n = num_doublings(self.image_size)
    c = self.channels
    h = nn.Dense(4 * 4 * c, kernel_init=GLOROT_INIT, name="project")(z)
    h = h.reshape(z.shape[0], 4, 4, c)
    for i in range(n):
      h = GeneratorResBlock(c, upsample=True, bn_axis_name=self.bn_axis_name,
                            conv_impl=self.conv_impl, name=f"block{i + 1}")(h, train=train)
    h = layers.batch_norm(train, self.bn_axis_name, "bn_out")(h)
    h = layers.plain_conv(self.out_channels, (3, 3), self.conv_impl, kernel_init=GLOROT_INIT,
                          name="to_image")(nn.relu(h))
    return jnp.tanh(h)


class ResNetCritic(nn.Module):
  """images [B, S, S, C_in] -> scores [B] (see the module docstring).

  Attributes:
    channels: width C of every block (128 in both papers).
    spectral_norm: divide every conv / dense weight by its spectral norm (SNGAN).
    pooling: ``'sum'`` (SNGAN) or ``'mean'`` (WGAN-GP) over the spatial positions.
    output_bias: whether the final dense has a bias (False in SNGAN, True in WGAN-GP).
  """
  channels: int = 128
  spectral_norm: bool = False
  pooling: str = "sum"
  output_bias: bool = True
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  couples_batch = False  # no cross-sample operation: scores are per sample (step.StepSpec)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    if self.pooling not in POOLINGS:
      raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
    c, sn, ci = self.channels, self.spectral_norm, self.conv_impl
    h = OptimizedCriticResBlock(c, spectral_norm=sn, conv_impl=ci, name="block1")(
        x, update_stats=update_stats)
    h = CriticResBlock(c, downsample=True, spectral_norm=sn, conv_impl=ci, name="block2")(
        h, update_stats=update_stats)
    h = CriticResBlock(c, downsample=False, spectral_norm=sn, conv_impl=ci, name="block3")(
        h, update_stats=update_stats)
    h = CriticResBlock(c, downsample=False, spectral_norm=sn, conv_impl=ci, name="block4")(
        h, update_stats=update_stats)
    h = nn.relu(h)
    h = jnp.sum(h, axis=(1, 2)) if self.pooling == "sum" else jnp.mean(h, axis=(1, 2))
    out = layers.dense(1, sn, "out", use_bias=self.output_bias, kernel_init=GLOROT_INIT)
    return out(h, update_stats)[:, 0]


def sngan_resnet(spectral_norm: bool = True) -> tuple[ResNetGenerator, ResNetCritic]:
  """SNGAN's CIFAR-10 ResNet ([SNGAN] Table 4): G width 256; D width 128, sum pooling, no out bias.

  ``spectral_norm=False`` gives the same architecture without normalisation (an ablation).
  """
  return (ResNetGenerator(channels=256),
          ResNetCritic(channels=128, spectral_norm=spectral_norm, pooling="sum", output_bias=False))


def wgan_gp_resnet() -> tuple[ResNetGenerator, ResNetCritic]:
  """WGAN-GP's CIFAR-10 ResNet (``gan_cifar_resnet.py``): G and D width 128, mean pooling, no SN."""
  return (ResNetGenerator(channels=128),
          ResNetCritic(channels=128, spectral_norm=False, pooling="mean", output_bias=True))

"""DCGAN-style generator and critic for small square images (8x8 digits up to 64x64).

Generator (Radford et al. 2016): z -> dense to 4x4xC -> [4x4 transposed conv, stride 2, batch norm,
ReLU] per doubling -> 3x3 conv to the image channels -> tanh, so samples lie in [-1, 1].
Critic: 3x3 conv -> [4x4 conv, stride 2, LeakyReLU(0.2)] per halving down to 4x4 -> dense to one
unbounded score. The critic has no batch norm (WGAN-GP section 4: the penalty is per sample, and batch
norm couples the samples); layer norm is optional, and every critic layer may be spectrally normalised.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import ops
from jaxgan.models import layers


def num_doublings(image_size: int) -> int:
  """How many factor-2 resolution steps separate 4x4 from ``image_size`` (a power of two >= 8)."""
  k = ops.power_of_two_exponent(image_size)
  if k is None or k < 3:
    raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
  return k - 2


class DCGANGenerator(nn.Module):
  """z [B, latent_dim] -> images [B, S, S, C] in [-1, 1]."""
  image_size: int = 32
  channels: int = 3
  base_channels: int = 64
  batch_norm: bool = True
  bn_axis_name: str | None = None  # pmap axis for global batch statistics
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
    n = num_doublings(self.image_size)

    def norm_act(h, name):
      if self.batch_norm:
        h = layers.batch_norm(train, self.bn_axis_name, name)(h)
      return nn.relu(h)

    width = self.base_channels * 2 ** n
    h = nn.Dense(4 * 4 * width, name="project")(z)
    h = norm_act(h.reshape(z.shape[0], 4, 4, width), "bn_project")
    for i in range(n):
      width = self.base_channels * 2 ** (n - 1 - i)
      h = layers.conv_transpose(width, (4, 4), (2, 2), self.conv_impl, padding="SAME",
                                name=f"up{i}")(h)
      h = norm_act(h, f"bn_up{i}")
    h = layers.plain_conv(self.channels, (3, 3), self.conv_impl, padding="SAME", name="to_image")(h)
    return jnp.tanh(h)


class DCGANCritic(nn.Module):
  """images [B, S, S, C] -> scores [B]."""
  image_size: int = 32
  base_channels: int = 64
  layer_norm: bool = False
  spectral_norm: bool = False
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  couples_batch = False  # no cross-sample operation: scores are per sample (step.StepSpec)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    n = num_doublings(self.image_size)
    sn, ci = self.spectral_norm, self.conv_impl
    h = layers.conv(self.base_channels, (3, 3), (1, 1), sn, "from_image", ci)(x, update_stats)
    h = nn.leaky_relu(h, 0.2)
    for i in range(n):
      width = self.base_channels * 2 ** (i + 1)
      h = layers.conv(width, (4, 4), (2, 2), sn, f"down{i}", ci)(h, update_stats)
      if self.layer_norm:
        h = nn.LayerNorm(name=f"ln_down{i}")(h)
      h = nn.leaky_relu(h, 0.2)
    h = h.reshape(h.shape[0], -1)
    return layers.dense(1, sn, "out")(h, update_stats)[:, 0]

"""SNGAN's "standard CNN" generator and critic (Miyato et al. 2018, appendix Table 3).

With ``b = base_channels`` (64 in the paper) and ``M = image_size / 8`` (M_g = 4 for 32x32 CIFAR-10,
6 for 48x48 STL-10):

Generator ([SNGAN] Table 3(a))::

  z in R^128 ~ N(0, I)
  dense -> M x M x 8b  (512)       then BN + ReLU, see below
  4x4 deconv, stride 2 -> 4b (256), BN, ReLU
  4x4 deconv, stride 2 -> 2b (128), BN, ReLU
  4x4 deconv, stride 2 -> b  (64),  BN, ReLU
  3x3 conv, stride 1 -> out_channels (3)
  tanh

Critic ([SNGAN] Table 3(b); every leaky ReLU has slope 0.1)::

  x in R^{S x S x 3}
  3x3 conv, stride 1 -> b  (64),  lReLU
  4x4 conv, stride 2 -> b  (64),  lReLU
  3x3 conv, stride 1 -> 2b (128), lReLU
  4x4 conv, stride 2 -> 2b (128), lReLU
  3x3 conv, stride 1 -> 4b (256), lReLU
  4x4 conv, stride 2 -> 4b (256), lReLU
  3x3 conv, stride 1 -> 8b (512), lReLU
  dense (from M x M x 512) -> 1

Padding is 'SAME' everywhere, which for these kernels equals the authors' chainer ``pad=1``: a
4x4, stride-2 convolution halves the side and a 4x4, stride-2 transposed convolution doubles it
(``lax.conv_transpose`` 'SAME' pads the dilated input by 2 on each side, as PyTorch / chainer
``pad=1`` do). The critic has no batch norm (the WGAN-GP penalty is per sample, and batch norm would
couple the samples); with ``spectral_norm`` every conv and the dense are spectrally normalised
(SNGAN); without it the same critic suits WGAN-GP or a plain GAN.

Choices where the paper's table and the authors' code (pfnet-research/chainer-gan-lib,
``common/net.py``: ``DCGANGenerator``, ``SNDCGANDiscriminator``) differ:

* Projection: Table 3 lists no normalisation or activation after the dense layer, but the code
  applies batch norm over the M*M*512 dense features (one statistic per feature, before the
  reshape) and ReLU. ``project_bn=True`` (default) does what the code does; ``project_bn=False`` is
  the literal table (the dense then feeds the first deconvolution linearly).
* Critic widths and slope: Table 3 (followed here) has 64, 64, 128, 128, 256, 256, 512 and slope
  0.1; the chainer code has 64, 128, 128, 256, 256, 512, 512 and chainer's default slope 0.2.
* The code's last generator layer is a 3x3 stride-1 *transposed* convolution with pad 1, which is a
  3x3 'SAME' convolution with a flipped kernel: the same function class and parameter count.
* Initialisation: the code draws every weight from N(0, 0.02^2) (done here); biases start at zero.

Full-size parameter counts (z of dimension 128, 32x32x3 images): generator 3,828,739, critic
2,935,873 (derived by hand in ``tests/test_models.py``).

References:
  [SNGAN]  Miyato, Kataoka, Koyama, Yoshida, "Spectral Normalization for Generative Adversarial
           Networks", ICLR 2018 (arXiv:1802.05957), appendix Table 3; code:
           github.com/pfnet-research/chainer-gan-lib.
  [DCGAN]  Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep Convolutional
           Generative Adversarial Networks", ICLR 2016.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers

__all__ = ["SNGANCNNGenerator", "SNGANCNNCritic", "sngan_cnn"]

# chainer-gan-lib initialises every weight of these networks with Normal(0.02).
INIT = nn.initializers.normal(0.02)


def bottom_width(image_size: int) -> int:
  """M = image_size / 8: the side of the generator's first feature map (4 for 32x32)."""
  if image_size < 8 or image_size % 8:
    raise ValueError(f"image_size must be a positive multiple of 8, got {image_size}")
  return image_size // 8


class SNGANCNNGenerator(nn.Module):
  """z [B, latent_dim] -> images [B, S, S, out_channels] in [-1, 1].

  Attributes:
    image_size: output side S, a multiple of 8 (three stride-2 deconvolutions from S / 8).
    out_channels: image channels (3 for RGB).
    base_channels: b; the layers have 8b, 4b, 2b, b channels (b = 64 in the paper).
    project_bn: batch norm (per feature) and ReLU after the dense projection, as the authors' code.
  """
  image_size: int = 32
  out_channels: int = 3
  base_channels: int = 64
  project_bn: bool = True
  bn_axis_name: str | None = None  # pmap axis for global batch statistics
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
    m = bottom_width(self.image_size)
    b = self.base_channels

    def bn(name):
      return layers.batch_norm(train, self.bn_axis_name, name)

    h = nn.Dense(m * m * 8 * b, kernel_init=INIT, name="project")(z)
    if self.project_bn:
      h = nn.relu(bn("bn_project")(h))
    h = h.reshape(z.shape[0], m, m, 8 * b)
    for i, width in enumerate((4 * b, 2 * b, b)):
      h = layers.conv_transpose(width, (4, 4), (2, 2), self.conv_impl, padding="SAME",
                                kernel_init=INIT, name=f"up{i}")(h)
      h = nn.relu(bn(f"bn_up{i}")(h))
    h = layers.plain_conv(self.out_channels, (3, 3), self.conv_impl, padding="SAME",
                          kernel_init=INIT, name="to_image")(h)
    return jnp.tanh(h)


class SNGANCNNCritic(nn.Module):
  """images [B, S, S, C] -> scores [B] (S a multiple of 8).

  Attributes:
    base_channels: b; the convolutions have b, b, 2b, 2b, 4b, 4b, 8b channels (b = 64 in the paper).
    negative_slope: slope of the leaky ReLUs (0.1 in the paper).
    spectral_norm: divide every conv / dense weight by its spectral norm (SNGAN).
  """
  base_channels: int = 64
  negative_slope: float = 0.1
  spectral_norm: bool = False
  conv_impl: str = "xla"  # how convolutions are computed (layers.resolve_conv_impl)

  couples_batch = False  # no cross-sample operation: scores are per sample (step.StepSpec)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    b, sn = self.base_channels, self.spectral_norm
    # (features, kernel, stride) of Table 3(b).
    specs = ((b, 3, 1), (b, 4, 2), (2 * b, 3, 1), (2 * b, 4, 2), (4 * b, 3, 1), (4 * b, 4, 2),
             (8 * b, 3, 1))
    h = x
    for i, (width, k, s) in enumerate(specs):
      h = layers.conv(width, (k, k), (s, s), sn, f"conv{i}", self.conv_impl, kernel_init=INIT)(
          h, update_stats)
      h = nn.leaky_relu(h, self.negative_slope)
    h = h.reshape(h.shape[0], -1)
    return layers.dense(1, sn, "out", kernel_init=INIT)(h, update_stats)[:, 0]


def sngan_cnn(spectral_norm: bool = True) -> tuple[SNGANCNNGenerator, SNGANCNNCritic]:
  """The paper's 32x32 standard CNN pair (b = 64, slope 0.1); the critic spectrally normalised."""
  return SNGANCNNGenerator(image_size=32), SNGANCNNCritic(spectral_norm=spectral_norm)

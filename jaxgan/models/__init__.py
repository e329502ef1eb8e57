"""Generators and critics (Flax linen; pure ``apply``), and :func:`build` to make them from a config.

Every generator is called as ``G.apply(variables, z, train=...)``; every critic as
``D.apply(variables, x, update_stats=...)`` and returns one score per sample, shape [B].
"""

from __future__ import annotations

import flax.linen as nn

from jaxgan.models import layers
from jaxgan.models.dcgan import DCGANCritic, DCGANGenerator
from jaxgan.models.mlp import BatchNormMLPGenerator, MaxoutCritic, MLPCritic, MLPGenerator
from jaxgan.models.progressive import ProgressiveCritic, ProgressiveGenerator
from jaxgan.models.resnet import ResNetCritic, ResNetGenerator
from jaxgan.models.sngan_cnn import SNGANCNNCritic, SNGANCNNGenerator

__all__ = ["MLPGenerator", "MLPCritic", "BatchNormMLPGenerator", "MaxoutCritic",
           "DCGANGenerator", "DCGANCritic", "SNGANCNNGenerator",
           "SNGANCNNCritic", "ResNetGenerator", "ResNetCritic", "ProgressiveGenerator",
           "ProgressiveCritic", "build"]


def build(config, sample_shape: tuple[int, ...], *,
          bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
  """The (generator, critic) pair a config names, for samples of ``sample_shape``.

  ``bn_axis_name``: the ``pmap`` axis over which the generator's batch norm averages its batch
  statistics (so that they are those of the global batch); None under ``jit``, where they already are.
  ``config.conv_impl`` ('auto', 'xla', 'im2col') picks how convolutions are computed
  (:func:`jaxgan.models.layers.resolve_conv_impl`; 'auto' is resolved here, for the default backend);
  parameters and results do not depend on it.
  """
  ci = layers.resolve_conv_impl(config.get("conv_impl", "auto"))
  if config.model == "mlp":
    (dim,) = sample_shape
    return (MLPGenerator(out_dim=dim, hidden_dim=config.hidden_dim, num_hidden=config.num_hidden),
            MLPCritic(hidden_dim=config.hidden_dim, num_hidden=config.num_hidden,
                      spectral_norm=config.spectral_norm))
  if config.model == "pacgan_mlp":
    # PacGAN's 2-D networks (Lin et al. 2018; their code's sizes, fixed): G 4 x 400 BN-ReLU,
    # D 3 x 200 maxout with 5 pieces (jaxgan.models.mlp).
    (dim,) = sample_shape
    return (BatchNormMLPGenerator(out_dim=dim, bn_axis_name=bn_axis_name),
            MaxoutCritic(spectral_norm=config.spectral_norm))
  if config.model == "dcgan":
    size, _, channels = sample_shape
    return (DCGANGenerator(image_size=size, channels=channels, base_channels=config.base_channels,
                           batch_norm=config.g_batch_norm, bn_axis_name=bn_axis_name, conv_impl=ci),
            DCGANCritic(image_size=size, base_channels=config.base_channels,
                        layer_norm=config.critic_layer_norm, spectral_norm=config.spectral_norm,
                        conv_impl=ci))
  size, _, channels = sample_shape
  if config.model == "sngan_cnn":
    # SNGAN table 3 at base width 64 (config.base_channels scales every layer).
    return (SNGANCNNGenerator(image_size=size, out_channels=channels,
                              base_channels=config.base_channels, bn_axis_name=bn_axis_name,
                              conv_impl=ci),
            SNGANCNNCritic(base_channels=config.base_channels, spectral_norm=config.spectral_norm,
                           conv_impl=ci))
  if config.model == "sngan_resnet":
    # SNGAN table 4: G width 256, D width 128 (config.base_channels is D's width; G's is twice it),
    # global sum pooling, no output bias.
    return (ResNetGenerator(channels=2 * config.base_channels, image_size=size, out_channels=channels,
                            bn_axis_name=bn_axis_name, conv_impl=ci),
            ResNetCritic(channels=config.base_channels, spectral_norm=config.spectral_norm,
                         pooling="sum", output_bias=False, conv_impl=ci))
  if config.model == "wgan_gp_resnet":
    # WGAN-GP CIFAR-10 ResNet: width 128 in both, global mean pooling, no normalization in D.
    return (ResNetGenerator(channels=config.base_channels, image_size=size, out_channels=channels,
                            bn_axis_name=bn_axis_name, conv_impl=ci),
            ResNetCritic(channels=config.base_channels, spectral_norm=config.spectral_norm,
                         pooling="mean", output_bias=True, conv_impl=ci))
  if config.model == "pggan":
    # PGGAN (Karras et al. 2018): every resolution's layers exist from the start; the step passes
    # the stage (static) and the fade-in alpha (traced).
    kwargs = dict(image_size=size, channels=channels, fmap_base=config.fmap_base,
                  fmap_max=config.fmap_max, conv_impl=ci)
    return ProgressiveGenerator(**kwargs), ProgressiveCritic(**kwargs, mbstd_group_size=4)
  raise ValueError(f"model must be one of mlp, pacgan_mlp, dcgan, sngan_cnn, sngan_resnet, wgan_gp_resnet, "
                   f"pggan; got {config.model!r}")

"""Generators and critics (Flax linen; pure ``apply``), and :func:`build` to make them from a config.

Every generator is called as ``G.apply(variables, z, train=...)``; every critic as
``D.apply(variables, x, update_stats=...)`` and returns one score per sample, shape [B].
"""

from __future__ import annotations

import flax.linen as nn

from jaxgan.models.dcgan import DCGANCritic, DCGANGenerator
from jaxgan.models.mlp import MLPCritic, MLPGenerator

__all__ = ["MLPGenerator", "MLPCritic", "DCGANGenerator", "DCGANCritic", "build"]


def build(config, sample_shape: tuple[int, ...], *,
          bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
  """The (generator, critic) pair a config names, for samples of ``sample_shape``.

  ``bn_axis_name``: the ``pmap`` axis over which the generator's batch norm averages its batch
  statistics (so that they are those of the global batch); None under ``jit``, where they already are.
  """
  if config.model == "mlp":
    (dim,) = sample_shape
    return (MLPGenerator(out_dim=dim, hidden_dim=config.hidden_dim, num_hidden=config.num_hidden),
            MLPCritic(hidden_dim=config.hidden_dim, num_hidden=config.num_hidden,
                      spectral_norm=config.spectral_norm))
  if config.model == "dcgan":
    size, size2, channels = sample_shape
    assert size == size2, sample_shape
    return (DCGANGenerator(image_size=size, channels=channels, base_channels=config.base_channels,
                           batch_norm=config.g_batch_norm, bn_axis_name=bn_axis_name),
            DCGANCritic(image_size=size, base_channels=config.base_channels,
                        layer_norm=config.critic_layer_norm, spectral_norm=config.spectral_norm))
  raise ValueError(f"model must be one of mlp, dcgan; got {config.model!r}")

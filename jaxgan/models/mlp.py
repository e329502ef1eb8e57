"""Multilayer perceptrons for 2-D data: the WGAN-GP authors' toy generator and critic.

Both are ``num_hidden`` dense layers of ``hidden_dim`` ReLU units (the toy script: 3 x 512) and a linear
output: 2 coordinates for the generator, one unbounded score for the critic (no sigmoid: the BCE losses
apply it themselves through ``softplus``).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from jaxgan.models import layers


class MLPGenerator(nn.Module):
  """z [B, latent_dim] -> x [B, out_dim]."""
  out_dim: int = 2
  hidden_dim: int = 512
  num_hidden: int = 3

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
    del train  # no batch norm here; the argument keeps one calling convention for all generators
    h = z
    for i in range(self.num_hidden):
      h = nn.relu(nn.Dense(self.hidden_dim, name=f"hidden{i}")(h))
    return nn.Dense(self.out_dim, name="out")(h)


class MLPCritic(nn.Module):
  """x [B, D] -> scores [B]. With ``spectral_norm`` every layer is divided by its spectral norm."""
  hidden_dim: int = 512
  num_hidden: int = 3
  spectral_norm: bool = False

  couples_batch = False  # no cross-sample operation: scores are per sample (step.StepSpec)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    h = x.reshape(x.shape[0], -1)
    for i in range(self.num_hidden):
      h = layers.dense(self.hidden_dim, self.spectral_norm, f"hidden{i}")(h, update_stats)
      h = nn.relu(h)
    return layers.dense(1, self.spectral_norm, "out")(h, update_stats)[:, 0]

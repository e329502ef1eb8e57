"""Multilayer perceptrons for 2-D data: the WGAN-GP authors' toy networks and PacGAN's.

:class:`MLPGenerator` / :class:`MLPCritic` (model ``'mlp'``): ``num_hidden`` dense layers of
``hidden_dim`` ReLU units (the WGAN-GP toy script: 3 x 512) and a linear output: 2 coordinates for the
generator, one unbounded score for the critic (no sigmoid: the BCE losses apply it themselves through
``softplus``).

:class:`BatchNormMLPGenerator` / :class:`MaxoutCritic` (model ``'pacgan_mlp'``): the 2-D networks of
PacGAN (Lin et al. 2018, section 5.1 / appendix; the setup is VEEGAN's), as their code builds them
(github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments/2DRing_GAN&PacGAN/pacgan_task.py``,
``create_model_brick``, sizes from ``config.py`` of the ring and grid folders, which agree):

- generator: z [B, 2] ~ N(0, I) -> 4 x [Linear 400 without bias -> batch norm -> ReLU] -> Linear 2
  (with bias). Blocks' ``BatchNormalization``: learned scale and shift, epsilon 1e-4; the population
  statistics are updated as ``0.95 * pop + 0.05 * batch`` (``bn_updates`` in ``create_models``), i.e.
  momentum 0.95. Training uses the batch statistics; their sample figures (``GraphLogger``) and ours use
  the population (running) statistics: ``train=False``.
- discriminator: x [B, 2] -> 3 x [LinearMaxout 200 units, 5 pieces] -> Linear 1, no batch norm
  (``disc_hidden_size`` 200, ``disc_maxout_pieces`` 5).
- every weight initialised N(0, 0.02^2) (``weights_init_std``), every bias and BN shift 0, BN scale 1.
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


PACGAN_INIT = nn.initializers.normal(stddev=0.02)  # PacGAN's config.py: weights_init_std 0.02


class BatchNormMLPGenerator(nn.Module):
  r"""PacGAN's 2-D generator: z [B, latent_dim] -> x [B, out_dim].

  :math:`h_{i+1} = \mathrm{relu}(\mathrm{BN}(h_i W_i))` for ``num_hidden`` layers of ``hidden_dim``
  units (PacGAN: 4 x 400; no bias before BN, whose shift plays its part), then :math:`x = h W + b`.
  ``train=True``: batch statistics, running statistics updated (collection ``'batch_stats'``, mutable);
  ``train=False``: running statistics (samples, evaluation), as in
  :class:`jaxgan.models.dcgan.DCGANGenerator`.
  """
  out_dim: int = 2
  hidden_dim: int = 400
  num_hidden: int = 4
  bn_momentum: float = 0.95  # PacGAN: pop = 0.95 pop + 0.05 batch
  bn_epsilon: float = 1e-4   # Blocks' BatchNormalization default
  bn_axis_name: str | None = None  # pmap axis for global batch statistics

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
    h = z
    for i in range(self.num_hidden):
      h = nn.Dense(self.hidden_dim, use_bias=False, kernel_init=PACGAN_INIT, name=f"hidden{i}")(h)
      h = layers.batch_norm(train, self.bn_axis_name, f"bn{i}", momentum=self.bn_momentum,
                            epsilon=self.bn_epsilon)(h)
      h = nn.relu(h)
    return nn.Dense(self.out_dim, kernel_init=PACGAN_INIT, name="out")(h)


class MaxoutCritic(nn.Module):
  r"""PacGAN's 2-D discriminator: x [B, D] -> scores [B].

  ``num_hidden`` linear maxout layers (:func:`jaxgan.models.layers.maxout_dense`:
  :math:`h_{i+1,j} = \max_{k < p} (h_i W_i + b_i)_{j p + k}`, ``hidden_dim`` units of ``pieces``
  pieces; PacGAN: 3 x 200 x 5) and a linear score, no batch norm. With ``spectral_norm`` every layer's
  whole kernel (``[in, hidden_dim * pieces]`` for a maxout layer) is divided by its spectral norm.
  """
  hidden_dim: int = 200
  num_hidden: int = 3
  pieces: int = 5
  spectral_norm: bool = False

  couples_batch = False  # no cross-sample operation: scores are per sample (step.StepSpec)

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
    h = x.reshape(x.shape[0], -1)
    for i in range(self.num_hidden):
      h = layers.maxout_dense(self.hidden_dim, self.pieces, self.spectral_norm, f"hidden{i}",
                              kernel_init=PACGAN_INIT)(h, update_stats)
    return layers.dense(1, self.spectral_norm, "out", kernel_init=PACGAN_INIT)(h, update_stats)[:, 0]

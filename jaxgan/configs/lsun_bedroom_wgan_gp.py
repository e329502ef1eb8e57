"""WGAN-GP on LSUN bedrooms at 64x64 (the WGAN-GP paper's figure 2 setting).

Paper setting: Gulrajani et al. 2017 (gan_64x64.py): DCGAN-style 64x64 networks, lambda 10,
n_critic 5, Adam(1e-4, 0, 0.9), batch 64, 200k generator updates. Data: TFDS 'lsun/bedroom',
center-cropped and resized to 64x64.

Command:   jaxgan train --config lsun_bedroom_wgan_gp --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; about a day on one modern GPU.
Expected:  recognisable bedrooms (the paper shows samples, no score).
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "lsun_bedroom_wgan_gp"
  c.dataset = "lsun_bedroom_64"
  c.model = "dcgan"
  c.base_channels = 64
  c.latent_dim = 128
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.batch_size = 64
  c.n_critic = 5
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.0
  c.b2 = 0.9
  c.num_steps = 200000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 5000
  c.checkpoint_every = 2500
  return c

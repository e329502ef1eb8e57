"""SNGAN standard CNN on CIFAR-10, the paper's table 3 networks.

Paper setting: Miyato et al. 2018, standard CNN (table 3; leaky ReLU 0.1 in D, every D layer
spectrally normalised), hinge loss, their setting "C" of table 1 for the standard CNN comparison is
Adam(2e-4, 0.5, 0.999) with n_dis 1; the best CNN scores (table 2, "SN-GANs, standard CNN",
hinge loss) use Adam(1e-4, 0.5, 0.9), n_dis 5 (setting A) — used here. Published: Inception score
7.58 (hinge), FID 25.5.

Command:   jaxgan train --config cifar10_sngan_cnn --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; a few hours on one modern GPU.
Expected:  IS ~7.5, FID ~25 at 100k generator updates.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "cifar10_sngan_cnn"
  c.dataset = "cifar10"
  c.model = "sngan_cnn"
  c.base_channels = 64
  c.latent_dim = 128
  c.spectral_norm = True
  c.loss = "hinge"
  c.gp_weight = 0.0
  c.batch_size = 64
  c.n_critic = 5
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.5
  c.b2 = 0.9
  c.num_steps = 100000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 5000
  c.checkpoint_every = 2500
  return c

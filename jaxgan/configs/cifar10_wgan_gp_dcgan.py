"""WGAN-GP with DCGAN networks on CIFAR-10 (the WGAN-GP paper's gan_cifar.py).

Paper setting: Gulrajani et al. 2017: DCGAN generator (batch norm) and critic (no batch norm),
lambda 10, n_critic 5, Adam(1e-4, 0.5, 0.9), batch 64, 200k generator updates. Published (figure 3
/ table 3 context): Inception score ~6.5 for this architecture.

Command:   jaxgan train --config cifar10_wgan_gp_dcgan --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; hours on a GPU.
Expected:  IS ~6.5.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "cifar10_wgan_gp_dcgan"
  c.dataset = "cifar10"
  c.model = "dcgan"
  c.base_channels = 64
  c.latent_dim = 128
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.batch_size = 64
  c.n_critic = 5
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.5
  c.b2 = 0.9
  c.num_steps = 200000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 5000
  c.checkpoint_every = 2500
  return c

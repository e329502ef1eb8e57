"""WGAN-GP ResNet on CIFAR-10 (unconditional), the WGAN-GP paper's CIFAR-10 model.

Paper setting: Gulrajani et al. 2017, appendix (their gan_cifar_resnet.py): ResNet generator and
critic of width 128, no normalization in the critic, global mean pooling; lambda 10, n_critic 5,
Adam(2e-4, beta1 0, beta2 0.9), batch 64, learning rate decayed linearly to 0 over 100k generator
updates. Published (table 3, unsupervised): Inception score 7.86 +- 0.07.

Command:   jaxgan train --config cifar10_wgan_gp_resnet --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; about a day on one modern GPU.
Expected:  IS ~7.9 at 100k steps.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "cifar10_wgan_gp_resnet"
  c.dataset = "cifar10"
  c.model = "wgan_gp_resnet"
  c.base_channels = 128
  c.latent_dim = 128
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.batch_size = 64
  c.n_critic = 5
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.b1 = 0.0
  c.b2 = 0.9
  c.lr_schedule = "linear"
  c.num_steps = 100000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 5000
  c.checkpoint_every = 2500
  return c

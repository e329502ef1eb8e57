"""SNGAN ResNet on CIFAR-10 (unconditional), the SNGAN paper's best CIFAR-10 setting.

Paper setting: Miyato et al. 2018, table 4 networks (G: ResBlocks of width 256; D: ResBlocks of width
128, global sum pooling, every layer spectrally normalised, one power iteration per update), hinge loss,
Adam(2e-4, beta1 0, beta2 0.9), n_dis 5, batch 64, learning rate decayed linearly to 0 over 50k
generator updates. Published (table 2, "SN-GANs, ResNet"): Inception score 8.22, FID 21.7 (FID on 10k
real vs 5k fake images; jaxgan.metrics.protocol and the README's "Evaluation" section give the
protocol jaxgan records).

Data: TFDS 'cifar10' prepared in --config.data_dir (see README: Real datasets).
Command:   jaxgan train --config cifar10_sngan_resnet --config.data_dir ~/tensorflow_datasets
Runtime:   ~days on 2 CPU cores (not practical); roughly 10-15 hours on one modern GPU.
Expected:  IS ~8.2 and FID ~22 at 50k steps with the paper's protocol.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "cifar10_sngan_resnet"
  c.dataset = "cifar10"
  c.model = "sngan_resnet"
  c.base_channels = 128          # D width 128, G width 256
  c.latent_dim = 128
  c.spectral_norm = True
  c.loss = "hinge"
  c.gp_weight = 0.0
  c.batch_size = 64
  c.n_critic = 5
  c.optimizer = "adam"
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.b1 = 0.0
  c.b2 = 0.9
  c.lr_schedule = "linear"
  c.num_steps = 50000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 5000
  c.checkpoint_every = 2500
  return c

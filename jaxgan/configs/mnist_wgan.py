"""WGAN with weight clipping on MNIST (zero-padded to 32x32), the WGAN paper's recipe.

Paper setting: Arjovsky et al. 2017, Algorithm 1: RMSProp, lr 5e-5, clipping c = 0.01 after every
critic update, n_critic 5, batch 64; DCGAN networks (batch norm in the generator only here: the
critic has none so the comparison with WGAN-GP is on the same critic).

Command:   jaxgan train --config mnist_wgan --config.data_dir ~/tensorflow_datasets
Runtime:   hours on 2 CPU cores; minutes on a GPU.
Expected:  recognisable digits after ~10k generator updates; slower than mnist_wgan_gp.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "mnist_wgan"
  c.dataset = "mnist"
  c.model = "dcgan"
  c.base_channels = 64
  c.latent_dim = 100
  c.loss = "wgan"
  c.gp_weight = 0.0
  c.clip_value = 0.01
  c.optimizer = "rmsprop"
  c.g_lr = 5e-5
  c.d_lr = 5e-5
  c.batch_size = 64
  c.n_critic = 5
  c.num_steps = 20000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 2000
  c.checkpoint_every = 1000
  return c

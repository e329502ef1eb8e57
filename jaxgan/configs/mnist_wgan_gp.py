"""WGAN-GP on MNIST (zero-padded to 32x32).

Paper setting: Gulrajani et al. 2017 (their gan_mnist.py): lambda 10, n_critic 5, Adam(1e-4, 0.5,
0.9), batch 50 (64 here), 200k generator updates in the paper's script; DCGAN-style networks, no
batch norm in the critic.

Command:   jaxgan train --config mnist_wgan_gp --config.data_dir ~/tensorflow_datasets
Runtime:   hours on 2 CPU cores; minutes on a GPU.
Expected:  sharp digits of every class after ~10k generator updates.
"""

from jaxgan.configs import mnist_wgan


def get_config():
  c = mnist_wgan.get_config()
  c.name = "mnist_wgan_gp"
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.clip_value = 0.0
  c.optimizer = "adam"
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.5
  c.b2 = 0.9
  return c

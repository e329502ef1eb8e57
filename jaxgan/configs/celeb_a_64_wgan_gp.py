"""WGAN-GP on CelebA at 64x64 (center crop 108, resized to 64).

Paper setting: the WGAN-GP 64x64 recipe (Gulrajani et al. 2017, gan_64x64.py): lambda 10, n_critic 5,
Adam(1e-4, 0, 0.9), batch 64; DCGAN-style networks without batch norm in the critic.

Command:   jaxgan train --config celeb_a_64_wgan_gp --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; hours on a GPU.
Expected:  recognisable faces after ~20k generator updates.
"""

from jaxgan.configs import lsun_bedroom_wgan_gp


def get_config():
  c = lsun_bedroom_wgan_gp.get_config()
  c.name = "celeb_a_64_wgan_gp"
  c.dataset = "celeb_a_64"
  c.num_steps = 100000
  return c

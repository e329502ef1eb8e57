"""WGAN-GP on grid25 with PacGAN's networks: the W-loss + gradient penalty on the collapse setting.

Paper setting: configs/ring8_wgan_gp_pacgan.py (PacGAN's networks and batch, WGAN-GP's lambda 10,
n_critic 5, Adam(1e-4, 0, 0.9)) on the 25-mode grid (configs/grid25_gan_pacgan.py).

What we changed: as configs/ring8_wgan_gp_pacgan.py (600 generator steps = 3,000 critic updates).

Command:   jaxgan train --config grid25_wgan_gp_pacgan
Runtime:   2.2-4.1 minutes measured (3 seeds; 2 cores at load 11-13).
Expected:  13.0 +- 3.6 / 25 modes, 2.6 +- 0.3% high quality (3 seeds; benchmarks/mixtures.py):
           undertrained at 600 steps.
"""

from jaxgan.configs import ring8_wgan_gp_pacgan


def get_config():
  c = ring8_wgan_gp_pacgan.get_config()
  c.name = "grid25_wgan_gp_pacgan"
  c.dataset = "grid25"
  return c

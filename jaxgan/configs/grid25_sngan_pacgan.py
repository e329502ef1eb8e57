"""SNGAN on grid25 with PacGAN's networks: spectral norm + hinge loss on the collapse setting.

Paper setting: configs/ring8_sngan_pacgan.py (PacGAN's networks and batch, spectrally normalised
maxout discriminator, hinge loss, Adam(2e-4, 0, 0.9), n_dis 5) on the 25-mode grid
(configs/grid25_gan_pacgan.py).

What we changed: as configs/ring8_sngan_pacgan.py (600 generator steps = 3,000 discriminator updates).

Command:   jaxgan train --config grid25_sngan_pacgan
Runtime:   2.6-3.2 minutes measured (3 seeds; 2 cores at load 11-14).
Expected:  17.3 +- 2.3 / 25 modes, 7.2 +- 1.6% high quality (3 seeds; benchmarks/mixtures.py):
           undertrained at 600 steps.
"""

from jaxgan.configs import ring8_sngan_pacgan


def get_config():
  c = ring8_sngan_pacgan.get_config()
  c.name = "grid25_sngan_pacgan"
  c.dataset = "grid25"
  return c

"""The BCE GAN on grid25 with PacGAN's own networks: the published mode collapse, attempted.

Paper setting: the "GAN" row of PacGAN's table 2 on the grid (published: 3.3 modes / 0.5% high
quality). Their ``synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py`` differs from the ring's only
in the data (25 Gaussians of std 0.05 at {-4, -2, 0, 2, 4}^2, our ``grid25``): networks, objective,
optimizer, batch and 400 epochs of 1,000 updates as configs/ring8_gan_pacgan.py.

What we changed: as configs/ring8_gan_pacgan.py (3,000 steps = 3 of their 400 epochs; sequential
instead of simultaneous D / G updates).

Command:   jaxgan train --config grid25_gan_pacgan
Runtime:   2.9-3.4 minutes measured (3 seeds; 2 cores at load 11-16).
Expected:  10.0 +- 1.7 / 25 modes, 1.9 +- 0.7% high quality (3 seeds: 11, 8, 11 modes;
           benchmarks/mixtures.py); published 3.3 / 0.5.
"""

from jaxgan.configs import ring8_gan_pacgan


def get_config():
  c = ring8_gan_pacgan.get_config()
  c.name = "grid25_gan_pacgan"
  c.dataset = "grid25"
  return c

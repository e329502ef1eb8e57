"""The BCE GAN on grid25: mode collapse on the 25-mode grid.

Paper setting: the "GAN" row of PacGAN's table 2 on the grid (published: 3.3 modes / 0.5% high
quality); see configs/ring8_gan.py for the objective and the optimizer (PacGAN's: Adam lr 1e-4, beta1
0.8, batch 100, one discriminator update per step) and configs/grid25_wgan_gp.py for the data.

What we changed: as configs/ring8_gan.py (3 x 128 ReLU MLPs instead of PacGAN's BN generator and maxout
discriminator; 20,000 steps instead of 400 epochs).

What we see: the generator drops modes and hops between them (seed 0: 19, 17, 13, 13 of 25 modes at
steps 5k-20k); its samples lie on rays through the modes, so few are on any mode (3 seeds: 13 / 16 /
19 of 25 modes, 9.8 +- 3.2% high quality) — mode dropping, though not the published 3.3 modes.

Command:   jaxgan train --config grid25_gan
Runtime:   ~1 minute on 2 idle CPU cores; ~2 minutes measured under heavy shared load.
Expected:  16 +- 3 of 25 modes, ~10% high quality, KL ~0.85 (3 seeds; benchmarks/mixtures.py).
"""

from jaxgan.configs import ring8_gan


def get_config():
  c = ring8_gan.get_config()
  c.name = "grid25_gan"
  c.dataset = "grid25"
  return c

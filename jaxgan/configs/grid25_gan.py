"""The BCE GAN on grid25: mode collapse on the 25-mode grid.

Paper setting: the "GAN" row of PacGAN's table 2 on the grid (published: 3.3 modes / 0.5% high
quality); see configs/ring8_gan.py for the objective and configs/grid25_wgan_gp.py for the data.

Command:   jaxgan train --config grid25_gan
Runtime:   ~2 minutes on 2 CPU cores.
Expected:  far fewer than 25 modes (the README table has ours).
"""

from jaxgan.configs import ring8_gan


def get_config():
  c = ring8_gan.get_config()
  c.name = "grid25_gan"
  c.dataset = "grid25"
  return c

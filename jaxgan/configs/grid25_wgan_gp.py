"""WGAN-GP on grid25: 25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (the VEEGAN / PacGAN protocol).

Paper setting: as configs/ring8_wgan_gp.py (WGAN-GP toy recipe with lambda = 10; PacGAN's evaluation
with 2,500 samples, high quality within 3 std). Published anchors on the grid (modes / % high quality):
GAN 3.3 / 0.5, Unrolled GAN 23.6 / 16, VEEGAN 24.6 / 40, WGAN-GP as PacGAN ran it 24.2 / 28.7, PacGAN2
24.8 / 93.6 (Lin et al. 2018, table 2).

Command:   jaxgan train --config grid25_wgan_gp
Runtime:   ~5 minutes on 2 CPU cores.
Expected:  25/25 modes; the high-quality fraction is in the README table (3 seeds).
"""

from jaxgan.configs import ring8_wgan_gp


def get_config():
  c = ring8_wgan_gp.get_config()
  c.name = "grid25_wgan_gp"
  c.dataset = "grid25"
  return c

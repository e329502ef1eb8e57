"""SNGAN on grid25: spectral normalization and the hinge loss, as configs/ring8_sngan.py.

Paper setting: SNGAN (Miyato et al. 2018) Algorithm 1 with one power iteration per update, hinge loss,
Adam(2e-4, 0, 0.9), n_dis 5 (see configs/ring8_sngan.py for why this and not the WGAN-GP toy
optimizer); networks, batch 512 and evaluation as configs/grid25_wgan_gp.py.

Command:   jaxgan train --config grid25_sngan
Runtime:   ~6-8 minutes on 2 idle CPU cores (10,000 steps of 5 critic updates at batch 512).
Expected:  all 25 modes (the README table has ours, 3 seeds).
"""

from jaxgan.configs import ring8_sngan


def get_config():
  c = ring8_sngan.get_config()
  c.name = "grid25_sngan"
  c.dataset = "grid25"
  c.batch_size = 512
  return c

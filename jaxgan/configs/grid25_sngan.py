"""SNGAN on grid25: spectral normalization and the hinge loss, as configs/ring8_sngan.py.

Paper setting: SNGAN (Miyato et al. 2018) Algorithm 1 with one power iteration per update; networks,
data, optimizer and evaluation as configs/grid25_wgan_gp.py.

Command:   jaxgan train --config grid25_sngan
Runtime:   about as long as grid25_wgan_gp on 2 CPU cores.
Expected:  all 25 modes (the README table has ours, 3 seeds).
"""

from jaxgan.configs import grid25_wgan_gp


def get_config():
  c = grid25_wgan_gp.get_config()
  c.name = "grid25_sngan"
  c.loss = "hinge"
  c.gp_weight = 0.0
  c.spectral_norm = True
  return c

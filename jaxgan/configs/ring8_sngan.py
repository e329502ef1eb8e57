"""SNGAN on ring8: spectral normalization of every critic layer instead of the gradient penalty.

Paper setting: SNGAN (Miyato et al. 2018): each critic layer's weight divided by its largest singular
value, estimated by one power iteration per update with u kept between updates (Algorithm 1); the hinge
loss (their eq. 16); no gradient penalty. Networks, data, optimizer and evaluation as
configs/ring8_wgan_gp.py so the two constraints can be compared on the same critic.

Command:   jaxgan train --config ring8_sngan
Runtime:   about as long as ring8_wgan_gp on 2 CPU cores (SN replaces the double backward of GP with
           one power iteration per layer, so each step is cheaper).
Expected:  all 8 modes (the README table has ours, 3 seeds).
"""

from jaxgan.configs import ring8_wgan_gp


def get_config():
  c = ring8_wgan_gp.get_config()
  c.name = "ring8_sngan"
  c.loss = "hinge"
  c.gp_weight = 0.0
  c.spectral_norm = True
  return c

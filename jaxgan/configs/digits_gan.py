"""The BCE GAN on scikit-learn's digits: the notes' "only some digits" collapse, measured.

Paper setting: DCGAN (Radford et al. 2016): non-saturating BCE, Adam(2e-4, beta1 0.5), one
discriminator update per generator update, batch 64; same networks as configs/digits_wgan_gp.py.

Command:   jaxgan train --config digits_gan
Runtime:   ~2 minutes on 2 CPU cores.
Expected:  fewer digits covered and a more uneven class histogram than digits_wgan_gp.
"""

from jaxgan.configs import digits_wgan_gp


def get_config():
  c = digits_wgan_gp.get_config()
  c.name = "digits_gan"
  c.loss = "nsgan"
  c.gp_weight = 0.0
  c.n_critic = 1
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.b1 = 0.5
  c.b2 = 0.999
  return c

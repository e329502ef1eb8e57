"""The BCE GAN on ring8: the mode collapse that the W-loss fixes.

Paper setting: the "GAN" row of PacGAN's table 2 (Lin et al. 2018): the standard GAN objective
(discriminator BCE; the non-saturating generator loss -log D(G(z)) that Goodfellow et al. recommend and
everyone runs; ``--config.loss=gan`` gives the saturating minimax form), one discriminator update per
generator update, the same MLPs, data and evaluation as configs/ring8_wgan_gp.py. Published: 1 mode /
99.3% high quality on the ring — a generator that collapsed onto one mode and sits on it precisely.

Command:   jaxgan train --config ring8_gan
Runtime:   ~2 minutes on 2 CPU cores.
Expected:  fewer than 8 modes, typically 1-3, hopping between evaluations (the README table has ours).
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "ring8_gan"
  c.dataset = "ring8"
  c.loss = "nsgan"
  c.gp_weight = 0.0
  c.n_critic = 1
  c.hidden_dim = 128
  c.num_steps = 10000
  c.g_lr = 1e-3
  c.d_lr = 1e-3
  c.b1 = 0.5
  c.b2 = 0.999
  c.log_every = 500
  c.eval_every = 2500
  c.checkpoint_every = 2500
  return c

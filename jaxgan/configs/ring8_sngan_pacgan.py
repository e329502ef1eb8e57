"""SNGAN on ring8 with PacGAN's networks: spectral norm + hinge loss on the collapse setting.

Paper setting: networks, data, batch (100) and evaluation of configs/ring8_gan_pacgan.py (PacGAN's BN
generator 4 x 400 and maxout discriminator 3 x 200 x 5); every discriminator layer spectrally
normalised (SNGAN, Miyato et al. 2018, Algorithm 1: one power iteration per update; a maxout layer's
whole [in, 200 x 5] kernel is normalised, and maxout is 1-Lipschitz, so each layer stays
1-Lipschitz); the hinge loss (their eq. 16); Adam(lr 2e-4, beta1 0, beta2 0.9) and n_dis 5, SNGAN's
ResNet setting, the one configs/ring8_sngan.py found to work on the 2-D toys.

What we changed: nothing in the recipe; the length is cut like the BCE config's: 600 generator steps
= 3,000 discriminator updates, ~3 minutes a run here. No EMA, no learning-rate decay.

Command:   jaxgan train --config ring8_sngan_pacgan
Runtime:   2.4-3.1 minutes measured (3 seeds; 2 cores at load 11-14).
Expected:  7 / 8 modes on every seed, 9.9 +- 5.9% high quality (3 seeds; benchmarks/mixtures.py):
           undertrained at 600 steps.
"""

from jaxgan.configs import ring8_gan_pacgan


def get_config():
  c = ring8_gan_pacgan.get_config()
  c.name = "ring8_sngan_pacgan"
  c.loss = "hinge"
  c.gp_weight = 0.0
  c.spectral_norm = True
  c.n_critic = 5
  c.num_steps = 600
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.b1 = 0.0
  c.b2 = 0.9
  c.log_every = 200
  c.eval_every = 200
  c.checkpoint_every = 600
  return c

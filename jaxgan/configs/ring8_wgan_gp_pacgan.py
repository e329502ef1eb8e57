"""WGAN-GP on ring8 with PacGAN's networks: the W-loss + gradient penalty on the collapse setting.

Paper setting: networks, data, batch (100) and evaluation of configs/ring8_gan_pacgan.py (PacGAN's BN
generator 4 x 400 and maxout discriminator 3 x 200 x 5, weights N(0, 0.02^2)); the objective and
optimizer of WGAN-GP (Gulrajani et al. 2017, Algorithm 1): critic loss E[c(G(z))] - E[c(x)] +
lambda E[(||grad c(x_hat)|| - 1)^2] with lambda = 10, n_critic = 5, Adam(lr 1e-4, beta1 0, beta2 0.9).
The maxout critic has no batch norm, so the per-sample penalty is well defined; the generator's batch
norm is the paper's own choice for its generators.

What we changed: nothing in the recipe; the length is cut like the BCE config's: 600 generator steps
= 3,000 critic updates, the BCE run's number of discriminator updates (each ~2x dearer with the
penalty's double backward), ~3 minutes a run here. No EMA, no learning-rate decay (as the BCE row).

Command:   jaxgan train --config ring8_wgan_gp_pacgan
Runtime:   2.5-3.2 minutes measured (3 seeds; 2 cores at load 11-13).
Expected:  1.3 +- 0.6 / 8 modes, 0.3 +- 0.2% high quality (3 seeds; benchmarks/mixtures.py):
           undertrained at 600 steps, a smear between the modes.
"""

from jaxgan.configs import ring8_gan_pacgan


def get_config():
  c = ring8_gan_pacgan.get_config()
  c.name = "ring8_wgan_gp_pacgan"
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.n_critic = 5
  c.num_steps = 600
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.0
  c.b2 = 0.9
  c.log_every = 200
  c.eval_every = 200
  c.checkpoint_every = 600
  return c

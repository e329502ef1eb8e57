"""The BCE GAN on ring8: the mode collapse that the W-loss fixes.

Paper setting: the "GAN" row of PacGAN's table 2 (Lin et al. 2018): the standard GAN objective
(discriminator BCE; the non-saturating generator loss -log D(G(z)) that Goodfellow et al. recommend and
everyone runs; ``--config.loss=gan`` gives the saturating minimax form), one discriminator update per
generator update, 2-D Gaussian latent, Adam(lr 1e-4, beta1 0.8) for both nets, batch 100 (PacGAN's
``2DRing_GAN&PacGAN/config.py``), evaluated as configs/ring8_wgan_gp.py. Published: 1 mode / 99.3% high
quality on the ring — a generator that collapsed onto one mode and sits on it precisely.

What we changed: PacGAN's networks (generator 400-unit ReLU layers with batch norm, discriminator
200-unit maxout layers) and its 400 epochs of 1,000 steps do not fit here; we use the same 3 x 128 ReLU
MLPs as the WGAN-GP configs and 20,000 steps, with PacGAN's optimizer settings unchanged. No
learning-rate decay, no EMA (the plain recipe).

What we see: the generator sits on one mode early (seed 0, step 5000: 1/8 modes, 0% high quality),
then spreads over all 8 (8/8 and 70-84% from step 10000 on). On the ring this MLP recipe does NOT
reproduce the published collapse (3 seeds: 8/8 modes, 83.5 / 86.2 / 93.6% high quality); on the grid
it does, partly (configs/grid25_gan.py). The published collapse belongs to PacGAN's networks and
schedule, which we do not have; we did not tune the recipe to make it collapse.

Command:   jaxgan train --config ring8_gan
Runtime:   ~1 minute on 2 idle CPU cores (~500 steps/s); 2-3 minutes measured under heavy shared load.
Expected:  8/8 modes, 88 +- 5% high quality, KL 0.07 (3 seeds; benchmarks/mixtures.py) — no collapse.
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
  c.num_steps = 20000
  c.batch_size = 100
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.8
  c.b2 = 0.999
  c.log_every = 1000
  c.eval_every = 5000
  c.checkpoint_every = 5000
  return c

"""The BCE GAN on ring8 with PacGAN's own networks: the published mode collapse, attempted.

Paper setting: the "GAN" row of PacGAN's table 2 (Lin et al. 2018; published 1.0 mode / 99.3% high
quality on the ring), as their code runs it (github.com/fjxmlzn/PacGAN,
``synthetic_data_experiments/2DRing_GAN&PacGAN/``: ``config.py``, ``pacgan_task.py``,
``PacGAN/pacgan/bricks.py``), checked there:
  - networks (model ``pacgan_mlp``, jaxgan/models/mlp.py): generator 4 x 400 ReLU with batch norm,
    2-D N(0, I) latent (``num_zdim`` 2, ``z_mode_std`` 1); discriminator 3 x 200 linear maxout with 5
    pieces, no batch norm; weights N(0, 0.02^2).
  - objective (``PacGAN.compute_losses``): discriminator mean softplus(-D(x)) + softplus(D(G(z))); the
    generator minimises softplus(D(x)) + softplus(-D(G(z))), whose first term has no generator gradient:
    the NON-saturating loss -log D(G(z)) (``loss = 'nsgan'``).
  - Adam(lr 1e-4, beta1 0.8; Blocks' default beta2 0.999) for both nets, batch 100.
  - length: ``num_epoch`` 400 epochs of ``num_sample`` 100,000 points at batch 100 = 1,000 updates per
    epoch, 400,000 updates.

What we changed: the length, to fit 3 seeds x 6 configs into this session's shared CPU time: 3,000
steps = 3 of their 400 epochs (0.75% of their 400,000 updates; ~3 minutes a run at ~17 steps/s under
load ~11 on 2 cores; 15 minutes would have been ~12,000 steps). Their ``ali_algorithm`` (ALI's
``ali/algorithms.py``: one ``GradientDescent`` over both losses' gradients) updates D and G
simultaneously from one batch; our step updates D, then G from fresh latents. Evaluated as configs/ring8_wgan_gp.py
(PacGAN's protocol, 2,500 samples from the generator with BN running statistics, as their
``GraphLogger`` draws them). No EMA, no learning-rate decay.

Command:   jaxgan train --config ring8_gan_pacgan
Runtime:   2.9-3.6 minutes measured (3 seeds; 2 cores at load 11-16, ~17 steps/s).
Expected:  6.7 +- 2.3 / 8 modes, 42.7 +- 17.2% high quality (3 seeds: 8/8 50.0%, 8/8 55.0%,
           4/8 23.1%; benchmarks/mixtures.py) — NOT the published 1 / 99.3 at this length.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "ring8_gan_pacgan"
  c.dataset = "ring8"
  c.model = "pacgan_mlp"
  c.latent_dim = 2
  c.loss = "nsgan"
  c.gp_weight = 0.0
  c.n_critic = 1
  c.num_steps = 3000
  c.batch_size = 100
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.b1 = 0.8
  c.b2 = 0.999
  c.log_every = 1000
  c.eval_every = 1000
  c.checkpoint_every = 3000
  return c

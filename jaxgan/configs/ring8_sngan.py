"""SNGAN on ring8: spectral normalization of every critic layer instead of the gradient penalty.

Paper setting: SNGAN (Miyato et al. 2018): each critic layer's weight divided by its largest singular
value, estimated by one power iteration per update with u kept between updates (Algorithm 1); the hinge
loss (their eq. 16); no gradient penalty; Adam(2e-4, beta1 0, beta2 0.9), n_dis 5 (their ResNet
setting). Networks, data and evaluation as configs/ring8_wgan_gp.py (3x128 ReLU MLPs, 2-D latent), so
the two constraints are compared on the same critic, with its linear decay and generator EMA.

What we saw: with the WGAN-GP toy recipe's optimizer (lr 1e-3, n_critic 1) the SN critic stays flat
(outputs within +-0.01, input-gradient norm ~0.001: a ReLU MLP whose every layer has sigma = 1 loses
gain on real data, Anil et al. 2019) and the generator learns nothing (0/8 modes after 25k steps);
with SNGAN's own setting the critic learns (input-gradient norm ~0.25): 8/8 modes, 45% high quality
after 4,000 constant-lr steps.

Command:   jaxgan train --config ring8_sngan
Runtime:   3.5-4.0 minutes per run measured (10,000 steps of 5 critic updates, compile and
           evaluations included) on 2 CPU cores shared with other jobs (5-minute load average 10-12).
Expected:  8/8 modes on every seed, 88.6 +- 0.8% high quality, KL 0.003 (3 seeds: 89.6 / 88.0 /
           88.3%; seeds 1-2 `python benchmarks/mixtures.py --configs ring8_sngan --seeds 1 2`, seed 0
           the run of `python -m jaxgan.experiments.mode_collapse --only ring8,grid25`).
"""

from jaxgan.configs import ring8_wgan_gp


def get_config():
  c = ring8_wgan_gp.get_config()
  c.name = "ring8_sngan"
  c.loss = "hinge"
  c.gp_weight = 0.0
  c.spectral_norm = True
  c.n_critic = 5
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.b1 = 0.0
  c.b2 = 0.9
  c.num_steps = 10000
  c.ema_decay = 0.999  # kept: ring8_wgan_gp's 0.9997 averages over too much of a 10,000-step run
  c.eval_every = 2500
  c.checkpoint_every = 2500
  return c

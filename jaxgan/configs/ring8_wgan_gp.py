"""WGAN-GP on ring8: 8 Gaussians evenly on the unit circle, std 0.01 (the VEEGAN / PacGAN protocol).

Paper setting: WGAN-GP (Gulrajani et al. 2017) toy recipe — generator and critic MLPs with 3 hidden ReLU
layers of 512, 2-D Gaussian latent, n_critic 5, batch 256, Adam(beta1 0.5, beta2 0.9), lr 1e-4 — with
lambda = 10 (the paper's value for every experiment; the toy script uses 0.1). Evaluated with PacGAN's
protocol (Lin et al. 2018, table 2): 2,500 samples; high quality = within 3 std of the nearest mode; a
mode is captured when it is the nearest mode of at least one high-quality sample. Published anchors
(modes / % high quality): GAN 1 / 99.3, Unrolled GAN 7.6 / 35.6, VEEGAN 8 / 52.9, WGAN-GP as PacGAN ran
it 6.8 / 59.6, PacGAN4 7.8 / 95.9.

Our changes from the toy recipe, each for the high-quality fraction (screening runs on seed 0 unless
said; benchmarks/mixtures.py has the 3-seed numbers):
  - hidden width 128 instead of 512: ~15x cheaper per step on a CPU, so many more steps fit.
  - lambda 0.1 (the toy script's value) instead of 10. With lambda 10 the critic is held at slope ~1
    everywhere and the samples stay smeared ~0.05 around the modes (5000 steps: 4/8 modes, 1.1% HQ);
    with 0.1 the same run reached 8/8 and 74% (one-sided lambda 10 did about the same: 75%).
  - n_critic 1 instead of 5: the quality is limited by generator updates, not by the critic, and one
    critic update per step buys ~3x more generator steps in the same time (10k steps at n_critic 5:
    97.7% in ~2 min alone; 40k steps at n_critic 1: 97.4%, 98.0% at 30k).
  - lr 1e-3 for both nets, decayed linearly to 0, and samples from a generator EMA: the high-quality
    fraction jumps in the last third of the decay, when the steps become small enough to put the
    samples inside the 0.03 radius.
  - EMA decay 0.9997 instead of 0.999 (issue 18's target: >= 98% high quality on every seed). With
    0.999 the 3 seeds gave 96.6 / 98.6 / 98.6% (97.9 +- 1.2); averaging the generator over ~3,300
    instead of ~1,000 steps of the decay's tail tightens the samples around the modes: 98.2 / 98.5 /
    98.0% (seeds 0 / 1 / 2, `python benchmarks/mixtures.py --configs ring8_wgan_gp --set
    ema_decay=0.9997`, the same runs as this config's). 0.9997^25000 = 6e-4: the initial generator's
    weight left in the average is negligible (configs/default.py, 8,000 steps, keeps 0.999 for
    that).

Command:   jaxgan train --config ring8_wgan_gp
Runtime:   3.3-3.7 minutes per run measured by benchmarks/mixtures.py (25,000 steps, compile and
           evaluations included) on 2 CPU cores shared with other jobs (5-minute load average
           6-11); ~2-3 minutes on idle cores.
Expected:  8/8 modes on every seed, 98.3 +- 0.2% high quality, KL 0.002 (3 seeds: 98.2 / 98.5 /
           98.0%; benchmarks/mixtures.py).
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "ring8_wgan_gp"
  c.dataset = "ring8"
  c.loss = "wgan_gp"
  c.gp_weight = 0.1
  c.hidden_dim = 128
  c.n_critic = 1
  c.num_steps = 25000
  c.g_lr = 1e-3
  c.d_lr = 1e-3
  c.lr_schedule = "linear"
  c.ema_decay = 0.9997
  c.log_every = 1000
  c.eval_every = 5000
  c.checkpoint_every = 5000
  return c

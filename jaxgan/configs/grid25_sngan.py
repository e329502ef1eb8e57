"""SNGAN on grid25: spectral normalization and the hinge loss, as configs/ring8_sngan.py.

Paper setting: SNGAN (Miyato et al. 2018) Algorithm 1 with one power iteration per update, hinge loss,
Adam(2e-4, 0, 0.9), n_dis 5 (see configs/ring8_sngan.py for why this and not the WGAN-GP toy
optimizer); networks, batch 512 and evaluation as configs/grid25_wgan_gp.py.

What we see: every mode from step ~5,000 on, but low quality: the samples lie on the lines between
neighbouring modes (see docs/figures/mode_collapse.png, last row), and the high-quality fraction
rises slowly (seed 0: 17%, 24%, 27%, 29% at steps 5k-10k). Not retuned (a longer run, over which the
linear lr decay also stretches, is the obvious next try).

Command:   jaxgan train --config grid25_sngan
Runtime:   4.9-6.0 minutes per run measured (10,000 steps of 5 critic updates at batch 512, compile
           and evaluations included) on 2 CPU cores shared with other jobs (5-minute load average
           11-13).
Expected:  25/25 modes on every seed, 27.3 +- 1.9% high quality, KL 0.27 (3 seeds: 28.8 / 25.2 /
           27.8%; seeds 1-2 `python benchmarks/mixtures.py --configs grid25_sngan --seeds 1 2`, seed 0
           the run of `python -m jaxgan.experiments.mode_collapse --only ring8,grid25`).
"""

from jaxgan.configs import ring8_sngan


def get_config():
  c = ring8_sngan.get_config()
  c.name = "grid25_sngan"
  c.dataset = "grid25"
  c.batch_size = 512
  return c

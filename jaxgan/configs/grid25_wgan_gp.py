"""WGAN-GP on grid25: 25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (the VEEGAN / PacGAN protocol).

Paper setting: as configs/ring8_wgan_gp.py (WGAN-GP toy recipe with lambda = 10; PacGAN's evaluation
with 2,500 samples, high quality within 3 std). Published anchors on the grid (modes / % high quality):
GAN 3.3 / 0.5, Unrolled GAN 23.6 / 16, VEEGAN 24.6 / 40, WGAN-GP as PacGAN ran it 24.2 / 28.7, PacGAN2
24.8 / 93.6 (Lin et al. 2018, table 2).

Our changes: those of configs/ring8_wgan_gp.py (width 128, lambda 0.1, n_critic 1, lr 1e-3 decayed
linearly to 0, EMA 0.999), and twice the steps. The grid's losses are the "bridges": a continuous
generator of a 2-D latent must pass between neighbouring modes, and the fraction of samples left in
the gaps shrinks only slowly with training (seed 0, lambda 0.1: n_critic 5 at 10k steps 76%, 20k 89.5%;
n_critic 2 at 20k 92.2%, 40k 96.1%; n_critic 1 at 40k 96.4%, seed 1 95.1%).

Command:   jaxgan train --config grid25_wgan_gp
Runtime:   ~4 minutes on 2 CPU cores (50,000 steps, compile and evaluations included).
Expected:  25/25 modes, ~96% high quality (3 seeds; benchmarks/mixtures.py).
"""

from jaxgan.configs import ring8_wgan_gp


def get_config():
  c = ring8_wgan_gp.get_config()
  c.name = "grid25_wgan_gp"
  c.dataset = "grid25"
  c.num_steps = 50000
  c.eval_every = 10000
  c.checkpoint_every = 10000
  return c

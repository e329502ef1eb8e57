"""The default run of ``jaxgan train``: WGAN-GP on ring8 (8 Gaussians on the unit circle, std 0.01).

The WGAN-GP authors' toy recipe (3x512 ReLU MLPs, 2-D latent, Adam(1e-4, 0.5, 0.9), n_critic 5,
batch 256) with lambda = 10, shortened to finish in about a minute on 2 CPU cores including compilation.

Command:   jaxgan train              (outputs in runs/default)
Runtime:   ~60-90 s on 2 CPU cores; a few seconds on a GPU.
Expected:  all 8 modes covered; pictures of the samples over the critic's value contour in
           runs/default/samples/. The full-length run is configs/ring8_wgan_gp.py.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "default"
  c.dataset = "ring8"
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.num_steps = 300
  c.g_lr = 1e-4
  c.d_lr = 1e-4
  c.log_every = 50
  c.eval_every = 100
  c.checkpoint_every = 100
  return c

"""WGAN-GP on the Swiss roll, exactly as the WGAN-GP authors' toy script draws it.

Paper setting: WGAN-GP figure 1 / gan_toy.py (Gulrajani et al. 2017): sklearn's make_swiss_roll with
noise 0.25, coordinates (x, z) divided by 7.5; MLPs of 3x512 ReLU; 2-D latent; n_critic 5; batch 256;
Adam(1e-4, 0.5, 0.9); lambda 10 (the script uses 0.1 for its toys; the paper 10).

Command:   jaxgan train --config swiss_roll_wgan_gp
Runtime:   ~7 minutes on 2 CPU cores (3x512 costs ~0.2 s a step here).
Expected:  samples along the whole spiral; the picture in runs/swiss_roll_wgan_gp/samples/ shows the
           critic's value contour like the paper's figure 1.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "swiss_roll_wgan_gp"
  c.dataset = "swiss_roll"
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.hidden_dim = 512
  c.num_steps = 2000
  c.log_every = 100
  c.eval_every = 500
  c.checkpoint_every = 500
  return c

"""WGAN with weight clipping on ring8.

Paper setting: WGAN (Arjovsky et al. 2017, Algorithm 1): RMSProp, learning rate 5e-5, clipping
c = 0.01 applied after every critic update, n_critic = 5, batch 64 in the paper (256 here, as the
other toy runs). The notes' claim: clipping limits what the critic can learn and trains slowly.

Command:   jaxgan train --config ring8_wgan
Runtime:   ~5 minutes on 2 CPU cores.
Expected:  slow, blurry coverage of the ring compared with ring8_wgan_gp at the same step count.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "ring8_wgan"
  c.dataset = "ring8"
  c.loss = "wgan"
  c.gp_weight = 0.0
  c.clip_value = 0.01
  c.optimizer = "rmsprop"
  c.g_lr = 5e-5
  c.d_lr = 5e-5
  c.hidden_dim = 128
  c.num_steps = 10000
  c.log_every = 500
  c.eval_every = 2500
  c.checkpoint_every = 2500
  return c

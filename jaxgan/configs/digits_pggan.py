"""PGGAN on scikit-learn's digits: progressive growing from 4x4 to 8x8.

Paper setting: Karras et al. 2018 (ICLR), scaled down: equalized learning rate, pixel norm, minibatch
standard deviation (group 4) at 4x4, nearest upsampling / average pooling, fade-in by alpha; WGAN-GP
loss with lambda 10 and gamma 1, drift epsilon 0.001; Adam(1e-3, beta1 0, beta2 0.99, eps 1e-8),
Adam states reset at every level change as the official code does; generator EMA 0.999; n_critic 1.
Here: 30k real images per fade and per stable phase (the paper: 800k; 600k for CelebA-HQ), feature
maps at most 128 (fmap_base 512).

Command:   jaxgan train --config digits_pggan
Runtime:   a few minutes on 2 CPU cores.
Expected:  a 4x4 then 8x8 sample grid in runs/digits_pggan/samples/; the sliced Wasserstein distance
           (x1e3) per resolution in metrics.jsonl; digits of most classes at 8x8.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "digits_pggan"
  c.dataset = "digits"
  c.model = "pggan"
  c.latent_dim = 128
  c.fmap_base = 512
  c.fmap_max = 128
  c.images_per_fade = 30000
  c.images_per_stable = 30000
  c.batch_by_resolution = "4:64,8:64"
  c.batch_size = 64
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.gp_target = 1.0
  c.drift_weight = 0.001
  c.n_critic = 1
  c.optimizer = "adam"
  c.g_lr = 1e-3
  c.d_lr = 1e-3
  c.b1 = 0.0
  c.b2 = 0.99
  c.ema_decay = 0.999
  c.num_steps = 2000
  c.eval_samples = 898  # = 1797 // 2: the real-vs-real baseline uses two disjoint sets this large
  c.log_every = 100
  c.eval_every = 500
  c.checkpoint_every = 500
  return c

"""PGGAN on CelebA at 128x128: progressive growing from 4x4 to 128x128.

Paper setting: Karras et al. 2018 (ICLR), appendix A.1: 800k real images per fade-in and per
stabilization phase, minibatch 16 up to 128x128, WGAN-GP with lambda 10 and gamma 1, drift epsilon
0.001, Adam(1e-3, beta1 0, beta2 0.99, eps 1e-8) reset at every level change (the official code),
generator EMA 0.999, feature maps min(8192 / 2^(s+1), 512). The paper trains on CelebA-HQ at 1024x1024;
here the TFDS 'celeb_a' aligned images, 108x108 center crop resized to 128 (celeb_a_128).

Command:   jaxgan train --config celeb_a_pggan --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; a few days on one modern GPU.
Expected:  face samples at 128x128; the sliced Wasserstein distance per resolution in metrics.jsonl.
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "celeb_a_pggan"
  c.dataset = "celeb_a_128"
  c.model = "pggan"
  c.latent_dim = 512
  c.fmap_base = 8192
  c.fmap_max = 512
  c.images_per_fade = 800_000
  c.images_per_stable = 800_000
  c.batch_size = 16
  c.batch_by_resolution = "4:16,8:16,16:16,32:16,64:16,128:16"
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
  c.num_steps = 600000
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 10000
  c.checkpoint_every = 5000
  return c

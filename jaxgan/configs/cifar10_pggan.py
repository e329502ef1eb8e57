"""PGGAN on CIFAR-10: progressive growing from 4x4 to 32x32 (unsupervised).

Paper setting: Karras et al. 2018 (ICLR), CIFAR-10 experiment (section 6.4 / appendix): WGAN-GP loss
with lambda 10 and the target gamma = 750 (the penalty scaled by lambda / gamma^2, which the step
applies: gp_weight is lambda), drift epsilon 0.001, 400k real images per fade-in and per stabilization
phase, Adam(1e-3, beta1 0, beta2 0.99, eps 1e-8) with both states reset at every level change (the
official code), generator EMA 0.999, equalized learning rate, pixel norm, minibatch stddev. Published:
Inception score 8.80 (unsupervised CIFAR-10, their best). Assumptions: 512 feature maps at every
resolution (fmap_base 8192, fmap_max 512: the paper's rule gives 512 up to 32x32) and batch 64 at
every resolution (not stated for CIFAR-10 in the paper).

Command:   jaxgan train --config cifar10_pggan --config.data_dir ~/tensorflow_datasets
Runtime:   impractical on 2 CPU cores; about a day on one modern GPU.
Expected:  Inception score ~8.8 at the end of the 32x32 phase (with --config.inception_weights).
"""

from jaxgan.config import base_config


def get_config():
  c = base_config()
  c.name = "cifar10_pggan"
  c.dataset = "cifar10"
  c.model = "pggan"
  c.latent_dim = 512
  c.fmap_base = 8192
  c.fmap_max = 512
  c.images_per_fade = 400_000
  c.images_per_stable = 400_000
  c.batch_size = 64
  c.batch_by_resolution = "4:64,8:64,16:64,32:64"
  c.loss = "wgan_gp"
  c.gp_weight = 10.0
  c.gp_target = 750.0
  c.drift_weight = 0.001
  c.n_critic = 1
  c.optimizer = "adam"
  c.g_lr = 1e-3
  c.d_lr = 1e-3
  c.b1 = 0.0
  c.b2 = 0.99
  c.ema_decay = 0.999
  c.num_steps = 60000            # 7 phases x 6,250 steps, then 32x32 until step 60k
  c.eval_samples = 1000
  c.log_every = 100
  c.eval_every = 5000
  c.checkpoint_every = 2500
  return c

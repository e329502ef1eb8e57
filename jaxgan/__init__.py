"""jaxgan: JAX/Flax GANs of the Wasserstein family (BCE GAN, WGAN, WGAN-GP, SNGAN, PGGAN).

Public modules: ``jaxgan.losses`` (losses and penalties as pure functions), ``jaxgan.spectral`` (power
iteration and spectral-norm layers), ``jaxgan.train`` (``train_and_evaluate``).
"""

__version__ = "0.1.0"

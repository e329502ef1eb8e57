"""Deterministic, stateless host-side datasets (pure numpy): 2-D toy mixtures and 8x8 digits.

Usage::

  ds = make_dataset("ring8", seed=0)
  x = ds.batch(step, n_critic, batch_size)    # float32 [n_critic, batch_size, *ds.sample_shape]
  ref = ds.sample(2500, seed=1)               # evaluation set, independent of training batches
  ds.modes                                    # Modes(centers [K, 2], std) for mixtures, else None

``batch`` depends on ``(seed, step, n_critic, batch_size)`` only, so resuming at step ``s`` replays
the batches of an uninterrupted run. See :mod:`jaxgan.data.toy` (toys, global example indexing,
random streams) and :mod:`jaxgan.data.digits`.

References:
  [VEEGAN] Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
           Learning", NeurIPS 2017 (``ring8``, ``grid25``).
  [PacGAN] Lin et al., "PacGAN: The Power of Two Samples in Generative Adversarial Networks",
           NeurIPS 2018 (``ring8``, ``grid25``).
  [WGANGP] Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017, ``gan_toy.py``
           (``eight_gaussians``, ``twentyfive_gaussians``, ``swiss_roll``).
"""

from __future__ import annotations

from typing import Callable

from jaxgan.data import digits as _digits
from jaxgan.data import toy as _toy
from jaxgan.data.digits import Digits, load_digits
from jaxgan.data.toy import (EVAL_STREAM, Dataset, GaussianMixture, Modes, SwissRoll,
                             TwentyFiveGaussians)

__all__ = [
    "DATASETS",
    "EVAL_STREAM",
    "Dataset",
    "Digits",
    "GaussianMixture",
    "Modes",
    "SwissRoll",
    "TwentyFiveGaussians",
    "load_digits",
    "make_dataset",
]

_BUILDERS: dict[str, Callable[[int], Dataset]] = {
    "ring8": _toy.ring8,
    "grid25": _toy.grid25,
    "eight_gaussians": _toy.eight_gaussians,
    "twentyfive_gaussians": _toy.twentyfive_gaussians,
    "swiss_roll": _toy.swiss_roll,
    "digits": _digits.digits,
}

DATASETS: tuple[str, ...] = tuple(_BUILDERS)
"""The names ``make_dataset`` accepts."""


def make_dataset(name: str, seed: int) -> Dataset:
  """Builds the dataset ``name`` with the seed every one of its draws derives from.

  Args:
    name: one of ``DATASETS``.
    seed: a non-negative integer.

  Returns:
    The ``Dataset``.

  Raises:
    ValueError: if ``name`` is not in ``DATASETS`` or ``seed`` is negative.
  """
  if not isinstance(name, str) or name not in _BUILDERS:
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
  return _BUILDERS[name](seed)

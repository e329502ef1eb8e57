"""Deterministic, stateless host-side datasets: 2-D toy mixtures, 8x8 digits and image datasets.

Usage::

  ds = make_dataset("ring8", seed=0)
  x = ds.batch(step, n_critic, batch_size)    # float32 [n_critic, batch_size, *ds.sample_shape]
  ref = ds.sample(2500, seed=1)               # evaluation set, independent of training batches
  ds.modes                                    # Modes(centers [K, 2], std) for mixtures, else None
  x = ds.batch(step, n_critic, batch_size, process_index=p, process_count=P)  # this process's
                                              # columns [p B/P, (p+1) B/P) of the global batch
  cifar = make_dataset("cifar10", seed=0, data_dir="~/tensorflow_datasets")
  faces = make_dataset("image_folder", seed=0, data_dir="faces/", image_size=64)

``batch`` depends on ``(seed, step, n_critic, batch_size)`` only, so resuming at step ``s`` replays
the batches of an uninterrupted run. See :mod:`jaxgan.data.toy` (toys, global example indexing,
random streams), :mod:`jaxgan.data.digits`, :mod:`jaxgan.data.tfds` (``mnist``, ``cifar10``,
``celeb_a_64``, ``celeb_a_128``, ``lsun_bedroom_64`` from prepared TFDS array_record files: how
they are preprocessed and how to prepare them) and :mod:`jaxgan.data.image_folder`.

The trainer reads through :mod:`jaxgan.data.pipeline` (per-process step batches, a decoded cache,
grain worker processes and prefetch; used by :mod:`jaxgan.input_pipeline`); every image dataset is a
:class:`ShuffledImages` (:mod:`jaxgan.data.shuffled`).

``DATASETS`` names the datasets held in memory, which ``make_dataset(name, seed)`` builds with no
other argument; ``FILE_DATASETS`` those read from ``data_dir`` (and ``image_size`` for
``image_folder``); ``ALL_DATASETS`` is both, in that order, and ``DATASET_SHAPES`` their
``sample_shape`` (``None`` for ``image_folder``, whose shape depends on ``image_size`` and the
folder's channel count).

References:
  [VEEGAN] Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
           Learning", NeurIPS 2017 (``ring8``, ``grid25``).
  [PacGAN] Lin et al., "PacGAN: The Power of Two Samples in Generative Adversarial Networks",
           NeurIPS 2018 (``ring8``, ``grid25``).
  [WGANGP] Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017, ``gan_toy.py``
           (``eight_gaussians``, ``twentyfive_gaussians``, ``swiss_roll``).
"""

from __future__ import annotations

import os
from typing import Callable

from jaxgan.data import digits as _digits
from jaxgan.data import toy as _toy
from jaxgan.data.digits import Digits, load_digits
from jaxgan.data.image_folder import ImageFolder
from jaxgan.data.tfds import TFDS_DATASETS, TFDS_SHAPES, ShuffledImages, TfdsImages
from jaxgan.data.toy import (EVAL_STREAM, Dataset, GaussianMixture, Modes, SwissRoll,
                             TwentyFiveGaussians)

__all__ = [
    "ALL_DATASETS",
    "DATASETS",
    "DATASET_SHAPES",
    "EVAL_STREAM",
    "FILE_DATASETS",
    "TFDS_DATASETS",
    "Dataset",
    "Digits",
    "GaussianMixture",
    "ImageFolder",
    "Modes",
    "ShuffledImages",
    "SwissRoll",
    "TfdsImages",
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
"""The in-memory datasets: the names ``make_dataset(name, seed)`` accepts without ``data_dir``."""

FILE_DATASETS: tuple[str, ...] = TFDS_DATASETS + ("image_folder",)
"""The datasets read from files: ``make_dataset`` needs ``data_dir`` for them."""

ALL_DATASETS: tuple[str, ...] = DATASETS + FILE_DATASETS
"""Every name ``make_dataset`` accepts (with ``data_dir`` where needed)."""

DATASET_SHAPES: dict[str, tuple[int, ...] | None] = {
    **{name: (2,) for name in DATASETS if name != "digits"},
    "digits": (8, 8, 1),
    **TFDS_SHAPES,
    "image_folder": None,
}
"""``sample_shape`` of every dataset of ``ALL_DATASETS``; ``None`` where it depends on the files."""


def make_dataset(name: str, seed: int, *, data_dir: str | os.PathLike[str] | None = None,
                 image_size: int | None = None) -> Dataset:
  """Builds the dataset ``name`` with the seed every one of its draws derives from.

  Args:
    name: one of ``ALL_DATASETS``.
    seed: a non-negative integer.
    data_dir: for ``FILE_DATASETS``: the TFDS data directory holding the prepared dataset, or the
      image folder of ``image_folder``. Ignored by the in-memory ``DATASETS``.
    image_size: for ``image_folder``: the side of the returned square images. Ignored otherwise.

  Returns:
    The ``Dataset``.

  Raises:
    ValueError: if ``name`` is not in ``ALL_DATASETS``, a file dataset lacks ``data_dir`` (or
      ``image_folder`` its ``image_size``), ``seed`` is negative, or the files are unusable.
    FileNotFoundError: if the prepared dataset or the folder is missing (the message says how to
      prepare it).
  """
  if isinstance(name, str) and name in _BUILDERS:
    return _BUILDERS[name](seed)
  if not isinstance(name, str) or name not in FILE_DATASETS:
    raise ValueError(f"dataset must be one of {', '.join(ALL_DATASETS)}, got {name!r}")
  if data_dir is None:
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)} when data_dir is None, got "
                     f"{name!r}: it is read from files, pass data_dir (the TFDS data directory, "
                     f"or the image folder of image_folder)")
  if name == "image_folder":
    if image_size is None:
      raise ValueError("dataset 'image_folder' needs image_size (the side of its square images)")
    return ImageFolder(seed, data_dir, image_size)
  return TfdsImages(name, seed, data_dir)

"""Two-dimensional toy distributions for GAN mode-collapse experiments (host side, pure numpy).

Every dataset is *stateless*: ``batch(step, n_critic, batch_size)`` is a deterministic function of
the dataset's seed and its three arguments, so a run resumed from a checkpoint at step ``s`` reads
exactly the batches an uninterrupted run reads from step ``s`` on. There is no iterator to save.

Global example index: the ``i``-th example of the ``k``-th critic batch of step ``step`` is the
global example ``g = (step * n_critic + k) * batch_size + i``. Datasets backed by a finite array
(``twentyfive_gaussians`` here, ``digits`` in :mod:`jaxgan.data.digits`) map ``g`` to an array row;
datasets sampled afresh (the other mixtures and the Swiss roll) draw a whole step from a generator
seeded with ``(seed, step)``.

Per-process reading: ``batch(..., process_index=p, process_count=P)`` returns the columns
``[p * B / P, (p + 1) * B / P)`` of every critic batch of the global batch of size ``B``, the same
values the single-process call holds there (see ``Dataset.batch`` and ``global_rows``).

Random streams (numpy ``SeedSequence`` entropy): training draws of step ``t`` use ``[seed, t]``;
evaluation reference sets ``sample(n, seed)`` use ``[seed, EVAL_STREAM]`` with
``EVAL_STREAM = 2**31 - 1``, disjoint from every training step below ``2**31 - 1``. Note that numpy
pads entropy with zeros, so ``[seed, 0]`` is the same stream as ``seed`` itself.

Datasets:
  * ``ring8``: 8 isotropic Gaussians of std 0.01 with means ``(cos 2 pi k / 8, sin 2 pi k / 8)``,
    equal weights [VEEGAN; PacGAN, ``2DRing`` config].
  * ``grid25``: 25 isotropic Gaussians of std 0.05 with means ``{-4, -2, 0, 2, 4}^2``, equal weights
    [VEEGAN; PacGAN, ``2DGrid`` config].
  * ``eight_gaussians``, ``twentyfive_gaussians``, ``swiss_roll``: the three toy sets of the WGAN-GP
    authors' ``gan_toy.py`` [WGANGP, figure 1 and ``inf_train_gen``], including their normalising
    constants 1.414, 2.828 and 7.5.

References:
  [VEEGAN] Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
           Learning", NeurIPS 2017.
  [PacGAN] Lin, Khetan, Fanti, Oh, "PacGAN: The Power of Two Samples in Generative Adversarial
           Networks", NeurIPS 2018; code github.com/fjxmlzn/PacGAN.
  [WGANGP] Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017; code
           github.com/igul222/improved_wgan_training, ``gan_toy.py``.
"""

from __future__ import annotations

import abc
import itertools
import math
from typing import NamedTuple

import numpy as np
import sklearn.datasets

__all__ = [
    "EVAL_STREAM",
    "Modes",
    "Dataset",
    "global_rows",
    "GaussianMixture",
    "TwentyFiveGaussians",
    "SwissRoll",
    "ring8",
    "grid25",
    "eight_gaussians",
    "twentyfive_gaussians",
    "swiss_roll",
]

EVAL_STREAM = 2**31 - 1
"""Second ``SeedSequence`` entropy word of the evaluation stream of ``Dataset.sample``."""


class Modes(NamedTuple):
  """The modes of an isotropic Gaussian mixture, in the coordinates the dataset returns.

  Attributes:
    centers: the K mode means, float64 array of shape [K, 2].
    std: the per-coordinate standard deviation shared by every mode.
  """

  centers: np.ndarray
  std: float


def _check_int(value: int, name: str, minimum: int) -> int:
  """Returns ``value`` as an ``int`` after checking it is an integer ``>= minimum``."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise TypeError(f"{name} must be an integer, got {type(value).__name__}.")
  if value < minimum:
    raise ValueError(f"{name} must be >= {minimum}, got {value}.")
  return int(value)


def global_rows(step: int, n_critic: int, batch_size: int, process_index: int = 0,
                process_count: int = 1) -> np.ndarray:
  """Global example indices of one process's share of a step, int64 ``[n_critic, b]``.

  ``b = batch_size // process_count``; entry ``[k, j]`` is
  ``(step * n_critic + k) * batch_size + process_index * b + j`` (arguments are not checked here).
  """
  local = batch_size // process_count
  starts = (step * n_critic + np.arange(n_critic, dtype=np.int64)) * batch_size
  return starts[:, None] + process_index * local + np.arange(local, dtype=np.int64)[None, :]


class Dataset(abc.ABC):
  """A stateless, seeded source of training batches and evaluation samples.

  Subclasses implement ``_draw_step`` (the examples of one training step) and ``_draw_sample`` (an
  evaluation set), and may override ``_draw_rows`` (some examples of a step, for per-process
  reading); this base class validates arguments, reshapes and casts.

  Attributes:
    name: the dataset's name, one of ``jaxgan.data.DATASETS``.
    seed: the non-negative integer seed every draw derives from.
    sample_shape: the shape of one example, ``(2,)`` for toys and ``(8, 8, 1)`` for digits.
    modes: the mixture's ``Modes`` (for the Gaussian mixtures), else ``None``.
  """

  name: str
  sample_shape: tuple[int, ...]
  modes: Modes | None

  def __init__(self, seed: int) -> None:
    self.seed = _check_int(seed, "seed", 0)

  def batch(self, step: int, n_critic: int, batch_size: int, process_index: int = 0,
            process_count: int = 1) -> np.ndarray:
    """The real examples of training step ``step``: one batch for each critic update.

    A deterministic function of ``(seed, step, n_critic, batch_size)``; calls may come in any order.
    With ``process_count > 1`` a process reads only its own contiguous share of every global batch:
    process ``p`` of ``P`` gets the columns ``[p * b, (p + 1) * b)`` with ``b = batch_size / P``
    (the same values as ``batch(step, n_critic, batch_size)[:, p * b:(p + 1) * b]``), so the shares
    of the ``P`` processes are disjoint and together make up the global batch.

    Args:
      step: the (generator) training step, ``>= 0``.
      n_critic: critic updates per step (the batches per step), ``>= 1``.
      batch_size: examples per global batch, ``>= 1``, a multiple of ``process_count``.
      process_index: this process's index ``p``, ``0 <= p < process_count``.
      process_count: the number of processes ``P`` sharing each global batch, ``>= 1``.

    Returns:
      float32 array of shape ``[n_critic, batch_size // process_count, *sample_shape]``; the example
      ``[k, j]`` is the global example ``(step * n_critic + k) * batch_size + p * b + j``.
    """
    step = _check_int(step, "step", 0)
    n_critic = _check_int(n_critic, "n_critic", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    process_count = _check_int(process_count, "process_count", 1)
    process_index = _check_int(process_index, "process_index", 0)
    if process_index >= process_count:
      raise ValueError(f"process_index must be < process_count = {process_count}, got "
                       f"{process_index}.")
    if batch_size % process_count:
      raise ValueError(f"batch_size {batch_size} must be a multiple of process_count "
                       f"{process_count}.")
    count = n_critic * batch_size
    first = step * count
    if process_count == 1:
      x = self._draw_step(step, first, count)
      return np.asarray(x, dtype=np.float32).reshape((n_critic, batch_size) + self.sample_shape)
    local = batch_size // process_count
    rows = global_rows(step, n_critic, batch_size, process_index, process_count)
    x = self._draw_rows(step, first, count, rows.ravel())
    return np.asarray(x, dtype=np.float32).reshape((n_critic, local) + self.sample_shape)

  def sample(self, n: int, seed: int) -> np.ndarray:
    """``n`` examples for evaluation, from a stream independent of every training batch.

    Args:
      n: the number of examples, ``>= 0``.
      seed: the seed of the evaluation set (it may equal the dataset's seed: the streams differ).

    Returns:
      float32 array of shape ``[n, *sample_shape]``.
    """
    n = _check_int(n, "n", 0)
    seed = _check_int(seed, "seed", 0)
    x = self._draw_sample(n, seed)
    return np.asarray(x, dtype=np.float32).reshape((n,) + self.sample_shape)

  @abc.abstractmethod
  def _draw_step(self, step: int, first: int, count: int) -> np.ndarray:
    """The ``count`` examples of ``step``: global examples ``first`` to ``first + count - 1``."""

  @abc.abstractmethod
  def _draw_sample(self, n: int, seed: int) -> np.ndarray:
    """Returns ``n`` evaluation examples drawn from the stream ``[seed, EVAL_STREAM]``."""

  def _draw_rows(self, step: int, first: int, count: int, rows: np.ndarray) -> np.ndarray:
    """The global examples ``rows`` (int64, within ``first .. first + count - 1``) of ``step``.

    This default draws the whole step and keeps ``rows``, which is right for datasets that draw a
    step at once; datasets with random access override it to read only ``rows``.
    """
    return np.asarray(self._draw_step(step, first, count))[rows - first]

  def __repr__(self) -> str:
    return f"{type(self).__name__}(name={self.name!r}, seed={self.seed})"


def _mixture_draw(rng: np.random.Generator, n: int, centers: np.ndarray, std: float,
                  divisor: float) -> np.ndarray:
  """``n`` draws of ``(std * randn(2) + uniform choice of centers) / divisor`` in float64."""
  noise = rng.standard_normal((n, 2)) * std
  choice = rng.integers(len(centers), size=n)
  return (noise + centers[choice]) / divisor


class GaussianMixture(Dataset):
  """An equal-weight mixture of isotropic 2-D Gaussians, sampled afresh each step.

  A point is ``(std_raw * randn(2) + c) / divisor`` with ``c`` drawn uniformly from ``centers_raw``
  (the construction of ``gan_toy.py`` [WGANGP]; ``divisor = 1`` for the [PacGAN] sets).
  """

  sample_shape = (2,)

  def __init__(self, name: str, seed: int, centers_raw: np.ndarray, std_raw: float,
               divisor: float = 1.0) -> None:
    super().__init__(seed)
    self.name = name
    self._centers_raw = np.asarray(centers_raw, dtype=np.float64)
    self._std_raw = float(std_raw)
    self._divisor = float(divisor)
    self.modes = Modes(centers=self._centers_raw / self._divisor,
                       std=self._std_raw / self._divisor)

  def _draw_step(self, step: int, first: int, count: int) -> np.ndarray:
    del first  # A fresh generator per step: the draws depend on (seed, step, count) only.
    rng = np.random.default_rng([self.seed, step])
    return _mixture_draw(rng, count, self._centers_raw, self._std_raw, self._divisor)

  def _draw_sample(self, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, EVAL_STREAM])
    return _mixture_draw(rng, n, self._centers_raw, self._std_raw, self._divisor)


class TwentyFiveGaussians(Dataset):
  """``25gaussians`` of ``gan_toy.py`` [WGANGP]: a fixed, shuffled array of 100,000 points, cycled.

  The script builds ``100000 // 25`` copies of the grid ``(2x, 2y)``, ``x, y in -2..2`` (x outer),
  adds ``0.05 * randn(2)`` to each point, shuffles once, divides by 2.828 (in float32) and then
  yields consecutive batches, cycling over the array without reshuffling. Here the global example
  ``g`` is row ``g % 100000`` of that array.

  One deliberate simplification: the script's loop ``for i in range(len(dataset) // BATCH_SIZE)``
  drops the last ``100000 % BATCH_SIZE`` rows of each pass; this class does not (period 100,000
  regardless of the batch size).
  """

  name = "twentyfive_gaussians"
  sample_shape = (2,)
  size = 100_000
  _STD_RAW = 0.05
  _DIVISOR = 2.828
  _ARRAY_STREAM = 25  # SeedSequence([seed, 25]) builds the array.

  def __init__(self, seed: int) -> None:
    super().__init__(seed)
    grid = np.array([(2.0 * x, 2.0 * y) for x in range(-2, 3) for y in range(-2, 3)])
    self._centers_raw = grid
    rng = np.random.default_rng([self.seed, self._ARRAY_STREAM])
    points = np.tile(grid, (self.size // len(grid), 1)) + rng.standard_normal((self.size, 2)) * 0.05
    points = points.astype(np.float32)
    rng.shuffle(points)
    points /= np.float32(self._DIVISOR)
    points.flags.writeable = False
    self.array = points
    self.modes = Modes(centers=grid / self._DIVISOR, std=self._STD_RAW / self._DIVISOR)

  def _draw_step(self, step: int, first: int, count: int) -> np.ndarray:
    del step
    return self.array[(first + np.arange(count, dtype=np.int64)) % self.size]

  def _draw_sample(self, n: int, seed: int) -> np.ndarray:
    # The reference set is a fresh draw from the mixture the array samples, not rows of the array.
    rng = np.random.default_rng([seed, EVAL_STREAM])
    return _mixture_draw(rng, n, self._centers_raw, self._STD_RAW, self._DIVISOR)


def _swiss_roll(n: int, entropy: list[int]) -> np.ndarray:
  """``make_swiss_roll(n, noise=0.25)[0].astype('float32')[:, [0, 2]] / 7.5`` as in [WGANGP]."""
  random_state = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])
  data = sklearn.datasets.make_swiss_roll(n_samples=n, noise=0.25, random_state=random_state)[0]
  return data.astype(np.float32)[:, [0, 2]] / np.float32(7.5)


class SwissRoll(Dataset):
  """``swissroll`` of ``gan_toy.py`` [WGANGP]: the (x, z) plane of scikit-learn's Swiss roll / 7.5.

  The roll's parameter is ``t = 1.5 pi (1 + 2u)``, ``u ~ U(0, 1)``, and a point is
  ``(t cos t, t sin t) + 0.25 * randn(2)`` before the division by 7.5. The whole step is one
  ``make_swiss_roll`` call whose ``random_state`` derives from ``(seed, step)``.
  """

  name = "swiss_roll"
  sample_shape = (2,)
  modes = None

  def _draw_step(self, step: int, first: int, count: int) -> np.ndarray:
    del first
    if count == 0:
      return np.zeros((0, 2), np.float32)
    return _swiss_roll(count, [self.seed, step])

  def _draw_sample(self, n: int, seed: int) -> np.ndarray:
    if n == 0:
      return np.zeros((0, 2), np.float32)
    return _swiss_roll(n, [seed, EVAL_STREAM])


def ring8(seed: int) -> GaussianMixture:
  """8 Gaussians of std 0.01 evenly on the unit circle (angles ``2 pi k / 8``) [VEEGAN; PacGAN]."""
  angles = 2.0 * np.pi * np.arange(8) / 8
  centers = np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return GaussianMixture("ring8", seed, centers, 0.01)


def grid25(seed: int) -> GaussianMixture:
  """25 Gaussians of std 0.05 at ``{-4, -2, 0, 2, 4}^2`` (x outer) [VEEGAN; PacGAN]."""
  centers = np.array(list(itertools.product(range(-4, 5, 2), range(-4, 5, 2))), dtype=np.float64)
  return GaussianMixture("grid25", seed, centers, 0.05)


def eight_gaussians(seed: int) -> GaussianMixture:
  """``8gaussians`` of ``gan_toy.py`` [WGANGP].

  Centers ``(1, 0), (-1, 0), (0, 1), (0, -1), (+-1/sqrt 2, +-1/sqrt 2)`` times ``scale = 2``; a
  point is ``0.02 * randn(2)`` plus a uniformly chosen center, and the dataset is divided by 1.414.
  Hence ``modes.centers = 2 c / 1.414`` and ``modes.std = 0.02 / 1.414``.
  """
  s = 1.0 / math.sqrt(2.0)
  unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]
  centers = 2.0 * np.array(unit, dtype=np.float64)
  return GaussianMixture("eight_gaussians", seed, centers, 0.02, divisor=1.414)


def twentyfive_gaussians(seed: int) -> TwentyFiveGaussians:
  """``25gaussians`` of ``gan_toy.py`` [WGANGP]; see ``TwentyFiveGaussians``."""
  return TwentyFiveGaussians(seed)


def swiss_roll(seed: int) -> SwissRoll:
  """``swissroll`` of ``gan_toy.py`` [WGANGP]; see ``SwissRoll``."""
  return SwissRoll(seed)

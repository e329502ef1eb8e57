r"""Sliced Wasserstein distance between two sets of images, the multi-scale statistic of PGGAN.

Karras et al., "Progressive Growing of GANs", ICLR 2018 [PGGAN], section 5.1 and appendix D; the
official implementation [OFFICIAL] ``metrics/sliced_wasserstein.py``. Pure numpy, host side.

Protocol (for each of the two sets separately, then compared level by level):

1. Laplacian pyramid [BURT] of every image: :math:`G_0 = x`, :math:`G_{l+1} = \mathrm{down}(G_l)`,
   :math:`L_l = G_l - \mathrm{up}(G_{l+1})` for the levels above the coarsest, whose level is the
   Gaussian :math:`G_{L-1}` itself. ``down`` blurs with the 5x5 binomial filter
   :math:`\frac{1}{256}[1,4,6,4,1]^\top[1,4,6,4,1]` and keeps every other pixel; ``up`` inserts
   zeros and blurs with 4 times that filter; borders reflect without repeating the edge pixel
   (OpenCV's ``pyrDown`` / ``pyrUp``, scipy's ``mode='mirror'``). There is one level per resolution
   ``H, H/2, ...`` that is at least 16: 16 -> 1 level, 32 -> 2, ..., 1024 -> 7.
   Images smaller than 16 (the 8x8 digits) get a single level, the raw image; this case is outside
   the paper's protocol and its numbers are not comparable with the paper's.
2. ``descriptors_per_image`` (128 in the paper) 7x7 neighbourhoods per image and level, at centres
   drawn uniformly among those whose neighbourhood lies inside the image; a descriptor is the
   7 x 7 x C patch.
3. Each set's descriptors are normalised per channel by the mean and standard deviation of that
   channel over all descriptors of the set and level (over descriptors and the 7x7 positions), then
   flattened to vectors of :math:`49 C` components. Hence the value does not depend on the data
   range (a positive affine map of each channel's values changes nothing).
4. The sliced Wasserstein distance of the two equally large descriptor sets
   :math:`A, B \in \mathbb R^{n \times d}` [RABIN]: for unit directions :math:`\theta` (Gaussian,
   normalised), :math:`\mathrm{SWD} = \mathbb E_\theta\, \frac1n \sum_i |\mathrm{sort}(A\theta)_i
   - \mathrm{sort}(B\theta)_i|`, the mean 1-D Wasserstein-1 distance of the projections, estimated
   with ``num_projections`` directions (512 in the paper), drawn in ``num_repeats`` batches of
   ``num_projections / num_repeats`` ([OFFICIAL]: 4 repeats of 128 directions, averaged). Since all
   batches are equally large the average over repeats equals the average over all directions; the
   batches only bound memory.
5. Every level's distance is multiplied by :math:`10^3`, as in the paper's tables (``SWDx1e3``),
   and the levels are averaged.

Randomness is a numpy ``Generator`` seeded by ``seed``: the neighbourhood centres are drawn from
``default_rng([seed, 0])`` afresh for each set, so two sets of the same shape are sampled at the
same positions (common random numbers: two identical sets are exactly 0 apart); the directions come
from ``default_rng([seed, 1])``.

Memory: each level holds ``N * descriptors_per_image`` descriptors of ``49 C`` float32 values per
set (the paper's 16384 images of 3 channels: 1.2 GB per set and level); compute on fewer images, or
accept the cost.

References:
  [PGGAN]    Karras, Aila, Laine, Lehtinen, ICLR 2018 (arXiv:1710.10196), appendix D.
  [OFFICIAL] github.com/tkarras/progressive_growing_of_gans, ``metrics/sliced_wasserstein.py``.
  [RABIN]    Rabin, Peyré, Delon, Bernot, "Wasserstein Barycenter and its Application to Texture
             Mixing", SSVM 2011.
  [BURT]     Burt, Adelson, "The Laplacian Pyramid as a Compact Image Code", IEEE Trans.
             Commun. 1983.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "NHOOD_SIZE",
    "laplacian_pyramid",
    "pyramid_resolutions",
    "sample_descriptors",
    "normalize_descriptors",
    "sliced_wasserstein",
    "sliced_wasserstein_distance",
]

NHOOD_SIZE = 7
MIN_LEVEL_RESOLUTION = 16
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0


def pyramid_resolutions(size: int) -> list[int]:
  """Resolutions of the pyramid levels for ``size x size`` images (one level below 16)."""
  if size < NHOOD_SIZE:
    raise ValueError(f"images must be at least {NHOOD_SIZE}x{NHOOD_SIZE} for 7x7 neighbourhoods, "
                     f"got {size}x{size}")
  if size < MIN_LEVEL_RESOLUTION:
    return [size]
  res = []
  while size >= MIN_LEVEL_RESOLUTION:
    res.append(size)
    if size % 2:
      break
    size //= 2
  return res


def _blur(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
  """Separable 5-tap filter along H and W of [N, H, W, C], mirror borders (no edge repeat)."""
  for axis in (1, 2):
    pad = [(0, 0)] * 4
    pad[axis] = (2, 2)
    xp = np.pad(x, pad, mode="reflect")
    n = x.shape[axis]
    x = sum(t * np.take(xp, np.arange(k, k + n), axis=axis) for k, t in enumerate(taps))
  return x


def _pyr_down(x: np.ndarray) -> np.ndarray:
  return _blur(x, _BINOMIAL)[:, ::2, ::2]


def _pyr_up(x: np.ndarray) -> np.ndarray:
  n, h, w, c = x.shape
  up = np.zeros((n, 2 * h, 2 * w, c), x.dtype)
  up[:, ::2, ::2] = x
  return _blur(up, 2.0 * _BINOMIAL)  # 4x the 2-D filter: 2x per axis


def laplacian_pyramid(images: np.ndarray, num_levels: int) -> list[np.ndarray]:
  """Laplacian pyramid of [N, H, W, C]: ``num_levels`` arrays, finest first, the last Gaussian."""
  levels = [np.asarray(images, np.float32)]
  for _ in range(1, num_levels):
    levels.append(_pyr_down(levels[-1]))
    levels[-2] = levels[-2] - _pyr_up(levels[-1])
  return levels


def sample_descriptors(images: np.ndarray, per_image: int,
                       rng: np.random.Generator) -> np.ndarray:
  """``per_image`` random 7x7 patches of each image of [N, H, W, C]: [N * per_image, 7, 7, C]."""
  n, h, w, _ = images.shape
  r = NHOOD_SIZE // 2
  img = np.repeat(np.arange(n), per_image)[:, None, None]
  cy = rng.integers(r, h - r, size=(n * per_image, 1, 1))
  cx = rng.integers(r, w - r, size=(n * per_image, 1, 1))
  offsets = np.arange(-r, r + 1)
  return images[img, cy + offsets[None, :, None], cx + offsets[None, None, :]]


def normalize_descriptors(desc: np.ndarray) -> np.ndarray:
  """Per-channel standardisation over the set, then flattening: [n, 7, 7, C] -> [n, 49 C]."""
  desc = desc.astype(np.float32)
  mean = desc.mean(axis=(0, 1, 2), keepdims=True)
  std = desc.std(axis=(0, 1, 2), keepdims=True)
  desc = (desc - mean) / np.where(std > 0, std, 1.0)
  return desc.reshape(desc.shape[0], -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, num_projections: int, num_repeats: int,
                       rng: np.random.Generator) -> float:
  """Mean over ``num_projections`` random unit directions of the 1-D W1 between projections."""
  if a.ndim != 2 or a.shape != b.shape:
    raise ValueError(f"descriptor sets must have the same shape [n, d], got {a.shape}, {b.shape}")
  per_repeat = num_projections // num_repeats
  results = []
  for _ in range(num_repeats):
    dirs = rng.standard_normal((a.shape[1], per_repeat))
    dirs = (dirs / np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))).astype(np.float32)
    pa = np.sort(a @ dirs, axis=0)
    pb = np.sort(b @ dirs, axis=0)
    results.append(np.mean(np.abs(pa - pb)))
  return float(np.mean(results))


def _descriptor_sets(images: np.ndarray, num_levels: int, per_image: int,
                     seed: int) -> list[np.ndarray]:
  rng = np.random.default_rng([seed, 0])
  return [normalize_descriptors(sample_descriptors(level, per_image, rng))
          for level in laplacian_pyramid(images, num_levels)]


def sliced_wasserstein_distance(real, fake, *, descriptors_per_image: int = 128,
                                num_projections: int = 512, num_repeats: int = 4,
                                seed: int = 0) -> dict[str, Any]:
  """SWD x 1e3 between two equally shaped image sets [N, H, W, C], per pyramid level and averaged.

  Returns ``{'per_level': [...], 'mean': ..., 'resolutions': [...]}``; ``per_level[i]`` is the level
  at ``resolutions[i]`` (finest first; the last is the coarse Gaussian level).
  """
  real = np.asarray(real, np.float32)
  fake = np.asarray(fake, np.float32)
  if real.ndim != 4 or real.shape != fake.shape:
    raise ValueError(f"real and fake must both be [N, H, W, C] of the same shape, got {real.shape} "
                     f"and {fake.shape}")
  if real.shape[1] != real.shape[2]:
    raise ValueError(f"images must be square, got {real.shape[1]}x{real.shape[2]}")
  if num_repeats < 1 or num_projections < num_repeats or num_projections % num_repeats:
    raise ValueError(f"num_projections ({num_projections}) must be a positive multiple of "
                     f"num_repeats ({num_repeats})")
  if descriptors_per_image < 1:
    raise ValueError(f"descriptors_per_image must be >= 1, got {descriptors_per_image}")
  resolutions = pyramid_resolutions(real.shape[1])
  num_levels = len(resolutions)
  desc_real = _descriptor_sets(real, num_levels, descriptors_per_image, seed)
  desc_fake = _descriptor_sets(fake, num_levels, descriptors_per_image, seed)
  rng = np.random.default_rng([seed, 1])
  per_level = [1e3 * sliced_wasserstein(a, b, num_projections, num_repeats, rng)
               for a, b in zip(desc_real, desc_fake)]
  return {"per_level": per_level, "mean": float(np.mean(per_level)), "resolutions": resolutions}

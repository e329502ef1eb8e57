"""Tests of jaxgan.data: determinism, shapes, and each dataset against its published construction.

Sources of expected values:
  [PacGAN] Lin et al., NeurIPS 2018, code github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments/
           2DRing_GAN&PacGAN/config.py`` (means (cos 2 pi k/8, sin 2 pi k/8), std 0.01) and
           ``2DGrid_GAN&PacGAN/config.py`` (means {-4,-2,0,2,4}^2, std 0.05).
  [WGANGP] Gulrajani et al., NeurIPS 2017, github.com/igul222/improved_wgan_training,
           ``gan_toy.py``, ``inf_train_gen`` (8gaussians: scale 2, noise 0.02, / 1.414; 25gaussians:
           100000 points, noise 0.05, / 2.828, cycled; swissroll:
           ``make_swiss_roll(noise=0.25)[0][:, [0, 2]] / 7.5``).
  [SKL]    scikit-learn ``load_digits`` (1797 8x8 images, values 0..16) and ``make_swiss_roll``
           (t = 1.5 pi (1 + 2u), x = t cos t, z = t sin t).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from jaxgan.data import DATASETS, Dataset, Modes, make_dataset

TOYS = ("ring8", "grid25", "eight_gaussians", "twentyfive_gaussians", "swiss_roll")


def _assign(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
  """Index of the nearest center of every row of ``x``."""
  return np.argmin(np.sum((x[:, None, :] - centers[None]) ** 2, axis=-1), axis=1)


def _check_mixture(x: np.ndarray, modes: Modes) -> None:
  """Per-mode means, stds and weights of ``x`` match an equal-weight isotropic mixture."""
  k = len(modes.centers)
  n = len(x)
  nearest = _assign(x.astype(np.float64), modes.centers)
  counts = np.bincount(nearest, minlength=k)
  # Equal weights: each count is Binomial(n, 1/K); allow 5 binomial standard deviations.
  assert np.all(np.abs(counts - n / k) < 5 * math.sqrt(n * (1 / k) * (1 - 1 / k))), counts
  for j in range(k):
    pts = x[nearest == j].astype(np.float64)
    assert len(pts) >= 200
    # Mean within 5 standard errors of the center, per coordinate.
    np.testing.assert_allclose(pts.mean(axis=0), modes.centers[j],
                               atol=5 * modes.std / math.sqrt(len(pts)))
    # Per-coordinate std within 10% of the spec (std error of a std is ~ 1/sqrt(2n) ~ 2.5% here).
    np.testing.assert_allclose(pts.std(axis=0, ddof=1), modes.std, rtol=0.10)


def test_dataset_names():
  assert DATASETS == ("ring8", "grid25", "eight_gaussians", "twentyfive_gaussians", "swiss_roll",
                      "digits")


def test_unknown_dataset_lists_the_allowed_names():
  with pytest.raises(ValueError) as info:
    make_dataset("mnist", 0)
  message = str(info.value)
  assert message.startswith("dataset must be one of ")
  assert "got 'mnist'" in message
  for name in DATASETS:
    assert name in message


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_dtypes_and_attributes(name):
  ds = make_dataset(name, 0)
  assert isinstance(ds, Dataset)
  assert ds.name == name
  expected_shape = (8, 8, 1) if name == "digits" else (2,)
  assert ds.sample_shape == expected_shape
  b = ds.batch(step=2, n_critic=5, batch_size=16)
  assert b.shape == (5, 16) + expected_shape
  assert b.dtype == np.float32
  assert np.all(np.isfinite(b))
  s = ds.sample(7, seed=3)
  assert s.shape == (7,) + expected_shape and s.dtype == np.float32
  assert ds.sample(0, seed=3).shape == (0,) + expected_shape
  if name in ("swiss_roll", "digits"):
    assert ds.modes is None
  else:
    assert isinstance(ds.modes, Modes)
    assert ds.modes.centers.dtype == np.float64 and ds.modes.centers.shape[1] == 2
    assert isinstance(ds.modes.std, float)


@pytest.mark.parametrize("name", DATASETS)
def test_batches_are_stateless_and_seeded(name):
  ds = make_dataset(name, 1)
  late = ds.batch(7, 2, 32)
  first = ds.batch(0, 2, 32)
  # Same (seed, step, n_critic, batch_size) -> same batch, whatever was read before and by whichever
  # instance: a resumed run sees the batches of an uninterrupted one.
  np.testing.assert_array_equal(ds.batch(7, 2, 32), late)
  np.testing.assert_array_equal(make_dataset(name, 1).batch(7, 2, 32), late)
  np.testing.assert_array_equal(make_dataset(name, 1).batch(0, 2, 32), first)
  # Different steps, different seeds -> different batches; critic batches within a step differ.
  assert not np.array_equal(first, late)
  assert not np.array_equal(make_dataset(name, 2).batch(7, 2, 32), late)
  assert not np.array_equal(late[0], late[1])
  # Evaluation samples: deterministic in their seed, and not a copy of the first training batch.
  np.testing.assert_array_equal(ds.sample(64, 5), ds.sample(64, 5))
  assert not np.array_equal(ds.sample(64, 5), ds.sample(64, 6))
  assert not np.array_equal(ds.sample(64, 1), ds.batch(0, 1, 64)[0])


@pytest.mark.parametrize("bad", [dict(step=-1), dict(n_critic=0), dict(batch_size=0),
                                 dict(step=1.5)])
def test_batch_rejects_bad_arguments(bad):
  args = dict(step=0, n_critic=1, batch_size=4)
  args.update(bad)
  with pytest.raises((ValueError, TypeError)):
    make_dataset("ring8", 0).batch(**args)


def test_negative_seed_rejected():
  with pytest.raises(ValueError):
    make_dataset("ring8", -1)


def test_ring8_modes_and_empirical_statistics():
  ds = make_dataset("ring8", 0)
  angles = 2 * np.pi * np.arange(8) / 8  # [PacGAN] 2DRing config.
  np.testing.assert_allclose(ds.modes.centers, np.stack([np.cos(angles), np.sin(angles)], 1),
                             atol=1e-15)
  assert ds.modes.std == 0.01  # [PacGAN] VARIANCES = 0.01 ** 2 * I.
  _check_mixture(ds.batch(0, 4, 2000).reshape(-1, 2), ds.modes)  # 8000 samples, ~1000 per mode.
  _check_mixture(ds.sample(8000, seed=9), ds.modes)


def test_grid25_modes_and_empirical_statistics():
  ds = make_dataset("grid25", 0)
  expected = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], float)
  np.testing.assert_array_equal(ds.modes.centers, expected)  # [PacGAN] 2DGrid config.
  assert ds.modes.std == 0.05
  _check_mixture(ds.batch(3, 5, 5000).reshape(-1, 2), ds.modes)  # 25000 samples, ~1000 per mode.


def test_eight_gaussians_scaling():
  ds = make_dataset("eight_gaussians", 0)
  s = 1 / math.sqrt(2)
  unit = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)])
  np.testing.assert_allclose(ds.modes.centers, unit * 2 / 1.414)  # [WGANGP] scale 2, / 1.414.
  assert ds.modes.std == pytest.approx(0.02 / 1.414)
  x = ds.batch(0, 10, 1000).reshape(-1, 2).astype(np.float64)
  _check_mixture(x, ds.modes)
  # Closed form: the 8 centers lie on a circle of radius r = 2 / 1.414 with sum cos^2 = sum sin^2 =
  # 4, so each coordinate has mean 0 and variance r^2 / 2 + std^2 (~1.0003: "dataset /= 1.414 #
  # stdev").
  r, sd = 2 / 1.414, 0.02 / 1.414
  expected_std = math.sqrt(r**2 / 2 + sd**2)
  np.testing.assert_allclose(x.std(axis=0), expected_std, rtol=0.02)
  np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)


def test_twentyfive_gaussians_array_and_cycling():
  ds = make_dataset("twentyfive_gaussians", 0)
  grid = np.array([(2 * x, 2 * y) for x in range(-2, 3) for y in range(-2, 3)], float)
  np.testing.assert_allclose(ds.modes.centers, grid / 2.828)  # [WGANGP] (2x, 2y) / 2.828.
  assert ds.modes.std == pytest.approx(0.05 / 2.828)
  # One pass over the array: 100000 // 25 = 4000 points of every mode, exactly [WGANGP].
  full = ds.batch(0, 1, 100_000)[0]
  counts = np.bincount(_assign(full.astype(np.float64), ds.modes.centers), minlength=25)
  np.testing.assert_array_equal(counts, np.full(25, 4000))
  _check_mixture(full, ds.modes)
  # Closed form: exactly balanced centers have per-coordinate variance E[(2x)^2] = 8 for x uniform
  # in -2..2; plus the noise: std = sqrt(8 + 0.05^2) / 2.828 ~ 1.0003.
  np.testing.assert_allclose(full.astype(np.float64).std(axis=0), math.sqrt(8 + 0.05**2) / 2.828,
                             rtol=2e-3)
  # Shuffled (the script shuffles once): the first rows are not the grid order.
  first_modes = _assign(full[:100].astype(np.float64), ds.modes.centers)
  assert not np.array_equal(first_modes, np.tile(np.arange(25), 4))
  # Cycling without reshuffling: global example g and g + 100000 are identical. With batch_size
  # 1000 and n_critic 5, step s covers examples 5000 s .. 5000 s + 4999; step 20 starts at 100000.
  np.testing.assert_array_equal(ds.batch(20, 5, 1000), ds.batch(0, 5, 1000))
  # Global indexing across (n_critic, batch_size): example g = (step*n_critic + k)*batch_size + i.
  b = ds.batch(3, 4, 256)  # examples 3072 .. 4095
  np.testing.assert_array_equal(b.reshape(-1, 2), full[3072:4096])
  straddle = ds.batch(390, 1, 256)[0]  # examples 99840 .. 100095 wrap around.
  np.testing.assert_array_equal(straddle[:160], full[99840:])
  np.testing.assert_array_equal(straddle[160:], full[:96])


def test_swiss_roll_scaling():
  ds = make_dataset("swiss_roll", 0)
  x = ds.batch(0, 10, 2000).reshape(-1, 2).astype(np.float64)  # 20000 samples.
  # [SKL] t = 1.5 pi (1 + 2u) in [1.5 pi, 4.5 pi]; (x, z) = (t cos t, t sin t) + 0.25 noise; / 7.5.
  # Closed forms over t ~ U[a, b], a = 1.5 pi, b = 4.5 pi:
  #   E[t cos t] = [cos t + t sin t]_a^b / (b - a) = 6 pi / 3 pi = 2,
  #   E[t sin t] = [sin t - t cos t]_a^b / (b - a) = 2 / (3 pi).
  np.testing.assert_allclose(x.mean(axis=0), [2 / 7.5, 2 / (3 * np.pi) / 7.5], atol=0.03)
  # The noiseless radius is t, so |point| * 7.5 lies in [1.5 pi, 4.5 pi] up to the noise
  # (0.25 * sqrt(2) per point; 6 noise stds is far beyond 20000 draws).
  radius = np.linalg.norm(x, axis=1) * 7.5
  assert radius.min() > 1.5 * np.pi - 6 * 0.25 * math.sqrt(2)
  assert radius.max() < 4.5 * np.pi + 6 * 0.25 * math.sqrt(2)
  # Uniform t puts a fraction 1/3 of the points at t < 2.5 pi (radius < ~7.85).
  assert np.mean(radius < 2.5 * np.pi) == pytest.approx(1 / 3, abs=0.02)


def test_digits_images_and_labels():
  ds = make_dataset("digits", 0)
  # [SKL] load_digits: 1797 images of 8x8, values 0..16, scaled by x / 8 - 1.
  assert ds.images.shape == (1797, 8, 8, 1) and ds.images.dtype == np.float32
  assert ds.labels.shape == (1797,)
  assert ds.images.min() == -1.0 and ds.images.max() == 1.0
  assert set(np.unique(ds.labels)) == set(range(10))
  levels = (ds.images + 1.0) * 8.0
  np.testing.assert_array_equal(levels, np.round(levels))  # Integer intensities 0..16 survive.
  b = ds.batch(0, 2, 100)
  assert b.min() >= -1.0 and b.max() <= 1.0


def test_digits_every_epoch_is_a_permutation():
  ds = make_dataset("digits", 3)
  n = 1797
  # batch_size 100, n_critic 3: 300 examples a step; steps 0..17 cover g = 0..5399 (3 epochs,
  # with batches straddling the epoch boundaries at g = 1797 and 3594).
  idx = np.concatenate([ds.batch_indices(s, 3, 100).ravel() for s in range(18)])
  for e in range(3):
    epoch = idx[e * n:(e + 1) * n]
    np.testing.assert_array_equal(np.sort(epoch), np.arange(n))  # Every image exactly once.
    # The permutation of epoch e is default_rng([seed, e]).permutation(N) (the module's contract).
    np.testing.assert_array_equal(epoch, np.random.default_rng([3, e]).permutation(n))
  assert not np.array_equal(idx[:n], idx[n:2 * n])  # Reshuffled each epoch.
  # The batch holds the images its indices name.
  np.testing.assert_array_equal(ds.batch(5, 3, 100), ds.images[ds.batch_indices(5, 3, 100)])
  # The evaluation sample also visits every image once before repeating.
  s = ds.sample(n, seed=0).reshape(n, 64)
  assert len(np.unique(s, axis=0)) == len(np.unique(ds.images.reshape(n, 64), axis=0))


def test_digits_is_a_shuffled_image_set_and_pickles():
  """Digits reads through ShuffledImages: uint8 intensities 0..16 decoded by row, scaled x / 8 - 1,
  per-process rows; a pickled copy (what grain's worker processes get) gives the same batches."""
  import pickle  # pylint: disable=import-outside-toplevel
  from jaxgan.data import ShuffledImages  # pylint: disable=import-outside-toplevel
  ds = make_dataset("digits", 4)
  assert isinstance(ds, ShuffledImages) and ds.decoded_nbytes == 1797 * 64
  rows = np.array([5, 0, 5, 1796])
  raw = ds.decode(np.unique(rows))
  assert raw.dtype == np.uint8 and raw.max() <= 16
  np.testing.assert_array_equal(ds.read(rows), ds.images[rows])
  np.testing.assert_array_equal(ds.pixels_to_float(raw), ds.images[np.unique(rows)])
  rows = ds.batch_indices(3, 2, 8, process_index=1, process_count=2)
  np.testing.assert_array_equal(ds.batch(3, 2, 8, 1, 2), ds.images[rows])
  copy = pickle.loads(pickle.dumps(ds))
  np.testing.assert_array_equal(copy.batch(9, 3, 50), ds.batch(9, 3, 50))

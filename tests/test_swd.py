"""Tests of jaxgan.metrics.swd: the Laplacian pyramid and PGGAN's sliced Wasserstein distance.

Expected values by construction: the pyramid is exactly invertible; pyrDown of a constant image is
the constant; the SWD of a set with itself is 0, grows with added noise, and does not depend on the
data range (descriptors are standardised per channel).
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxgan.metrics import swd


def _smooth_images(seed, n=32, size=32, channels=3):
  """Images with spatial correlation (a 3x3 box blur of white noise, twice)."""
  x = np.random.default_rng(seed).standard_normal((n, size + 8, size + 8, channels))
  for _ in range(2):
    x = sum(x[:, i:i + x.shape[1] - 2, j:j + x.shape[2] - 2] for i in range(3) for j in range(3))
  return np.float32(x[:, :size, :size] / 9)


def test_laplacian_pyramid_is_exactly_invertible_and_matches_binomial_filtering():
  x = _smooth_images(0, n=2)
  levels = swd.laplacian_pyramid(x, 2)
  assert [lv.shape for lv in levels] == [(2, 32, 32, 3), (2, 16, 16, 3)]
  np.testing.assert_allclose(swd._pyr_up(levels[1]) + levels[0], x, atol=1e-5)
  # pyrDown of a constant image is the constant (the filter sums to 1, borders mirror).
  np.testing.assert_allclose(swd._pyr_down(np.full((1, 8, 8, 1), 2.0, np.float32)), 2.0, rtol=1e-6)
  assert swd.pyramid_resolutions(128) == [128, 64, 32, 16]
  assert swd.pyramid_resolutions(16) == [16] and swd.pyramid_resolutions(8) == [8]


def test_swd_is_zero_for_identical_sets_and_grows_with_noise():
  real = _smooth_images(1)
  same = swd.sliced_wasserstein_distance(real, real.copy())
  assert same["per_level"] == [0.0, 0.0] and same["mean"] == 0.0
  assert same["resolutions"] == [32, 16]

  noise = np.random.default_rng(2).standard_normal(real.shape).astype(np.float32)
  means = [swd.sliced_wasserstein_distance(real, real + s * noise)["mean"] for s in (0.1, 0.3, 1.0)]
  assert 0.0 < means[0] < means[1] < means[2], means
  # The data range does not matter (descriptors are standardised per channel).
  scaled = swd.sliced_wasserstein_distance(3 * real + 1, 3 * (real + noise) + 1)["mean"]
  np.testing.assert_allclose(scaled, means[2], rtol=1e-3)


def test_swd_on_8x8_images_uses_one_level_and_rejects_bad_inputs():
  real = _smooth_images(4, n=16, size=8, channels=1)
  fake = _smooth_images(5, n=16, size=8, channels=1)
  out = swd.sliced_wasserstein_distance(real, fake, descriptors_per_image=16)
  assert out["resolutions"] == [8] and len(out["per_level"]) == 1
  assert out["mean"] == out["per_level"][0] > 0
  with pytest.raises(ValueError, match="at least 7x7"):
    swd.sliced_wasserstein_distance(real[:, :4, :4], fake[:, :4, :4])
  with pytest.raises(ValueError, match="same shape"):
    swd.sliced_wasserstein_distance(real, fake[:8])
  with pytest.raises(ValueError, match="multiple of"):
    swd.sliced_wasserstein_distance(real, fake, num_projections=510)

"""Tests of jaxgan.plots: what the pictures show, read back from the PNG files.

The claims: the 2-D plot labels its axes and keeps the real data visible where generated points lie
on top of it; an image grid's pixels are the images' values (upscaled by an integer factor, never
resampled), and ``real=`` adds a panel whose pixels are the real samples, at the left of the
generated panel.
"""

from __future__ import annotations

import os

import numpy as np
import PIL.Image
import pytest

from jaxgan import plots
from jaxgan.data import make_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_png(path: str) -> bool:
  with open(path, "rb") as f:
    return f.read(8) == PNG_SIGNATURE and os.path.getsize(path) > 1000


def _rgb(path) -> np.ndarray:
  with PIL.Image.open(path) as im:
    return np.asarray(im.convert("RGB"), dtype=np.int32)


def _upscaled_pixels(images: np.ndarray) -> list[np.ndarray]:
  """Each image as the PNG should hold it: [-1, 1] -> 0..255, repeated by image_scale (numpy)."""
  s = plots.image_scale(*images.shape[1:3])
  return [np.rint((x + 1) / 2 * 255).repeat(s, 0).repeat(s, 1) for x in images]


def _find(png: np.ndarray, tile: np.ndarray) -> list[tuple[int, int]]:
  """Top-left corners where ``tile`` [h, w, 3] appears in ``png`` (to within 1 of 255: the float ->
  8-bit rounding)."""
  h, w = tile.shape[:2]
  hits = []
  for y, x in np.argwhere(np.all(np.abs(png - tile[0, 0]) <= 1, axis=-1)):
    if y + h <= png.shape[0] and x + w <= png.shape[1]:
      if np.max(np.abs(png[y:y + h, x:x + w] - tile)) <= 1:
        hits.append((int(y), int(x)))
  return hits


def test_critic_grid_layout():
  xs, ys, pts = plots.critic_grid((-1.0, 3.0, -2.0, 2.0), n=5)
  assert xs.shape == (5,) and ys.shape == (5,) and pts.shape == (25, 2)
  values = pts[:, 0] * 10 + pts[:, 1]  # A critic that reads both coordinates.
  grid = values.reshape(len(ys), len(xs))  # [ny, nx]: row j is y = ys[j].
  assert grid[1, 3] == pytest.approx(xs[3] * 10 + ys[1])
  xs2, _, _ = plots.critic_grid(2.0, n=3)
  np.testing.assert_allclose(xs2, [-2, 0, 2])


def test_toy_plot_labels_its_axes_and_legend(tmp_path):
  ds = make_dataset("eight_gaussians", 0)
  real = ds.sample(500, seed=0)
  fake = real + np.random.default_rng(0).normal(0, 0.1, real.shape)
  extent = plots.toy_extent(real, ds.modes.centers)
  xs, ys, pts = plots.critic_grid(extent, n=30)
  values = -np.min(np.linalg.norm(pts[:, None] - ds.modes.centers[None], axis=-1), axis=1)
  critic = (xs, ys, values.reshape(len(ys), len(xs)))
  fig = plots.toy_figure(fake, real, critic=critic, centers=ds.modes.centers, title="t")
  ax = fig.axes[0]
  assert ax.get_xlabel().startswith("x[0]") and ax.get_ylabel().startswith("x[1]")
  assert fig.axes[1].get_ylabel() == "critic value"  # the colour bar
  labels = [t.get_text() for t in ax.get_legend().get_texts()]
  assert labels == ["real (500)", "modes", "generated (500)"]
  path = plots.plot_toy(tmp_path / "sub" / "toy.png", fake, real, critic=critic,
                        centers=ds.modes.centers, title="eight_gaussians")
  assert path == str(tmp_path / "sub" / "toy.png") and _is_png(path)
  assert _is_png(plots.plot_toy(tmp_path / "fake_only.png", fake))  # generated points only


def test_real_points_stay_visible_under_generated_ones(tmp_path):
  """Generated points exactly on the real ones (a perfect generator) must not hide them: orange
  (real) and green (generated) pixels are both in the picture. Drawn the old way (reals first, the
  same marker for both), 9 orange pixels were left (the legend's)."""
  real = np.random.default_rng(1).normal(0, 0.3, (300, 2))
  png = _rgb(plots.plot_toy(tmp_path / "same.png", real.copy(), real))
  r, g, b = png[..., 0], png[..., 1], png[..., 2]
  orange = (r > 200) & (g > 90) & (g < 200) & (b < 120)   # darkorange (255, 140, 0), alpha-blended
  green = (g > 90) & (r < 60) & (b < 60)                   # matplotlib "green" (0, 128, 0)
  assert orange.sum() > 200 and green.sum() > 200, (orange.sum(), green.sum())


def test_image_grid_pixels_are_the_images(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (5, 8, 8, 3)).astype(np.float32)
  png = _rgb(plots.save_image_grid(tmp_path / "a" / "b" / "g.png", images, ncols=3))
  s = plots.image_scale(8, 8)
  assert s == 8
  # 2 rows x 3 columns of 64-pixel tiles with 2-pixel gaps (pad = max(1, s // 4)), no title.
  assert png.shape == (2 * (64 + 2) + 2, 3 * (64 + 2) + 2, 3)
  for i, tile in enumerate(_upscaled_pixels(images)):
    r, c = divmod(i, 3)
    assert _find(png, tile) == [(2 + r * 66, 2 + c * 66)], i


def test_image_grid_with_a_real_panel(tmp_path):
  rng = np.random.default_rng(1)
  fake = rng.uniform(-1, 1, (4, 6, 6, 3)).astype(np.float32)
  real = rng.uniform(-1, 1, (9, 6, 6, 3)).astype(np.float32)
  png = _rgb(plots.save_image_grid(tmp_path / "r.png", fake, title="run step 7", real=real))
  real_at = [_find(png, t) for t in _upscaled_pixels(real)]
  fake_at = [_find(png, t) for t in _upscaled_pixels(fake)]
  assert all(len(h) == 1 for h in real_at + fake_at), (real_at, fake_at)
  real_at, fake_at = [h[0] for h in real_at], [h[0] for h in fake_at]
  # Every real tile lies left of every generated one, and the panels are top-aligned.
  assert max(x for _, x in real_at) < min(x for _, x in fake_at)
  assert min(y for y, _ in real_at) == min(y for y, _ in fake_at) > 28  # below the title
  # Grayscale reals beside grayscale samples: same layout, the gray level in all three channels.
  digits = make_dataset("digits", 0).batch(0, 1, 8)[0]
  png = _rgb(plots.save_image_grid(tmp_path / "d.png", digits[4:], real=digits[:4]))
  for t in _upscaled_pixels(digits[..., 0]):
    assert len(_find(png, np.repeat(t[..., None], 3, axis=-1))) >= 1


def test_image_grid_refuses_bad_shapes(tmp_path):
  with pytest.raises(ValueError, match="images must have shape"):
    plots.save_image_grid(tmp_path / "bad.png", np.zeros((2, 8, 8, 2)))
  with pytest.raises(ValueError, match="real must have"):
    plots.save_image_grid(tmp_path / "bad.png", np.zeros((2, 8, 8, 1)), real=np.zeros((2, 4, 4, 1)))

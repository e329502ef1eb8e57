"""PNG figures for GAN runs: 2-D toy scatter plots with the critic's landscape, and image grids.

Figures are drawn with matplotlib's object-oriented API on ``matplotlib.figure.Figure`` and written
by the Agg renderer; pyplot (and therefore any interactive backend or display) is never touched, so
plotting is safe on headless machines and does not change the caller's backend.

``plot_toy`` follows figure 1 of [WGANGP] and the plots of its ``gan_toy.py``: the critic's value on
a grid as a contour map, the real samples as wide translucent orange dots, and the generated samples
as small green ``+`` markers over them (so that neither hides the other: a mode the generator misses
shows orange without green); mode centers are black crosses; the axes are the data's two
coordinates.

``save_image_grid`` tiles generated images; given ``real=``, a labelled panel of real samples is
drawn at their left, at the same scale, to judge the samples against. Images are placed with
``Figure.figimage`` (pixels copied, never resampled), so a PNG's pixels are the images' values.

References:
  [WGANGP] Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017, figure 1; code
           github.com/igul222/improved_wgan_training, ``gan_toy.py``, ``generate_image``.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["toy_extent", "critic_grid", "plot_toy", "toy_figure", "save_image_grid", "image_scale"]

Extent = tuple[float, float, float, float]


def _ensure_parent(path: str | os.PathLike[str]) -> str:
  """Creates the parent directory of ``path`` and returns ``path`` as a string."""
  path = os.fspath(path)
  parent = os.path.dirname(path)
  if parent:
    os.makedirs(parent, exist_ok=True)
  return path


def toy_extent(*point_sets: np.ndarray | None, margin: float = 0.15) -> Extent:
  """A square ``(xmin, xmax, ymin, ymax)`` around the finite points of ``point_sets`` plus a margin.

  The square is centred on the points' bounding box, its side is the longer side of the box times
  ``1 + 2 * margin`` (at least 1), so that ``plot_toy`` and ``critic_grid`` can share one frame.

  Args:
    *point_sets: arrays of shape [N, 2]; ``None`` and empty arrays are skipped.
    margin: fraction of the box's longer side added on every side.

  Returns:
    The extent; ``(-1.5, 1.5, -1.5, 1.5)`` when no finite point is given.
  """
  sets = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in point_sets if p is not None]
  pts = np.concatenate(sets) if sets else np.zeros((0, 2))
  pts = pts[np.all(np.isfinite(pts), axis=1)]
  if len(pts) == 0:
    return (-1.5, 1.5, -1.5, 1.5)
  lo, hi = pts.min(axis=0), pts.max(axis=0)
  mid = (lo + hi) / 2
  half = max(float(np.max(hi - lo)) * (0.5 + margin), 0.5)
  return (mid[0] - half, mid[0] + half, mid[1] - half, mid[1] + half)


def critic_grid(extent: float | Sequence[float], n: int = 100
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """A regular grid on which to evaluate a critic for ``plot_toy``.

  Args:
    extent: ``(xmin, xmax, ymin, ymax)``, or a scalar ``r`` for ``(-r, r, -r, r)``.
    n: grid points per axis, >= 2.

  Returns:
    ``(xs [n], ys [n], points [n * n, 2])`` float32, with ``points`` in row-major ``[ny, nx]`` order
    (y slow, x fast): ``values = critic(points).reshape(len(ys), len(xs))`` is what ``plot_toy``'s
    ``critic=(xs, ys, values)`` expects.
  """
  if np.ndim(extent) == 0:
    r = float(extent)  # type: ignore[arg-type]
    extent = (-r, r, -r, r)
  xmin, xmax, ymin, ymax = (float(v) for v in extent)  # type: ignore[union-attr]
  if n < 2:
    raise ValueError(f"n must be >= 2, got {n}.")
  xs = np.linspace(xmin, xmax, n, dtype=np.float32)
  ys = np.linspace(ymin, ymax, n, dtype=np.float32)
  gx, gy = np.meshgrid(xs, ys)  # [ny, nx] each.
  return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def plot_toy(path: str | os.PathLike[str], fake: np.ndarray, real: np.ndarray | None = None,
             critic: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
             centers: np.ndarray | None = None, title: str = "") -> str:
  """Scatter plot of 2-D generated (small green ``+``) and real (wide translucent orange dots, drawn
  underneath) samples over the critic's contours, with labelled axes and a legend.

  The axis limits come from ``toy_extent(real, centers)`` (generated points outside them are clipped
  from view, so a diverging generator does not shrink the picture); from the critic grid when
  neither is given, and from ``fake`` as a last resort.

  Args:
    path: the PNG to write; parent directories are created.
    fake: generated samples, [N, 2].
    real: real samples, [M, 2], or ``None``.
    critic: ``(xs [nx], ys [ny], values [ny, nx])`` drawn as filled contours with a colour bar
      (see ``critic_grid``), or ``None``.
    centers: mode centers [K, 2] drawn as black crosses, or ``None``.
    title: the axes title.

  Returns:
    ``path`` as a string.
  """
  path = _ensure_parent(path)
  fig = toy_figure(fake, real, critic=critic, centers=centers, title=title)
  fig.savefig(path, format="png")
  return path


def toy_figure(fake: np.ndarray, real: np.ndarray | None = None,
               critic: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               centers: np.ndarray | None = None, title: str = "") -> Figure:
  """The ``matplotlib.figure.Figure`` that :func:`plot_toy` writes (same arguments, no path)."""
  fake = np.asarray(fake, dtype=np.float64).reshape(-1, 2)
  real = None if real is None else np.asarray(real, dtype=np.float64).reshape(-1, 2)
  centers = None if centers is None else np.asarray(centers, dtype=np.float64).reshape(-1, 2)

  if real is not None or centers is not None:
    extent = toy_extent(real, centers)
  elif critic is not None:
    xs, ys = np.asarray(critic[0]), np.asarray(critic[1])
    extent = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
  else:
    extent = toy_extent(fake)

  fig = Figure(figsize=(6.4, 5.6), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  if critic is not None:
    xs, ys, values = (np.asarray(a, dtype=np.float64) for a in critic)
    values = values.reshape(len(ys), len(xs))
    if np.all(np.isfinite(values)) and np.ptp(values) > 0:
      cs = ax.contourf(xs, ys, values, levels=20, cmap="Blues", alpha=0.7)
      ax.contour(xs, ys, values, levels=cs.levels, colors="k", linewidths=0.3, alpha=0.4)
      fig.colorbar(cs, ax=ax, label="critic value")
  if real is not None:  # under the generated points, as wide translucent dots: both stay visible
    ax.scatter(real[:, 0], real[:, 1], c="darkorange", marker="o", s=60, alpha=0.25,
               edgecolors="none", label=f"real ({len(real)})", zorder=2)
  if centers is not None:
    ax.scatter(centers[:, 0], centers[:, 1], c="black", marker="x", s=35, linewidths=1.0,
               label="modes", zorder=2.5)
  ax.scatter(fake[:, 0], fake[:, 1], c="green", marker="+", s=18, linewidths=0.7,
             label=f"generated ({len(fake)})", zorder=3)
  ax.set_xlim(extent[0], extent[1])
  ax.set_ylim(extent[2], extent[3])
  ax.set_aspect("equal")
  ax.set_xlabel("x[0] (first data coordinate)")
  ax.set_ylabel("x[1] (second data coordinate)")
  legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, fontsize=8,
                     frameon=False)
  for handle in legend.legend_handles:
    handle.set_alpha(1.0)
  if title:
    ax.set_title(title)
  fig.tight_layout()
  return fig


def _tile(images: np.ndarray, ncols: int, pad: int) -> np.ndarray:
  """Tiles ``[N, H, W, C]`` images in [0, 1] into one ``[rows*(H+pad)+pad, ...]`` image."""
  n, h, w, c = images.shape
  rows = max(1, math.ceil(n / ncols))
  grid = np.full((rows * (h + pad) + pad, ncols * (w + pad) + pad, c), 0.5, dtype=np.float32)
  for i in range(n):
    r, q = divmod(i, ncols)
    y, x = pad + r * (h + pad), pad + q * (w + pad)
    grid[y:y + h, x:x + w] = images[i]
  return grid


def _grid(images: np.ndarray, ncols: int | None, name: str) -> np.ndarray:
  """``[N, H, W, C]`` (or ``[N, H, W]``) images in [-1, 1] as one RGB tile image in [0, 1]."""
  x = np.asarray(images, dtype=np.float32)
  if x.ndim == 3:
    x = x[..., None]
  if x.ndim != 4 or x.shape[-1] not in (1, 3) or x.shape[0] == 0:
    raise ValueError(f"{name} must have shape [N, H, W, 1 or 3] with N >= 1, "
                     f"got {np.shape(images)}.")
  n, h, w, _ = x.shape
  ncols = math.ceil(math.sqrt(n)) if ncols is None else max(1, min(int(ncols), n))
  x = (np.clip(np.nan_to_num(x, nan=-1.0), -1.0, 1.0) + 1.0) / 2.0
  scale = image_scale(h, w)
  x = x.repeat(scale, axis=1).repeat(scale, axis=2)
  grid = _tile(x, ncols, pad=max(1, scale // 4))
  return np.repeat(grid, 3, axis=-1) if grid.shape[-1] == 1 else grid


def image_scale(height: int, width: int) -> int:
  """The integer upscaling factor of ``save_image_grid``: the smallest that makes the longer side
  at least 64 pixels (1 for images that are already that large)."""
  return max(1, math.ceil(64 / max(height, width)))


def save_image_grid(path: str | os.PathLike[str], images: np.ndarray, ncols: int | None = None,
                    title: str = "", *, real: np.ndarray | None = None) -> str:
  """Writes a grid of images in [-1, 1] as a PNG (nearest-neighbour upscaled), optionally beside a
  panel of real samples.

  Each image is upscaled by the integer factor ``image_scale(H, W)`` (to at least 64 pixels on its
  longer side); tiles are separated by gray lines. Values are clipped to [-1, 1] (NaN shows as -1,
  black) and mapped to [0, 1]. Panels are placed pixel for pixel (``Figure.figimage``), never
  resampled. Without ``real`` the PNG is the generated grid (under the title, if any); with it, the
  real panel (labelled "real samples") is at the left and the generated one ("generated") at the
  right, top-aligned.

  Args:
    path: the PNG to write; parent directories are created.
    images: generated ``[N, H, W, C]`` with C = 1 (grayscale) or 3 (RGB), or ``[N, H, W]``; N >= 1.
    ncols: images per row of each panel; default ``ceil(sqrt(N))``.
    title: a caption above the grid.
    real: real samples in the same layout (any count >= 1; same H, W), or ``None``.

  Returns:
    ``path`` as a string.
  """
  path = _ensure_parent(path)
  fake = _grid(images, ncols, "images")
  panels = [fake]
  if real is not None:
    if np.shape(real)[1:3] != np.shape(images)[1:3]:
      raise ValueError(f"real must have the images' height and width {np.shape(images)[1:3]}, "
                       f"got {np.shape(real)}.")
    panels = [_grid(real, ncols, "real"), fake]

  dpi = 100
  margin = 8 if real is not None else 0            # pixels around and between the panels
  title_px = 28 if title else 0
  label_px = 20 if real is not None else 0
  gh = max(p.shape[0] for p in panels)
  gw = sum(p.shape[1] for p in panels) + margin * (len(panels) + 1)
  height = title_px + label_px + gh + margin
  fig = Figure(figsize=(gw / dpi, height / dpi), dpi=dpi)
  fig.patch.set_facecolor("white")
  x = margin
  for panel, label in zip(panels, ("real samples", "generated") if real is not None else ("",)):
    # figimage's offsets are from the bottom-left corner; panels are top-aligned.
    fig.figimage(panel, xo=x, yo=height - title_px - label_px - panel.shape[0], origin="upper")
    if label:
      fig.text((x + panel.shape[1] / 2) / gw, 1.0 - (title_px + label_px / 2) / height, label,
               ha="center", va="center", fontsize=9)
    x += panel.shape[1] + margin
  if title:
    fig.text(0.5, 1.0 - 0.5 * title_px / height, title, ha="center", va="center", fontsize=10)
  fig.savefig(path, format="png", dpi=dpi)
  return path

"""Mode-collapse metrics for 2-D Gaussian mixtures (pure numpy, vectorised).

The protocol of VEEGAN [VEEGAN] as used by PacGAN [PacGAN] (synthetic-data experiments): draw
``NUM_SAMPLES = 2500`` generated points; a point is *high quality* when it lies within three
standard deviations of its nearest mode; a mode is *captured* when it is the nearest mode of at
least one high-quality point; mode balance is the reverse KL divergence ``KL(p_hat || U_K)`` of the
histogram of nearest modes over the high-quality points to the uniform distribution over the K
modes.

For isotropic modes of a common std the distance test is the Euclidean ``||x - mu|| <= 3 std``; the
PacGAN code (``pacgan/extensions.py``, ``MetricLogger``) uses the strict ``<`` on the std-normalised
distance, which differs only on a set of measure zero.

References:
  [VEEGAN] Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
           Learning", NeurIPS 2017.
  [PacGAN] Lin, Khetan, Fanti, Oh, "PacGAN: The Power of Two Samples in Generative Adversarial
           Networks", NeurIPS 2018; code github.com/fjxmlzn/PacGAN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NUM_SAMPLES", "HQ_STDS", "mode_metrics", "kl_to_uniform"]

NUM_SAMPLES = 2500
"""Generated points per evaluation in the protocol [PacGAN, ``num_log_figure_sample``]."""

HQ_STDS = 3.0
"""A point is high quality within this many standard deviations of its nearest mode [VEEGAN]."""


def kl_to_uniform(counts: np.ndarray) -> float:
  r"""``KL(p || U_K) = sum_k p_k log(K p_k)`` of the histogram ``counts`` (nats, ``0 log 0 = 0``).

  Args:
    counts: non-negative counts over K bins, shape [K].

  Returns:
    The divergence in nats, in ``[0, log K]``; ``inf`` when every count is zero.
  """
  counts = np.asarray(counts, dtype=np.float64)
  total = counts.sum()
  if total <= 0:
    return float("inf")
  p = counts[counts > 0] / total
  return float(max(0.0, np.sum(p * np.log(p * len(counts)))))


def mode_metrics(samples: np.ndarray, centers: np.ndarray, std: float) -> dict[str, Any]:
  """Mode coverage and quality of ``samples`` against an isotropic Gaussian mixture [PacGAN].

  Non-finite samples are never high quality.

  Args:
    samples: generated points, shape [N, 2] (any [N, D] works), N >= 1; the protocol uses
      ``NUM_SAMPLES``.
    centers: the K mode means, shape [K, D].
    std: the modes' common per-coordinate standard deviation, > 0.

  Returns:
    A dict with ``modes_captured`` (int, modes that are the nearest mode of at least one
    high-quality sample), ``num_modes`` (K), ``high_quality_fraction`` (fraction of the N samples
    within ``3 * std`` of their nearest mode), ``kl_to_uniform`` (``KL(p_hat || U_K)`` in nats of
    the nearest-mode histogram over the high-quality samples; ``inf`` when there are none) and
    ``mode_histogram`` (list of K ints: high-quality samples per mode).
  """
  x = np.asarray(samples, dtype=np.float64)
  c = np.asarray(centers, dtype=np.float64)
  if x.ndim != 2 or x.shape[0] == 0:
    raise ValueError(f"samples must have shape [N, D] with N >= 1, got {x.shape}.")
  if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] != x.shape[1]:
    raise ValueError(f"centers must have shape [K, {x.shape[1]}] with K >= 1, got {c.shape}.")
  if not std > 0:
    raise ValueError(f"std must be > 0, got {std}.")
  k = c.shape[0]
  dist2 = np.sum((x[:, None, :] - c[None, :, :]) ** 2, axis=-1)  # [N, K]
  finite = np.all(np.isfinite(x), axis=1)
  dist2 = np.where(finite[:, None], dist2, np.inf)
  nearest = np.argmin(dist2, axis=1)
  nearest_dist = np.sqrt(dist2[np.arange(len(x)), nearest])
  high_quality = nearest_dist <= HQ_STDS * float(std)
  histogram = np.bincount(nearest[high_quality], minlength=k)
  return {
      "modes_captured": int(np.count_nonzero(histogram)),
      "num_modes": int(k),
      "high_quality_fraction": float(np.mean(high_quality)),
      "kl_to_uniform": kl_to_uniform(histogram),
      "mode_histogram": [int(n) for n in histogram],
  }

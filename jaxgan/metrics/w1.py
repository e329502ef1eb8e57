"""Exact Wasserstein-1 distance between two empirical point sets (host NumPy / SciPy / POT).

For point sets ``x_1..x_N`` and ``y_1..y_M`` in R^d with uniform weights ``1/N`` and ``1/M`` and the
Euclidean ground cost ``c(x, y) = ||x - y||_2``, the Wasserstein-1 (earth mover's) distance is the
optimal-transport linear program [OT, ch. 2-3]::

    W1 = min_{P >= 0, P 1 = 1/N, P^T 1 = 1/M} sum_{ij} P_ij ||x_i - y_j||.

It is solved exactly by POT's network-simplex solver ``ot.emd2`` [POT] when POT is importable
(``pip install POT``; optional). Without POT only ``N == M`` is supported: the uniform transport
polytope is then the Birkhoff polytope scaled by ``1/N``, whose vertices are permutation matrices
(Birkhoff-von Neumann), so the optimum is an assignment and
``W1 = min_sigma (1/N) sum_i ||x_i - y_sigma(i)||``, solved exactly by
``scipy.optimize.linear_sum_assignment``.

Cost: the ``N x M`` distance matrix; the assignment is ``O(N^3)``; keep N in the low thousands.

References:
  [OT]  Peyré, Cuturi, "Computational Optimal Transport", Foundations and Trends in ML, 2019.
  [POT] Flamary et al., "POT: Python Optimal Transport", JMLR 22(78), 2021.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize
import scipy.spatial.distance

__all__ = ["exact_w1", "pot_available"]

_POT_MAX_ITER = 10_000_000


def pot_available() -> bool:
  """Whether POT (``import ot``) can be imported."""
  try:
    import ot  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    return False
  return True


def _points(x: Any, name: str) -> np.ndarray:
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
    raise ValueError(f"{name} must be a non-empty point set of shape [N, d], got {x.shape}.")
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} contains non-finite values.")
  return x


def exact_w1(x: Any, y: Any, *, backend: str = "auto") -> float:
  """Exact W1 between the uniform empirical measures on ``x`` and ``y`` (Euclidean cost).

  Args:
    x: [N, d] points.
    y: [M, d] points.
    backend: ``"auto"`` (POT if importable, else the assignment solver), ``"pot"`` (require POT)
      or ``"assignment"`` (``scipy.optimize.linear_sum_assignment``; requires ``N == M``).

  Returns:
    W1 as a Python float (same units as the points).

  Raises:
    ValueError: on bad shapes, an unknown backend, ``N != M`` without POT, or when POT's solver
      stops before reaching the optimum.
    ImportError: ``backend="pot"`` and POT is not installed.
  """
  x = _points(x, "x")
  y = _points(y, "y")
  if x.shape[1] != y.shape[1]:
    raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}.")
  if backend not in ("auto", "pot", "assignment"):
    raise ValueError(f"backend must be 'auto', 'pot' or 'assignment', got {backend!r}.")
  if backend == "auto":
    backend = "pot" if pot_available() else "assignment"
  cost = scipy.spatial.distance.cdist(x, y, metric="euclidean")
  n, m = cost.shape

  if backend == "pot":
    try:
      import ot  # pylint: disable=import-outside-toplevel
    except ImportError as e:
      raise ImportError("exact_w1(backend='pot') needs POT: pip install POT") from e
    a = np.full(n, 1.0 / n)
    b = np.full(m, 1.0 / m)
    value, log = ot.emd2(a, b, cost, numItermax=_POT_MAX_ITER, log=True)
    if log.get("warning") is not None or log.get("result_code", 1) != 1:
      raise ValueError(f"POT's ot.emd2 did not reach the optimum: {log.get('warning')}")
    return float(value)

  if n != m:
    raise ValueError(f"exact W1 between sets of different sizes ({n} vs {m}) needs POT "
                     "(pip install POT); without it only equal sizes are supported.")
  rows, cols = scipy.optimize.linear_sum_assignment(cost)
  return float(cost[rows, cols].mean())

"""Tests of jaxgan.metrics.w1: the exact Wasserstein-1 distance between point sets.

Sources of expected values:
  [W1]    For y = x + v, W1 >= ||E y - E x|| = ||v|| (Kantorovich-Rubinstein with the 1-Lipschitz
          f(z) = v.z / ||v||) and the translation coupling attains ||v||, so W1 = ||v||.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from jaxgan.metrics import w1 as w1lib


# --------------------------------------------------------------------------------------------------
# Exact W1 [W1]
# --------------------------------------------------------------------------------------------------

_BACKENDS = ["assignment", pytest.param("pot", marks=pytest.mark.skipif(
    not w1lib.pot_available(), reason="POT is not installed"))]


@pytest.mark.parametrize("backend", _BACKENDS)
def test_w1_of_a_shifted_point_set_is_the_shift_length(backend):
  rng = np.random.default_rng(10)
  x = rng.normal(size=(64, 3))
  v = np.array([1.0, -0.5, 2.0])
  assert w1lib.exact_w1(x, x + v, backend=backend) == pytest.approx(np.linalg.norm(v), rel=1e-9)
  assert w1lib.exact_w1(x, x, backend=backend) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.skipif(not w1lib.pot_available(), reason="POT is not installed")
def test_w1_backends_agree_and_pot_handles_unequal_sizes():
  rng = np.random.default_rng(11)
  x, y = rng.normal(size=(40, 2)), rng.normal(1.0, 2.0, size=(40, 2))
  assert w1lib.exact_w1(x, y, backend="pot") == pytest.approx(
      w1lib.exact_w1(x, y, backend="assignment"), rel=1e-9)
  # Duplicating every point leaves the uniform empirical measure unchanged: W1 = 0.
  assert w1lib.exact_w1(x, np.concatenate([x, x]), backend="pot") == pytest.approx(0.0, abs=1e-9)


def test_w1_without_pot_refuses_unequal_sizes():
  with pytest.raises(ValueError, match="needs POT"):
    w1lib.exact_w1(np.zeros((3, 2)), np.zeros((4, 2)), backend="assignment")
  with pytest.raises(ValueError, match="same dimension"):
    w1lib.exact_w1(np.zeros((3, 2)), np.zeros((3, 3)))


def test_w1_auto_backend_works_without_pot(monkeypatch):
  monkeypatch.setitem(sys.modules, "ot", None)  # makes ``import ot`` raise ImportError.
  assert not w1lib.pot_available()
  x = np.random.default_rng(12).normal(size=(16, 2))
  assert w1lib.exact_w1(x, x + np.array([3.0, 4.0])) == pytest.approx(5.0, rel=1e-9)
  with pytest.raises(ImportError, match="pip install POT"):
    w1lib.exact_w1(x, x, backend="pot")

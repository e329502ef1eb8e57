"""The experiments of ``jaxgan.experiments`` in their ``--quick`` form: each runs, writes its PNG and
JSON, and its key number has the sign or order the claim predicts (where the quick sizes can show it;
see docs/claims.md for the full-size numbers)."""

import importlib
import json
import math
import os

import numpy as np
import pytest

from jaxgan import experiments


def _check_outputs(result, workdir, name):
  png = os.path.join(str(workdir), f"{name}.png")
  js = os.path.join(str(workdir), f"{name}.json")
  assert result["png"] == png and os.path.getsize(png) > 10_000
  with open(png, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  with open(js) as f:
    saved = json.load(f)
  assert saved["quick"] is True
  return saved


def test_every_experiment_is_a_module_with_main():
  for name in experiments.EXPERIMENTS:
    module = importlib.import_module(f"jaxgan.experiments.{name}")
    assert callable(module.main) and callable(module.run)
    assert module.NAME == name
    assert "Claim tested" in module.__doc__ and "paper" in module.__doc__


def test_parallel_lines(tmp_path):
  from jaxgan.experiments import parallel_lines
  result = parallel_lines.main(["--quick", "--workdir", str(tmp_path)])
  _check_outputs(result, tmp_path, "parallel_lines")
  theta = np.asarray(result["theta"])
  # W from samples is |theta| (exact W1 of 300 vs 300 points).
  assert np.all(np.abs(result["w_estimate"] - np.abs(theta)) <= 0.05)
  # JS from the trained BCE discriminator: log 2 as soon as the lines are apart, 0 when they meet.
  far = np.abs(theta) >= 0.5
  assert np.all(result["js_estimate"][far] > math.log(2) - 0.02)
  assert np.all(result["js_estimate"] <= math.log(2) + 1e-6)
  assert abs(result["key_numbers"]["js_estimate_at_theta_0"]) < 0.05
  assert np.all(result["tv_estimate"][far] > 0.95)
  assert np.all(np.isinf(result["kl_closed_form"][theta != 0]))


def test_vanishing_gradients(tmp_path):
  from jaxgan.experiments import vanishing_gradients
  result = vanishing_gradients.run(quick=True, workdir=str(tmp_path))
  _check_outputs(result, tmp_path, "vanishing_gradients")
  k = result["key_numbers"]
  assert k["largest_separation"] == 10.0
  # The saturated BCE generator gradient is < 1e-3 of the critic's at the largest separation.
  assert k["ratio_bce_to_critic_at_largest"] < 1e-3
  # The GP critic's gradient stays of order 1 at every separation.
  assert np.all(result["gradient_magnitude"]["wasserstein"] > 0.2)
  # And the BCE gradient falls with the separation (largest vs smallest nonzero separation).
  bce = result["gradient_magnitude"]["bce_saturating"]
  assert bce[-1] < 1e-2 * bce[1]


def test_clipping_vs_penalty(tmp_path):
  from jaxgan.experiments import clipping_vs_penalty
  result = clipping_vs_penalty.run(quick=True, workdir=str(tmp_path))
  _check_outputs(result, tmp_path, "clipping_vs_penalty")
  spread = result["key_numbers"]["gradient_norm_spread_max_over_min"]
  biggest = result["deep_max_gradient_norm"]
  # GP: per-layer gradient norms of the 12-layer critic flat within 3x over layers 2-11.
  assert spread["gp"] < 3.0
  # Small clipping values: the gradient vanishes (to float32 underflow) through the 12 layers.
  for c in ("0.01", "0.001"):
    assert biggest[c] < 1e-6 * biggest["gp"]
  # Clipping piles the weights at +-c.
  assert result["deep_weight_fraction_at_clip"]["0.01"] > 0.5


def test_mode_collapse(tmp_path):
  from jaxgan.experiments import mode_collapse
  result = mode_collapse.run(quick=True, workdir=str(tmp_path))
  _check_outputs(result, tmp_path, "mode_collapse")
  table = result["table"]
  assert set(table) == {"ring8_gan", "ring8_wgan_gp"}
  for row in table.values():
    assert 0 <= row["modes_captured"] <= 8 and 0.0 <= row["high_quality_fraction"] <= 1.0
    assert len(row["over_training"]) == 4
    assert all(sum(s["mode_histogram"]) <= 2500 for s in row["over_training"])
  # The runs' own outputs are there (metrics and pictures from train_and_evaluate).
  assert os.path.exists(tmp_path / "runs" / "ring8_gan" / "samples" / "final.png")


def test_w_estimate_tracks_quality(tmp_path):
  from jaxgan.experiments import w_estimate_tracks_quality
  result = w_estimate_tracks_quality.run(quick=True, workdir=str(tmp_path))
  _check_outputs(result, tmp_path, "w_estimate_tracks_quality")
  for kind in ("wgan_gp", "gan"):
    rows = result[kind]["rows"]
    assert len(rows) == 5
    assert all(r["exact_w1"] > 0 and math.isfinite(r["logged_estimate"]) for r in rows)
  for v in result["key_numbers"].values():
    assert math.isnan(v) or -1.0 <= v <= 1.0


def test_spectral_vs_penalty(tmp_path):
  from jaxgan.experiments import spectral_vs_penalty
  result = spectral_vs_penalty.run(quick=True, workdir=str(tmp_path))
  _check_outputs(result, tmp_path, "spectral_vs_penalty")
  k = result["key_numbers"]
  assert set(k) == {"SN (hinge)", "GP lambda 10"}
  # Spectral normalization bounds the critic's slope by 1 (up to the one-step power iteration).
  assert k["SN (hinge)"]["lipschitz_max_grid"] <= 1.05
  assert k["SN (hinge)"]["lipschitz_max_interpolates"] <= 1.05
  for row in k.values():
    assert row["ms_per_step"] > 0 and 0 <= row["modes_captured"] <= 8

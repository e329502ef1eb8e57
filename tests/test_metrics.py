"""Tests of jaxgan.metrics (mode metrics, digits classifier); the plots are in test_plots.py.

Sources of expected values:
  [VEEGAN] Srivastava et al., NeurIPS 2017, synthetic experiments: a sample is high quality within
           3 std of a mode; a mode is captured when it has a high-quality sample.
  [PacGAN] Lin et al., NeurIPS 2018, synthetic experiments (2,500 samples; reverse KL to the uniform
           mode distribution); code github.com/fjxmlzn/PacGAN ``pacgan/extensions.py``
           (MetricLogger) and the 2DRing / 2DGrid configs (``num_log_figure_sample``: 2500).
  KL closed form: p uniform on m of K bins gives KL(p || U_K) = sum_{m bins} (1/m) log(K/m) =
  log(K/m); a single bin gives log K.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from jaxgan.data import make_dataset
from jaxgan.metrics import NUM_SAMPLES, classifier, digit_metrics, kl_to_uniform, mode_metrics

# --------------------------------------------------------------------------------------------------
# Mode metrics [VEEGAN; PacGAN]
# --------------------------------------------------------------------------------------------------


def test_num_samples_is_the_protocol_count():
  assert NUM_SAMPLES == 2500  # [PacGAN] config ``num_log_figure_sample``: 2500.


@pytest.mark.parametrize("name", ["ring8", "grid25", "eight_gaussians", "twentyfive_gaussians"])
def test_exact_centers_capture_everything(name):
  modes = make_dataset(name, 0).modes
  k = len(modes.centers)
  samples = np.tile(modes.centers, (100, 1))  # 100 copies of every center: perfectly balanced.
  m = mode_metrics(samples, modes.centers, modes.std)
  assert m["modes_captured"] == k and m["num_modes"] == k
  assert m["high_quality_fraction"] == 1.0
  assert m["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)  # p = U_K.
  assert m["mode_histogram"] == [100] * k


def test_real_samples_are_high_quality():
  # Real ring8 data: P(||n|| > 3 std) for a 2-D isotropic Gaussian is exp(-9/2) ~ 1.1% (Rayleigh).
  ds = make_dataset("ring8", 0)
  m = mode_metrics(ds.sample(NUM_SAMPLES, seed=0), *ds.modes)
  assert m["modes_captured"] == 8
  assert m["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
  assert m["kl_to_uniform"] < 0.01


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_two_modes_only(name, k):
  modes = make_dataset(name, 0).modes
  rng = np.random.default_rng(0)
  pick = np.repeat([0, 5], 1250)  # Half the samples at each of two modes, within 1 std.
  samples = modes.centers[pick] + rng.uniform(-0.5, 0.5, (2500, 2)) * modes.std
  m = mode_metrics(samples, modes.centers, modes.std)
  assert m["modes_captured"] == 2
  assert m["high_quality_fraction"] == 1.0
  assert m["kl_to_uniform"] == pytest.approx(math.log(k / 2), rel=1e-12)  # Closed form log(K/m).
  assert m["mode_histogram"][0] == 1250 and m["mode_histogram"][5] == 1250
  assert sum(m["mode_histogram"]) == 2500


def test_far_away_points_are_not_high_quality():
  modes = make_dataset("ring8", 0).modes
  samples = np.full((NUM_SAMPLES, 2), 10.0)
  m = mode_metrics(samples, modes.centers, modes.std)
  assert m["high_quality_fraction"] == 0.0
  assert m["modes_captured"] == 0
  assert m["kl_to_uniform"] == float("inf")  # No high-quality samples: KL undefined -> inf.
  assert m["mode_histogram"] == [0] * 8


def test_three_std_threshold_and_non_finite():
  centers = np.zeros((1, 2))
  # Inside (2.99 std), outside (3.01 std), and non-finite points.
  samples = np.array([[2.99, 0.0], [0.0, -3.01], [np.nan, 0.0], [np.inf, 1.0]])
  m = mode_metrics(samples, centers, 1.0)
  assert m["high_quality_fraction"] == 0.25
  assert m["mode_histogram"] == [1]
  assert m["kl_to_uniform"] == 0.0  # K = 1: the only distribution is uniform.


def test_kl_to_uniform_closed_forms():
  assert kl_to_uniform(np.array([3, 0, 0, 0])) == pytest.approx(math.log(4))  # One of K bins.
  assert kl_to_uniform(np.array([1, 1, 0, 0])) == pytest.approx(math.log(2))  # log(K/m).
  # General: p = (1/2, 1/4, 1/4) -> sum p log(3 p).
  expected = 0.5 * math.log(1.5) + 2 * 0.25 * math.log(0.75)
  assert kl_to_uniform(np.array([2, 1, 1])) == pytest.approx(expected)
  assert kl_to_uniform(np.array([0, 0])) == float("inf")


def test_mode_metrics_rejects_bad_shapes():
  with pytest.raises(ValueError):
    mode_metrics(np.zeros((0, 2)), np.zeros((8, 2)), 0.01)
  with pytest.raises(ValueError):
    mode_metrics(np.zeros((5, 2)), np.zeros((8, 3)), 0.01)
  with pytest.raises(ValueError):
    mode_metrics(np.zeros((5, 2)), np.zeros((8, 2)), 0.0)


# --------------------------------------------------------------------------------------------------
# Digits classifier
# --------------------------------------------------------------------------------------------------


def test_classifier_accuracy_and_caching():
  clf = classifier()
  assert clf is classifier()  # lru_cache: one fit per process.
  assert clf.test_accuracy >= 0.95  # The brief's bar (the MLP reaches ~0.98).
  assert clf.test_images.shape == (360, 8, 8, 1)  # 20% of 1797, rounded up by train_test_split.
  # Stratified split: every class has 35..37 held-out images (~20% of its ~180).
  counts = np.bincount(clf.test_labels, minlength=10)
  assert counts.min() >= 35 and counts.max() <= 37
  pred = clf.predict(clf.test_images)
  assert pred.dtype == np.int64 and pred.shape == (360,)
  assert np.mean(pred == clf.test_labels) == clf.test_accuracy
  feats = clf.features(clf.test_images)
  assert feats.shape == (360, 128) and feats.min() >= 0.0  # ReLU activations.
  np.testing.assert_allclose(clf.predict_proba(clf.test_images[:5]).sum(axis=1), 1.0)


def test_digit_metrics_on_real_and_collapsed_digits():
  clf = classifier()
  m = digit_metrics(clf.test_images)
  assert m["digits_covered"] == 10
  assert sum(m["class_histogram"]) == 360 and len(m["class_histogram"]) == 10
  assert m["max_class_fraction"] < 0.15  # ~36 / 360 per class.
  assert m["kl_to_uniform"] < 0.01
  # Total collapse: one image repeated -> one class, KL = log 10.
  collapsed = np.repeat(clf.test_images[:1], 200, axis=0)
  m = digit_metrics(collapsed)
  assert m["digits_covered"] == 1
  assert m["max_class_fraction"] == 1.0
  assert m["kl_to_uniform"] == pytest.approx(math.log(10))
  # Coverage threshold: a class with fewer than 1% of the samples is not covered.
  idx0 = np.flatnonzero(clf.predict(clf.test_images) == 0)[:1]
  idx1 = np.flatnonzero(clf.predict(clf.test_images) == 1)[:1]
  mixed = np.concatenate([np.repeat(clf.test_images[idx0], 999, 0), clf.test_images[idx1]])
  m = digit_metrics(mixed)  # 999 zeros + 1 one: the one has 0.1% < 1%.
  assert m["class_histogram"][0] == 999 and m["class_histogram"][1] == 1
  assert m["digits_covered"] == 1

"""The real-vs-real baselines of jaxgan.metrics.evaluation (real_baseline, real_halves)."""

from __future__ import annotations

import types

import numpy as np

from jaxgan import config as config_lib
from jaxgan import data as data_lib
from jaxgan import train as train_lib
from jaxgan import writers
from jaxgan.metrics import evaluation
from jaxgan.metrics import fid as fid_lib


def _digits_run(seed=0, eval_samples=1000):
  """The parts of a Run that real_baseline reads, without networks."""
  config = config_lib.load_config("digits_wgan_gp")
  config.seed, config.eval_samples = seed, eval_samples
  dataset = data_lib.make_dataset("digits", seed)
  return types.SimpleNamespace(config=config, dataset=dataset, sample_shape=(8, 8, 1))


def test_real_halves_are_disjoint_and_start_with_the_evaluation_reference():
  dataset = data_lib.make_dataset("digits", 3)
  for num, expected in ((1000, 1797 // 2), (512, 512), (10, 10)):
    a, b = evaluation.real_halves(dataset, num, seed=3)
    assert len(a) == len(b) == expected
    assert len(np.intersect1d(a, b)) == 0
    assert len(np.unique(a)) == len(a) and len(np.unique(b)) == len(b)
    # The first set is the evaluation's reference (the first rows of sample(num, seed)).
    np.testing.assert_array_equal(a, dataset.sample_rows(num, 3)[:expected])
    np.testing.assert_array_equal(dataset.read(a), dataset.sample(num, 3)[:expected])


def test_real_baseline_is_deterministic_and_depends_on_the_seed():
  first = evaluation.real_baseline(_digits_run(), 8)
  again = evaluation.real_baseline(_digits_run(), 8)
  other = evaluation.real_baseline(_digits_run(seed=1), 8)
  assert first == again
  assert first["digits_fd_real"] != other["digits_fd_real"]
  assert first["digits_fd_real_protocol"]["num_real"] == 898   # capped at half the 1,797 digits
  assert first["swd_real_num"] == 512                          # the evaluation's SWD sample count
  # Same value as the metric itself on the two sets (no other estimator behind the baseline).
  dataset = data_lib.make_dataset("digits", 0)
  a, b = evaluation.real_halves(dataset, 1000, 0)
  assert first["digits_fd_real"] == fid_lib.digits_frechet_distance(dataset.read(a),
                                                                    dataset.read(b))


def test_real_vs_real_fd_is_far_below_noise_and_one_class():
  """The baseline is small on the metric's own scale: far below uniform noise and below a generator
  that emits a single class (each against the same reference set of 898 digits)."""
  run = _digits_run()
  baseline = evaluation.real_baseline(run, 8)["digits_fd_real"]
  a, _ = evaluation.real_halves(run.dataset, 1000, 0)
  reference = run.dataset.read(a)
  noise = np.random.default_rng(0).uniform(-1, 1, reference.shape).astype(np.float32)
  fd_noise = fid_lib.digits_frechet_distance(reference, noise)
  # One class only, as many images as the reference (classes hold ~180 digits: repeated).
  ones = run.dataset.images[run.dataset.labels == 1]
  fd_one_class = fid_lib.digits_frechet_distance(reference, ones[np.arange(len(a)) % len(ones)])
  # Measured (seeds 0-2): baseline 0.78-1.26, noise ~170, only 1s ~90 (only 8s ~57): factors of 100
  # and 30 leave room for the baseline's seed-to-seed spread.
  assert baseline < fd_noise / 100, (baseline, fd_noise)
  assert baseline < fd_one_class / 30, (baseline, fd_one_class)


def test_evaluation_record_carries_the_baseline_and_the_summary_prints_it(tmp_path):
  config = config_lib.load_config("digits_wgan_gp")
  for k, v in {"base_channels": 4, "latent_dim": 8, "batch_size": 8, "eval_samples": 64}.items():
    config[k] = v
  run = train_lib.Run(config_lib.validate(config), str(tmp_path))
  record = evaluation.evaluate(run, run.fresh_state())
  assert record["digits_fd_real"] == evaluation.real_baseline(run, 8)["digits_fd_real"]
  assert record["digits_fd_real_protocol"]["num_real"] == 64
  assert record["swd_real_num"] == 64 and np.isfinite(record["swd_real_mean_x1e3"])
  assert record["digits_fd"] > record["digits_fd_real"]  # an untrained generator
  line = writers.eval_summary(record)
  fd = f"digits FD {record['digits_fd']:.4g} (real vs real {record['digits_fd_real']:.4g}, n=64)"
  assert fd in line, line
  assert f"(real vs real {record['swd_real_mean_x1e3']:.2f}, n=64)" in line, line

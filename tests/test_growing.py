"""Progressive growing in training: the schedule, a stage change end to end, resume mid-fade, errors."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from jaxgan import cli
from jaxgan import config as config_lib
from jaxgan import growing
from jaxgan import train as train_lib

# digits_pggan shrunk: 4x4 stable for steps 0-3, 8x8 fade for 4-7, then 8x8 stable (batch 16).
TINY = {"fmap_base": 32, "fmap_max": 8, "latent_dim": 8, "batch_size": 16,
        "batch_by_resolution": "4:16,8:16", "images_per_fade": 64, "images_per_stable": 64,
        "eval_samples": 64, "log_every": 1, "eval_every": 0, "checkpoint_every": 100}


def _config(**overrides):
  c = config_lib.load_config("digits_pggan")
  for k, v in {**TINY, **overrides}.items():
    c[k] = v
  return config_lib.validate(c)


def test_schedule_by_images_shown():
  s = growing.Schedule(_config(num_steps=20), 8)
  # 64 images at batch 16 = 4 steps per phase (by hand).
  assert [(p.stage, p.fade, p.start, p.num_steps) for p in s.phases] == [
      (0, False, 0, 4), (1, True, 4, 4), (1, False, 8, 12)]
  assert s.at(0) == (0, 1.0, 16)
  assert [s.at(t)[1] for t in range(4, 8)] == [0.0, 0.25, 0.5, 0.75]  # alpha rises linearly
  assert s.at(8) == (1, 1.0, 16)
  assert [t for t in range(20) if s.resets_optimizer(t)] == [4, 8]


@pytest.mark.e2e
def test_stage_change_end_to_end_and_resume_mid_fade(tmp_path, capsys):
  """A run across the 4x4 -> 8x8 change; a second run stopped at step 6 (mid-fade, alpha 0.5) and
  resumed to step 10 ends with exactly the same state."""
  whole = train_lib.train_and_evaluate(_config(num_steps=10), str(tmp_path / "whole"))
  out = capsys.readouterr().out
  assert "8x8 fade-in begins" in out and "8x8 stable phase begins" in out
  records = [json.loads(l) for l in open(tmp_path / "whole" / "metrics.jsonl")]
  final = records[-1]
  assert final["kind"] == "eval" and final["resolution"] == 8 and final["stage"] == 1
  assert np.isfinite(final["swd_mean_x1e3"])
  assert all(np.isfinite(r["critic_loss"]) for r in records if r["kind"] == "train")

  train_lib.train_and_evaluate(_config(num_steps=6), str(tmp_path / "split"))
  run = train_lib.Run(_config(num_steps=6), str(tmp_path / "split"))
  assert run.stage_of(run.restore()) == (1, 0.25)  # step 5 of the fade: alpha (5 - 4) / 4
  resumed = train_lib.train_and_evaluate(_config(num_steps=10), str(tmp_path / "split"))
  for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.e2e
def test_samples_follow_the_stage(tmp_path):
  config = _config(num_steps=2)
  state = train_lib.train_and_evaluate(config, str(tmp_path))
  run = train_lib.Run(config, str(tmp_path))
  assert run.samples(state, 3, seed=0).shape == (3, 4, 4, 1)


@pytest.mark.parametrize("overrides, field", [
    ({"images_per_fade": 0}, "images_per_fade"),
    ({"batch_by_resolution": "4:16"}, "batch_by_resolution"),
    ({"batch_by_resolution": "4:16;8:16"}, "batch_by_resolution"),
])
def test_bad_schedules_are_one_line_errors(overrides, field, tmp_path, capsys):
  args = ["train", "--config", "digits_pggan", "--workdir", str(tmp_path)]
  args += [f"--config.{k}={v}" for k, v in {**TINY, **overrides}.items()]
  assert cli.main(args) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and field in err[0], err


def test_resolution_must_be_a_power_of_two():
  with pytest.raises(config_lib.ConfigError, match="power-of-two"):
    growing.Schedule(_config(), 12)

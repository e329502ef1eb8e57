"""Progressive growing in training: the schedule, a stage change end to end, resume mid-fade, errors."""

from __future__ import annotations

import json
import threading
import time

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
  # On CPU the 8x8 step compiles before training (CompiledSteps), so the change never waits.
  assert out.index("compiled the later stages' steps (8x8)") < out.index("step      1/10")
  assert "waiting for" not in out
  records = [json.loads(l) for l in open(tmp_path / "whole" / "metrics.jsonl")]
  assert [r["compile_wait_s"] for r in records if r["kind"] == "train"] == [0.0] * 10
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
def test_background_compile_starts_with_training_and_is_ready_at_its_stage(tmp_path, capsys,
                                                                           monkeypatch):
  """With an accelerator (forced here) the 8x8 step compiles in the background from the first step
  on, not at the stage change; when that compile has finished by the stage boundary, the loop takes
  the step without waiting: the recorded compile wait is exactly zero and it says the step was
  ready. (The last 4x4 step here waits for the background compile, so the outcome does not depend on
  the machine's speed.)"""
  instances = []
  compile_ahead = train_lib.CompiledSteps.compile_ahead

  def record(self, step, *, background):
    instances.append(self)
    stages = compile_ahead(self, step, background=background)
    assert stages == [1] and step == 0 and background  # the 8x8 step, before the first step runs
    assert 1 in self.pending
    return stages

  batch = train_lib.input_pipeline.InputPipeline.batch

  def batch_after_compile(self, step):
    if step == 3:  # the last 4x4 step: let the background compile finish first (bounded)
      instances[0].pending[1].result(timeout=600)
    return batch(self, step)

  monkeypatch.setattr(train_lib, "compile_in_background", lambda: True)
  monkeypatch.setattr(train_lib.CompiledSteps, "compile_ahead", record)
  monkeypatch.setattr(train_lib.input_pipeline.InputPipeline, "batch", batch_after_compile)
  train_lib.train_and_evaluate(_config(num_steps=6), str(tmp_path))
  out = capsys.readouterr().out
  steps = instances[0]
  assert steps.wait_s == {1: 0.0} and steps.compile_s[1] > 0
  assert "step 4: the 8x8 step was compiled in the background" in out and "waiting for" not in out
  records = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
  assert [r["compile_wait_s"] for r in records if r["kind"] == "train"] == [0.0] * 6


@pytest.mark.e2e
def test_a_wait_for_a_stage_compile_is_said_and_recorded(tmp_path, capsys, monkeypatch):
  """When a stage begins before its background compile has finished, the loop says it is waiting and
  records the wait (never a silent stall). Background compile forced; the 8x8 compile is held back
  until step 3 has run."""
  compile_fn = train_lib.CompiledSteps._compile  # pylint: disable=protected-access
  reached = threading.Event()

  def slow_compile(self, stage, step):
    if stage == 1:
      assert reached.wait(timeout=600)
      time.sleep(0.2)  # the loop is at the boundary by now: it reaches get(4) right after step 3
    return compile_fn(self, stage, step)

  batch = train_lib.input_pipeline.InputPipeline.batch

  def batch_signalling(self, step):
    if step == 3:
      reached.set()
    return batch(self, step)

  monkeypatch.setattr(train_lib, "compile_in_background", lambda: True)
  monkeypatch.setattr(train_lib.CompiledSteps, "_compile", slow_compile)
  monkeypatch.setattr(train_lib.input_pipeline.InputPipeline, "batch", batch_signalling)
  train_lib.train_and_evaluate(_config(num_steps=5), str(tmp_path))
  out = capsys.readouterr().out
  assert "step 4: waiting for the 8x8 step's compile" in out
  assert "step 4: waited" in out
  records = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
  waits = [r["compile_wait_s"] for r in records if r["kind"] == "train"]
  assert waits[:4] == [0.0] * 4 and waits[4] > 0
  line = next(l for l in out.splitlines() if l.startswith("step      5/5"))
  assert f"compile wait {waits[4]:.1f}s" in line  # the progress line says it too


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



def _state_with_nonzero_moments(run):
  fresh = run.fresh_state()
  ones = lambda tree: jax.tree.map(lambda x: x + 1, tree)  # Adam moments and counts != 0
  return run.parallel.put_state(fresh.replace(g_opt_state=ones(fresh.g_opt_state),
                                              d_opt_state=ones(fresh.d_opt_state)))


def test_optimizer_reset_on_device_leaves_the_rest_of_the_state(tmp_path):
  """The compiled reset gives exactly ``tx.init`` of the parameters (here: zero Adam moments and
  counts) for both optimizers and passes every other leaf through bit for bit."""
  run = train_lib.Run(_config(num_steps=10), str(tmp_path))
  state = _state_with_nonzero_moments(run)
  before = jax.tree.map(np.asarray, state)
  steps = train_lib.CompiledSteps(run, state, lambda step: None)  # no step compiled here
  reset = jax.tree.map(np.asarray, steps.reset_optimizers(state))
  expected = before.replace(g_opt_state=run.g_tx.init(before.g_params),
                            d_opt_state=run.d_tx.init(before.d_params))
  assert jax.tree.structure(reset) == jax.tree.structure(expected)
  for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(reset)):
    np.testing.assert_array_equal(np.asarray(a), b)
  assert all(np.all(x == 0) for x in jax.tree.leaves((reset.g_opt_state, reset.d_opt_state)))
  assert any(np.any(x != 0) for x in jax.tree.leaves(before.d_opt_state))


@pytest.mark.e2e
def test_warm_up_runs_a_stage_step_on_a_copy(tmp_path):
  """``warm_up`` runs the 8x8 step once (compiling it) on a copy: the state it is given is neither
  changed nor donated."""
  run = train_lib.Run(_config(num_steps=10), str(tmp_path))
  pipeline = train_lib.make_input_pipeline(run)
  try:
    state = _state_with_nonzero_moments(run)
    before = jax.tree.map(np.asarray, state)
    steps = train_lib.CompiledSteps(run, state, pipeline.abstract_batch)
    steps.warm_up(state, [1])
  finally:
    pipeline.close()
  assert 1 in steps.compiled and steps.compile_s[1] > 0
  for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(state)):  # still alive, unchanged
    np.testing.assert_array_equal(a, np.asarray(b))

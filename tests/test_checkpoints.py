"""Checkpoints that survive preemption and damage, the non-finite guard, TensorBoard logs, and the
generator EMA."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import cli
from jaxgan import config as config_lib
from jaxgan import train as train_lib

TINY = {"hidden_dim": 16, "batch_size": 16, "eval_samples": 100, "log_every": 1, "eval_every": 0}


def _config(**overrides):
  c = config_lib.load_config("default")
  for k, v in {**TINY, **overrides}.items():
    c[k] = v
  return config_lib.validate(c)


def test_damaged_newest_checkpoint_falls_back_with_a_warning(tmp_path, capsys):
  """The damaged step 4 is set aside (not deleted) and step 2 restored; the next run saves step 4
  afresh (orbax would skip a save over the damaged folder) with the uninterrupted run's state."""
  config = _config(num_steps=4, checkpoint_every=2)
  uninterrupted = train_lib.train_and_evaluate(config, str(tmp_path))
  good = train_lib.Run(config, str(tmp_path)).restore(step=2)
  # Damage one file of the newest checkpoint (step 4) without changing its size.
  files = sorted(f for f in glob.glob(str(tmp_path / "checkpoints" / "4" / "**" / "*"),
                 recursive=True) if os.path.isfile(f) and os.path.getsize(f) > 16)
  victim = max(files, key=os.path.getsize)
  data = bytearray(open(victim, "rb").read())
  data[len(data) // 2] ^= 0xFF
  open(victim, "wb").write(bytes(data))
  capsys.readouterr()
  restored = train_lib.Run(config, str(tmp_path)).restore()
  err = capsys.readouterr().err
  assert "checkpoints/4" in err and "damaged" in err and "set aside" in err
  assert int(restored.step) == 2
  for a, b in zip(jax.tree.leaves(good), jax.tree.leaves(restored)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert [d.split(".")[0] for d in os.listdir(tmp_path / "damaged_checkpoints")] == ["4"]
  train_lib.train_and_evaluate(config, str(tmp_path))
  again = train_lib.Run(config, str(tmp_path)).restore()
  assert int(again.step) == 4 and "4" in json.load(open(tmp_path / "checkpoints.sha256.json"))
  for a, b in zip(jax.tree.leaves(uninterrupted), jax.tree.leaves(again)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_workdir_lock_names_its_holder_and_is_dropped_on_release(tmp_path):
  """flock conflicts between two open files even in one process: the second acquire fails with one
  line naming this process and host; after release it succeeds."""
  import socket  # pylint: disable=import-outside-toplevel
  from jaxgan import checkpoints  # pylint: disable=import-outside-toplevel
  first = checkpoints.WorkdirLock(str(tmp_path)).acquire()
  with pytest.raises(config_lib.ConfigError) as e:
    checkpoints.WorkdirLock(str(tmp_path)).acquire()
  assert f"process {os.getpid()} on host {socket.gethostname()}" in str(e.value)
  assert "\n" not in str(e.value)
  first.release()
  checkpoints.WorkdirLock(str(tmp_path)).acquire().release()


def test_no_silent_fresh_start_when_every_checkpoint_is_damaged(tmp_path, capsys):
  config = _config(num_steps=2, checkpoint_every=100)
  train_lib.train_and_evaluate(config, str(tmp_path))
  for f in glob.glob(str(tmp_path / "checkpoints" / "2" / "**" / "*"), recursive=True):
    if os.path.isfile(f):
      open(f, "ab").write(b"x")
  with pytest.raises(train_lib.CheckpointError, match="no checkpoint"):
    train_lib.train_and_evaluate(config, str(tmp_path))


def test_injected_nan_stops_cleanly_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch,
                                                                       capsys):
  """Real batches turn NaN from step 5: the run stops at step 6 naming the term; checkpoint 4 (good)
  stays the newest and is not saved over."""
  original = train_lib.data_lib.make_dataset

  def poisoned(name, seed):
    ds = original(name, seed)
    clean = ds.batch

    def batch(step, n_critic, batch_size):
      b = clean(step, n_critic, batch_size)
      return b * np.nan if step >= 5 else b
    ds.batch = batch
    return ds

  monkeypatch.setattr(train_lib.data_lib, "make_dataset", poisoned)
  rc = cli.main(["train", "--workdir", str(tmp_path)] + [f"--config.{k}={v}" for k, v in
                                                         {**TINY, "num_steps": 10,
                                                          "checkpoint_every": 2}.items()])
  err = capsys.readouterr().err
  assert rc == 1
  assert "at step 6" in err and "critic loss" in err and "step 4" in err, err
  run = train_lib.Run(_config(num_steps=10, checkpoint_every=2), str(tmp_path))
  assert run.latest_step() == 4
  state = run.restore()
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(state.d_params))


@pytest.mark.e2e
def test_sigterm_mid_run_leaves_a_restorable_checkpoint(tmp_path):
  args = [sys.executable, "-m", "jaxgan.cli", "train", "--workdir", str(tmp_path),
          "--config.num_steps=100000", "--config.checkpoint_every=100000"] + [
              f"--config.{k}={v}" for k, v in TINY.items()]
  proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  metrics = tmp_path / "metrics.jsonl"
  deadline = time.time() + 300
  while time.time() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
    time.sleep(0.5)
  time.sleep(1.0)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=300)
  assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
  assert "SIGTERM" in err and "resume" in err
  run = train_lib.Run(_config(num_steps=100000, checkpoint_every=100000), str(tmp_path))
  step = run.latest_step()
  assert step is not None and step > 0
  state = run.restore()
  assert int(state.step) == step
  last_logged = max(json.loads(l)["step"] for l in open(metrics))
  assert step >= last_logged


def test_tensorboard_events_are_readable(tmp_path):
  """Event files written without TensorFlow, read back with tensorboard's own reader."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
  train_lib.train_and_evaluate(_config(num_steps=3, checkpoint_every=100), str(tmp_path))
  acc = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
  acc.Reload()
  tags = acc.Tags()
  assert "train/critic_loss" in tags["scalars"] and "eval/high_quality_fraction" in tags["scalars"]
  assert [e.step for e in acc.Scalars("train/critic_loss")] == [1, 2, 3]
  logged = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
  np.testing.assert_allclose([e.value for e in acc.Scalars("train/g_loss")],
                             [r["g_loss"] for r in logged if r["kind"] == "train"], rtol=1e-6)
  assert "samples" in tags["images"]


def test_generator_ema_matches_its_closed_form(tmp_path):
  """ema_t = d * ema_{t-1} + (1 - d) * theta_t, from ema_0 = theta_0: after the run, the EMA equals
  the closed form over the saved trajectory of generator parameters."""
  decay = 0.9
  config = _config(num_steps=3, checkpoint_every=1, ema_decay=decay, keep_checkpoints=10)
  train_lib.train_and_evaluate(config, str(tmp_path))
  run = train_lib.Run(config, str(tmp_path))
  thetas = [run.fresh_state().g_params] + [run.restore(step=s).g_params for s in (1, 2, 3)]
  expected = thetas[0]
  for theta in thetas[1:]:
    expected = jax.tree.map(lambda e, t: decay * e + (1 - decay) * t, expected, theta)
  ema = run.restore(step=3).g_ema
  for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(ema)):
    # float32 sums of 3 terms: a few ulps of the parameters' scale (~0.1-1).
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7)
  # The sampler uses the EMA weights by default.
  assert run.samples(run.restore(step=3), 4, seed=0).shape == (4, 2)
  assert optax.tree.norm(jax.tree.map(lambda a, b: a - b, ema, thetas[-1])) > 0

"""Data-parallel and multi-process training give the same model as one device.

Runs in subprocesses: XLA_FLAGS=--xla_force_host_platform_device_count=8 must be set before jax is
imported, and the multi-process test needs separate processes talking over 127.0.0.1 (gloo).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fake_devices

from jaxgan import config as config_lib
from jaxgan import models
from jaxgan import step as step_lib
from jaxgan import train as train_lib

# A tiny default run: 3 steps of WGAN-GP on ring8, hidden width 32, global batch 32 (splits over 8).
OVERRIDES = {"hidden_dim": 32, "batch_size": 32, "num_steps": 3, "log_every": 1, "eval_every": 0,
             "eval_samples": 100, "checkpoint_every": 100}

# Tolerance: the devices reduce the batch means in a different order (float32 sums of 4-32 terms,
# relative error ~1e-7 each); after 3 steps x 6 Adam updates at lr 1e-4 the parameters differ by
# ~1e-8 absolute (measured: 1.5e-8). 1e-6 absolute leaves a wide margin and still catches any real
# difference (a wrong shard, key or mean moves parameters by ~lr = 1e-4).
ATOL = 1e-6
# One exception, measured and understood: a critic ReLU unit whose pre-activation for some sample is
# the bias alone (every input unit dead for that sample), and the bias ~1e-10 from 0 after the first
# update: the reduction order picks the sign, relu' flips between 0 and 1, and Adam turns that into a
# full lr-sized step for that one bias entry. So at most 1% of critic entries may differ, and the
# critic's outputs must still agree to 1e-3 (measured 1.3e-4).
CRITIC_FLIP_FRACTION = 0.01


def _env(devices: int) -> dict[str, str]:
  env = dict(os.environ)
  env["XLA_FLAGS"] = fake_devices.xla_flags(devices)
  env["JAX_PLATFORMS"] = "cpu"
  return env


def _cli(args, devices=1, **kw) -> subprocess.CompletedProcess:
  overrides = [f"--config.{k}={v}" for k, v in OVERRIDES.items()]
  return subprocess.run([sys.executable, "-m", "jaxgan.cli", "train", *overrides, *args],
                        env=_env(devices), capture_output=True, text=True, timeout=600, **kw)


def _config():
  config = config_lib.load_config("default")
  for k, v in OVERRIDES.items():
    config[k] = v
  return config


def _final_state(workdir):
  return train_lib.Run(_config(), str(workdir)).restore()


def _assert_same(a, b):
  assert int(a.step) == int(b.step)
  for x, y in zip(jax.tree.leaves(a.g_params), jax.tree.leaves(b.g_params)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=ATOL)
  leaves = list(zip(jax.tree.leaves(a.d_params), jax.tree.leaves(b.d_params)))
  off = sum(int(np.sum(np.abs(np.asarray(x) - np.asarray(y)) > ATOL)) for x, y in leaves)
  assert off <= CRITIC_FLIP_FRACTION * sum(x.size for x, _ in leaves), off
  points = jnp.asarray(np.random.default_rng(0).normal(size=(256, 2)).astype(np.float32))
  critic = models.build(_config(), (2,))[1]
  np.testing.assert_allclose(np.asarray(step_lib.critic_scores(critic, a, points)),
                             np.asarray(step_lib.critic_scores(critic, b, points)), rtol=0, atol=1e-3)


@pytest.fixture(scope="module")
def one_device_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("one")
  out = _cli(["--workdir", str(workdir)], devices=1)
  assert out.returncode == 0, out.stderr[-3000:]
  return workdir


@pytest.mark.e2e
def test_device_count_and_path_do_not_change_the_model(one_device_run, tmp_path):
  """1 device, 2 and 8 devices on the jit/mesh path, and 8 on the pmap path: same parameters.
  All four runs happen in one subprocess with 8 fake CPU devices (one jax import)."""
  script = textwrap.dedent(f"""
      import sys
      from jaxgan import config as config_lib, train
      for name, extra in [("jit2", dict(num_devices=2)), ("jit8", dict(num_devices=8)),
                          ("pmap8", dict(num_devices=8, parallel="pmap"))]:
        c = config_lib.load_config("default")
        for k, v in {{**{OVERRIDES!r}, **extra}}.items():
          c[k] = v
        train.train_and_evaluate(c, sys.argv[1] + "/" + name)
        print("progress-line-check", name, flush=True)
  """)
  out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=_env(8),
                       capture_output=True, text=True, timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "2 cpu device(s) in 1 process(es), parallel jit" in out.stdout
  assert "8 cpu device(s) in 1 process(es), parallel pmap" in out.stdout
  assert "| 8 dev x 1 proc" in out.stdout
  reference = _final_state(one_device_run)
  for name in ("jit2", "jit8", "pmap8"):
    _assert_same(reference, _final_state(tmp_path / name))
  import json  # pylint: disable=import-outside-toplevel
  records = [json.loads(l) for l in open(tmp_path / "jit8" / "metrics.jsonl")]
  assert records[0]["num_devices"] == 8 and records[0]["num_processes"] == 1


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.e2e
def test_two_processes_match_one(one_device_run, tmp_path):
  """Two local processes (2 fake CPU devices each, gloo collectives over 127.0.0.1) train the same
  model as one process on one device; only process 0 writes the metrics and pictures."""
  port = _free_port()
  procs = []
  for pid in range(2):
    overrides = [f"--config.{k}={v}" for k, v in OVERRIDES.items()]
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "jaxgan.cli", "train", *overrides, "--workdir", str(tmp_path),
         "--coordinator_address", f"127.0.0.1:{port}", "--num_processes", "2", "--process_id",
         str(pid), "--init_timeout", "120"],
        env=_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  outs = [p.communicate(timeout=600) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  assert "4 cpu device(s) in 2 process(es)" in outs[0][0]
  assert "step" not in outs[1][0]  # process 1 prints nothing of the progress
  _assert_same(_final_state(one_device_run), _final_state(tmp_path))


@pytest.mark.parametrize("args, devices, message", [
    (["--config.batch_size=30", "--config.num_devices=8"], 8, "batch_size"),
    (["--config.num_devices=16"], 8, "num_devices"),
    (["--coordinator_address", "127.0.0.1:1", "--num_processes", "2", "--process_id", "1",
      "--init_timeout", "2"], 1, "coordinator_address"),
])
def test_bad_parallel_input_is_a_one_line_error(args, devices, message, tmp_path):
  out = _cli(["--workdir", str(tmp_path)] + args, devices=devices)
  assert out.returncode == 2, out.stderr[-2000:]
  err = [l for l in out.stderr.strip().splitlines() if "WARNING" not in l]
  assert len(err) == 1 and message in err[0] and "Traceback" not in out.stderr, out.stderr[-2000:]


def test_the_compiled_step_runs_xla_convolutions_outside_ynn_fusions():
  """``DataParallel.compile_step`` (the trainer's one compile) uses ``ops.compiler_options()``:
  a step whose convolution is XLA's own (the 'direct' form) keeps it out of YNNPACK fusions."""
  from jaxgan import ops  # pylint: disable=import-outside-toplevel
  from test_ops import _convolutions_in_ynn_fusions  # pylint: disable=import-outside-toplevel

  def make_step(**_):
    def train_step(kernel, batch):
      loss = lambda k: jnp.sum(ops.conv2d(batch[0], k, form="direct") ** 2)
      return kernel - 1e-3 * jax.grad(loss)(kernel), {"loss": loss(kernel)}
    return train_step

  c = config_lib.load_config("default")
  c.batch_size, c.num_devices = 2, 1
  dp = train_lib.parallel_lib.DataParallel(c)
  ker, batch = jnp.ones((3, 3, 32, 32)), jnp.ones((1, 2, 8, 8, 32))
  compiled = dp.compile_step(make_step, dp.put_state(ker), dp.put_batch(batch))
  hlo = compiled.as_text()
  assert " convolution(" in hlo and _convolutions_in_ynn_fusions(hlo) == 0

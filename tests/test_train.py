"""Tests of the train step, the training program and the command line (issue: one compiled train step).

Tiny networks (hidden width 16-32) keep each compile to a second or two on 2 CPU cores.
"""

from __future__ import annotations

import functools
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import cli
from jaxgan import config as config_lib
from jaxgan import data as data_lib
from jaxgan import models
from jaxgan import state as state_lib
from jaxgan import step as step_lib
from jaxgan import train as train_lib
from jaxgan.metrics import evaluation

TINY = {"hidden_dim": 32, "batch_size": 32, "eval_samples": 200, "log_every": 1}


def tiny_config(name="default", **overrides):
  c = config_lib.load_config(name)
  for k, v in {**TINY, **overrides}.items():
    c[k] = v
  return config_lib.validate(c)


def setup(config):
  shape = data_lib.make_dataset(config.dataset, config.seed).sample_shape
  g, d = models.build(config, tuple(shape))
  g_tx, d_tx = state_lib.make_optimizers(config)
  st = state_lib.init_state(config, g, d, g_tx, d_tx, tuple(shape))
  return g, d, g_tx, d_tx, st


def params_close(a, b, rtol, atol):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------------
# The step
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides", [{}, {"loss": "hinge", "gp_weight": 0.0}])
def test_compiled_critic_loop_equals_separate_updates(overrides):
  """The n_critic loop inside one compiled step (scan and unrolled) equals n_critic critic updates
  jitted one by one, then the generator update, with the same keys; both loop forms report the same
  metrics (those of the last critic update). Without a penalty the scan skips the metrics-only slope
  measurement in all but the last update: the hinge case checks that path."""
  config = tiny_config(n_critic=3, batch_size=16, **overrides)
  g, d, g_tx, d_tx, st0 = setup(config)
  ds = data_lib.make_dataset(config.dataset, config.seed)
  reals = jnp.asarray(ds.batch(0, 3, 16))
  upd = step_lib.make_updates(config, g, d, g_tx, d_tx)
  # Reference: separate jitted calls.
  critic_keys, g_key = jax.jit(upd.step_keys)(st0)
  critic_update = jax.jit(upd.critic_update)
  ref = st0
  for k in range(3):
    ref, _ = critic_update(ref, reals[k], critic_keys[k])
  ref, _ = jax.jit(upd.generator_update, static_argnums=2)(ref, g_key, 16)
  reported = {}
  for loop in ("scan", "unroll"):
    config.critic_loop = loop
    step = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))
    out, metrics = step(st0, reals)
    reported[loop] = metrics
    assert int(out.step) == 1
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert float(metrics["grad_norm"]) > 0  # measured on the last update in both forms
    # Same operations in a different compilation unit: XLA may fuse and reorder float math, so allow
    # a few float32 ulps of drift through 3 Adam updates (relative 1e-5, absolute 1e-6).
    params_close(out.d_params, ref.d_params, rtol=1e-5, atol=1e-6)
    params_close(out.g_params, ref.g_params, rtol=1e-5, atol=1e-6)
  for k, v in reported["scan"].items():
    np.testing.assert_allclose(float(v), float(reported["unroll"][k]), rtol=1e-4, atol=1e-6,
                               err_msg=k)


def test_critic_loss_falls_on_fixed_data():
  """With the generator (almost) frozen, the critic's W-loss on the same real batch goes down."""
  config = tiny_config(n_critic=5, g_lr=1e-12, d_lr=1e-3, num_steps=30)
  g, d, g_tx, d_tx, st = setup(config)
  reals = jnp.asarray(data_lib.make_dataset("ring8", 0).batch(0, 5, 32))
  step = step_lib.jit_train_step(step_lib.make_train_step(config, g, d, g_tx, d_tx))
  losses = []
  for _ in range(30):
    st, m = step(st, reals)
    losses.append(float(m["critic_loss"]))
  # The critic loss E[c(fake)] - E[c(real)] starts near 0 (random critic) and must fall well below.
  assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.1, losses


def test_weight_clipping_after_update_and_every_loss_family():
  """Each loss family runs; with wgan every critic weight lies in [-c, c] after the step."""
  for loss, extra in (("gan", {"gp_weight": 0.0}), ("nsgan", {"gp_weight": 0.0}),
                      ("wgan", {"gp_weight": 0.0, "clip_value": 0.01, "optimizer": "rmsprop"}),
                      ("hinge", {"gp_weight": 0.0})):
    config = tiny_config(loss=loss, n_critic=2, hidden_dim=16, **extra)
    g, d, g_tx, d_tx, st = setup(config)
    reals = jnp.asarray(data_lib.make_dataset("ring8", 0).batch(0, 2, 32))
    st, m = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))(st, reals)
    assert all(np.isfinite(float(v)) for v in m.values()), (loss, m)
    assert float(m["penalty"]) == 0.0
    if loss == "wgan":
      assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(st.d_params)) <= 0.01 + 1e-7


def test_dcgan_step_on_digits_and_generator_batch_stats():
  """The image path: digits batches, DCGAN with generator batch norm, finite metrics; the generator's
  running statistics change with the generator update."""
  config = tiny_config("digits_wgan_gp", base_channels=8, batch_size=8, n_critic=2, latent_dim=8)
  g, d, g_tx, d_tx, st = setup(config)
  before = jax.tree.map(jnp.copy, st.g_state)
  reals = jnp.asarray(data_lib.make_dataset("digits", 0).batch(0, 2, 8))
  assert reals.shape == (2, 8, 8, 8, 1)
  st, m = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))(st, reals)
  assert all(np.isfinite(float(v)) for v in m.values())
  changed = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(before),
                                                    jax.tree.leaves(st.g_state))]
  assert any(changed)
  z = jax.random.normal(jax.random.PRNGKey(3), (3, 8))
  out = step_lib.generate(g, st, z)
  assert out.shape == (3, 8, 8, 1)
  # Sampling uses the running statistics: a sample does not depend on the rest of its batch.
  np.testing.assert_allclose(step_lib.generate(g, st, z[1:2])[0], out[1], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# The program and the command line
# ----------------------------------------------------------------------------------------------------
def _cli_train(workdir, *overrides, config=None):
  args = ["train", "--workdir", str(workdir)] + (["--config", config] if config else [])
  tiny = [f"--config.{k}={v}" for k, v in TINY.items()]
  return cli.main(args + tiny + list(overrides))


@pytest.mark.e2e
def test_default_config_end_to_end(tmp_path, capsys):
  """`jaxgan train` on the default config for a few steps: finite metrics, checkpoints, pictures, and
  `jaxgan sample` gives [N, 2] float32."""
  rc = _cli_train(tmp_path, "--config.num_steps=4", "--config.eval_every=2",
                  "--config.checkpoint_every=2")
  out = capsys.readouterr().out
  assert rc == 0, out
  assert "steps/s" in out and "ETA" in out and "done:" in out
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  train_records = [r for r in records if r["kind"] == "train"]
  assert [r["step"] for r in train_records] == [1, 2, 3, 4]
  for r in train_records:
    for k in ("critic_loss", "penalty", "g_loss", "w_estimate", "grad_norm"):
      assert np.isfinite(r[k]), (k, r)
  evals = [r for r in records if r["kind"] == "eval"]
  assert [r["step"] for r in evals] == [2, 4]
  assert evals[-1]["num_modes"] == 8 and "high_quality_fraction" in evals[-1]
  assert evals[-1]["w1"] > 0 and evals[-1]["w1_protocol"]["num_real"] == 200
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["2", "4"]
  for r in evals:
    assert os.path.getsize(tmp_path / r["picture"]) > 1000
  out_file = tmp_path / "s.npy"
  assert cli.main(["sample", "--workdir", str(tmp_path), "--num", "37", "--seed", "3",
                   "--out", str(out_file)]) == 0
  samples = np.load(out_file)
  assert samples.shape == (37, 2) and samples.dtype == np.float32
  # `jaxgan evaluate` appends the config's metrics for the newest checkpoint.
  assert cli.main(["evaluate", "--workdir", str(tmp_path)]) == 0
  last = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")][-1]
  assert last["source"] == "jaxgan evaluate" and last["step"] == 4 and "modes_captured" in last


@pytest.mark.e2e
@pytest.mark.parametrize("config_name, extra", [
    ("default", []),
    ("digits_wgan_gp", ["--config.base_channels=4", "--config.batch_size=8",
                        "--config.latent_dim=8", "--config.eval_samples=64"]),
])
def test_resume_continues_exactly(config_name, extra, tmp_path, capsys):
  """A run stopped at step 7 and resumed to step 12 ends with exactly the parameters, optimizer
  states, EMA and key of an uninterrupted 12-step run (same batches, same keys: everything is a
  function of seed and step), for a toy run and a dataset run; then `jaxgan evaluate` on it."""
  # num_steps grows from 7 to 12 on resume, which a linear learning-rate decay (a function of
  # num_steps) forbids: constant here. (The schedule's position is the optimizer's count, in the state.)
  common = ["--config.checkpoint_every=100", "--config.lr_schedule=constant", *extra]

  def train(workdir, steps):
    return _cli_train(workdir, f"--config.num_steps={steps}", *common, config=config_name)

  assert train(tmp_path / "whole", 12) == 0
  assert train(tmp_path / "split", 7) == 0
  assert train(tmp_path / "split", 12) == 0
  assert "resuming from the checkpoint of step 7" in capsys.readouterr().out
  config = tiny_config(config_name, num_steps=12, lr_schedule="constant")
  for arg in extra:
    field, value = arg[len("--config."):].split("=")
    config[field] = int(value)
  whole = train_lib.Run(config, str(tmp_path / "whole")).restore()
  split = train_lib.Run(config, str(tmp_path / "split")).restore()
  assert int(whole.step) == int(split.step) == 12
  for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(split)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # bit-exact on CPU
  assert cli.main(["evaluate", "--workdir", str(tmp_path / "split")]) == 0
  last = [json.loads(line) for line in open(tmp_path / "split" / "metrics.jsonl")][-1]
  assert last["source"] == "jaxgan evaluate" and last["step"] == 12


@pytest.mark.e2e
def test_resume_refuses_a_different_config(tmp_path, capsys):
  assert _cli_train(tmp_path, "--config.num_steps=1") == 0
  capsys.readouterr()
  assert _cli_train(tmp_path, "--config.num_steps=2", "--config.gp_weight=5") == 2
  err = capsys.readouterr().err
  assert "gp_weight" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, field", [
    (["--config.no_such_field=1"], "no_such_field"),
    (["--config.n_critic=0"], "n_critic"),
    (["--config.gp_weight=-1"], "gp_weight"),
    (["--config.batch_size=0"], "batch_size"),
    (["--config.dataset=mnistt"], "dataset"),
    (["--config.loss=wgan-gp"], "loss"),
    (["--config.n_critic=abc"], "n_critic"),
    (["--config.loss=wgan", "--config.gp_weight=0"], "clip_value"),
    (["--config", "/nonexistent/config.py"], "config"),
    (["--config", "ring8_gan_pacgan", "--config.latent_dim=3"], "latent_dim"),
    (["--config", "ring8_gan_pacgan", "--config.dataset=digits"], "model"),
])
def test_config_errors_are_one_line_before_compile(args, field, tmp_path, capsys, monkeypatch):
  compiled = []
  monkeypatch.setattr(step_lib, "make_train_step", lambda *a, **k: compiled.append(1))
  rc = cli.main(["train", "--workdir", str(tmp_path)] + args)
  err = capsys.readouterr().err
  assert rc == 2
  assert len(err.strip().splitlines()) == 1, err
  assert field in err and "Traceback" not in err
  assert not compiled
  assert not os.path.exists(tmp_path / "checkpoints")


def test_unreadable_config_file(tmp_path, capsys):
  bad = tmp_path / "bad.py"
  bad.write_text("def get_config(:\n")
  assert cli.main(["train", "--config", str(bad), "--workdir", str(tmp_path / "w")]) == 2
  err = capsys.readouterr().err
  assert "cannot read" in err and len(err.strip().splitlines()) == 1


def test_every_shipped_config_validates():
  for name in config_lib.available_configs():
    config_lib.validate(config_lib.load_config(name))


@pytest.mark.slow
def test_ring8_wgan_gp_captures_all_modes(tmp_path):
  """The full ring8_wgan_gp config (minutes) covers all 8 modes."""
  config = config_lib.load_config("ring8_wgan_gp")
  train_lib.train_and_evaluate(config, str(tmp_path))
  final = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")][-1]
  assert final["kind"] == "eval" and final["modes_captured"] == 8, final


@pytest.mark.e2e
@pytest.mark.parametrize("name, overrides", [
    ("ring8_sngan", {"hidden_dim": 16}),
    # a tiny critic lr keeps the last Adam step's change of sigma_1 (see below) far below the check
    ("digits_sngan", {"base_channels": 4, "batch_size": 8, "latent_dim": 8, "d_lr": 1e-6}),
])
def test_sn_configs_train_and_audit(name, overrides, tmp_path):
  """The SN configs train a few steps end to end; u is carried through the compiled critic updates
  (it changes), evaluation leaves it alone, and the audit reports sigma_est ~ SVD per layer."""
  config = config_lib.load_config(name)
  for k, v in {**TINY, **overrides, "num_steps": 3, "eval_every": 0,
               "checkpoint_every": 100}.items():
    config[k] = v
  run = train_lib.Run(config_lib.validate(config), str(tmp_path))
  u0 = jax.tree.map(np.asarray, run.fresh_state().d_state["spectral"])
  state = train_lib.train_and_evaluate(config, str(tmp_path))
  u3 = jax.tree.map(np.asarray, state.d_state["spectral"])
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(u0), jax.tree.leaves(u3)))
  record = evaluation.evaluate(run, state)
  u_after_eval = jax.tree.map(np.asarray, state.d_state["spectral"])
  for a, b in zip(jax.tree.leaves(u3), jax.tree.leaves(u_after_eval)):
    np.testing.assert_array_equal(a, b)
  audit = record["spectral_audit"]
  assert len(audit) == len(jax.tree.leaves(u3)) // 2  # one u and one sigma per layer
  for layer, entry in audit.items():
    # 3 steps of one power iteration each from a random u: power iteration approaches sigma_1 from
    # below, but the stored estimate is that of the kernel BEFORE the last Adam step, which can
    # shrink sigma_1 by at most ||dW||_2 <= ||dW||_F <= sqrt(numel) * max|step|; Adam's step with
    # bias correction and b1 = 0 is at most lr * sqrt((1 - b2^t) / (1 - b2)) per entry (3.2 lr for
    # b2 = 0.9). Plus 1e-5 for float32 rounding of the estimate.
    kernel = np.asarray(functools.reduce(lambda t, k: t[k], layer.split("/"), state.d_params)["kernel"])
    step_bound = config.d_lr * math.sqrt((1 - config.b2 ** 3) / (1 - config.b2)) * math.sqrt(kernel.size)
    assert entry["sigma_estimate"] <= entry["sigma_svd"] * (1 + 1e-5) + step_bound, (layer, entry)
    assert entry["normalized_sigma_svd"] < 1.5, (layer, entry)
  if name == "digits_sngan":
    assert any("operator_norm" in e for e in audit.values())
    assert np.isfinite(record["digits_fd"])
    assert record["digits_fd_protocol"]["feature_extractor"] == "digits_mlp_hidden128"


@pytest.mark.slow
def test_inception_metrics_in_evaluation(tmp_path, monkeypatch):
  """FID/KID/IS through the evaluation with random Inception weights (the real file cannot be
  downloaded here): values finite, protocols written, reference statistics cached and refused when
  the protocol changes."""
  from jaxgan.metrics import inception  # pylint: disable=import-outside-toplevel
  weights = tmp_path / "w.pth"
  weights.write_bytes(b"stand-in")
  monkeypatch.setattr(inception, "load_inception_params", lambda path: inception.init_inception_params(0))
  config = tiny_config("digits_wgan_gp", base_channels=4, batch_size=8, n_critic=1, latent_dim=8,
                       eval_samples=10, num_steps=1, checkpoint_every=100)
  config.inception_weights = str(weights)
  state = train_lib.train_and_evaluate(config, str(tmp_path / "run"))
  record = [json.loads(l) for l in open(tmp_path / "run" / "metrics.jsonl")][-1]
  for key in ("fid", "kid", "inception_score"):
    assert np.isfinite(record[key]) and record[key + "_protocol"]["num_fake"] == 10
  assert os.path.exists(tmp_path / "run" / "reference_digits_10.npz")
  # The real-vs-real baselines (two disjoint sets of 10 digits), kept in the reference cache.
  assert record["fid_real_num"] == 10 and np.isfinite(record["fid_real"])
  assert np.isfinite(record["kid_real"])
  with np.load(tmp_path / "run" / "reference_digits_10.npz") as z:
    assert float(z["fid_real"]) == record["fid_real"]
  weights.write_bytes(b"another file")  # another hash: the cached reference must be refused
  with pytest.raises(ValueError, match="different protocol"):
    evaluation.evaluate(train_lib.Run(config, str(tmp_path / "run")), state)


@pytest.mark.slow
def test_ring8_sngan_captures_all_modes(tmp_path):
  config = config_lib.load_config("ring8_sngan")
  train_lib.train_and_evaluate(config, str(tmp_path))
  final = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")][-1]
  assert final["kind"] == "eval" and final["modes_captured"] == 8, final


@pytest.mark.e2e
def test_compilation_cache_makes_a_rerun_start_without_compiling(tmp_path):
  """`jaxgan train` in a fresh process writes the compiled step to the persistent cache
  (--compilation_cache); a second process with the same config finds it there (JAX logs a cache hit)."""
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  cache = tmp_path / "cache"
  # JAX writes only compiles longer than jax_persistent_cache_min_compile_time_secs (1 s by default) to
  # the cache; this tiny step compiles in less than that on quiet cores, so the threshold is 0 here.
  env = {**os.environ, "JAXGAN_COMPILATION_CACHE": str(cache), "JAX_LOGGING_LEVEL": "DEBUG",
         "JAX_PLATFORMS": "cpu", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}

  def run(workdir):
    args = [sys.executable, "-m", "jaxgan.cli", "train", "--workdir", str(tmp_path / workdir),
            "--config.num_steps=2", "--config.eval_every=0", "--config.hidden_dim=16",
            "--config.batch_size=16", "--config.eval_samples=100", "--config.log_every=1"]
    p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout + p.stderr

  run("a")
  assert cache.is_dir() and os.listdir(cache), "nothing was written to the compilation cache"
  second = run("b")
  assert "Persistent compilation cache hit" in second, second[-3000:]


def test_auto_critic_loop_unrolls_only_xla_convolutions_on_cpu():
  assert jax.default_backend() == "cpu"
  for model, conv_impl, want in (("mlp", "xla", "scan"), ("mlp", "auto", "scan"),
                                 ("dcgan", "im2col", "scan"), ("dcgan", "auto", "scan"),
                                 ("dcgan", "xla", "unroll"), ("wgan_gp_resnet", "xla", "unroll")):
    c = config_lib.base_config()
    c.model, c.conv_impl = model, conv_impl
    assert step_lib.resolve_critic_loop(c) == want, (model, conv_impl)
  c.critic_loop = "scan"
  assert step_lib.resolve_critic_loop(c) == "scan"

"""Tests of jaxgan.step: the spec, the penalty against jaxgan.losses, retracing, bf16 compute, and the
sharded step on several (fake CPU) devices.

Tiny networks keep each compile to a second or two on 2 CPU cores; multi-device checks run in a
subprocess (XLA_FLAGS must be set before jax is imported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fake_devices

from jaxgan import config as config_lib
from jaxgan import data as data_lib
from jaxgan import losses
from jaxgan import models
from jaxgan import state as state_lib
from jaxgan import step as step_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"hidden_dim": 32, "batch_size": 32, "eval_samples": 200, "log_every": 1}


def tiny_config(name="default", **overrides):
  c = config_lib.load_config(name)
  for k, v in {**TINY, **overrides}.items():
    c[k] = v
  return config_lib.validate(c)


def setup(config):
  shape = tuple(data_lib.make_dataset(config.dataset, config.seed).sample_shape)
  g, d = models.build(config, shape)
  g_tx, d_tx = state_lib.make_optimizers(config)
  st = state_lib.init_state(config, g, d, g_tx, d_tx, shape)
  return g, d, g_tx, d_tx, st


def reals_for(config, step=0):
  ds = data_lib.make_dataset(config.dataset, config.seed)
  return jnp.asarray(ds.batch(step, config.n_critic, config.batch_size))


def test_spec_reads_the_config_once():
  config = tiny_config(gp_weight=10.0, gp_target=2.0, critic_loop="scan")
  g, d, g_tx, d_tx, _ = setup(config)
  spec = step_lib.make_spec(config, g, d, g_tx, d_tx)
  config.gp_weight = 0.0  # the spec is a snapshot: later edits of the config change nothing
  assert spec.has_penalty and spec.gp_scale == 10.0 / 4.0 and spec.loop == "scan"
  assert spec.compute_dtype == jnp.float32 and not spec.separate_passes
  with pytest.raises(dataclasses_frozen_error()):
    spec.n_critic = 3  # frozen


def dataclasses_frozen_error():
  import dataclasses  # pylint: disable=import-outside-toplevel
  return dataclasses.FrozenInstanceError


def test_critics_declare_whether_they_couple_the_batch():
  """The PGGAN critic's minibatch stddev couples the samples of a batch; no other critic does."""
  assert models.ProgressiveCritic(mbstd_group_size=4).couples_batch
  assert not models.ProgressiveCritic(mbstd_group_size=1).couples_batch
  for critic in (models.MLPCritic(), models.DCGANCritic(), models.SNGANCNNCritic(),
                 models.ResNetCritic()):
    assert critic.couples_batch is False, type(critic).__name__


@pytest.mark.parametrize("overrides", [{}, {"gp_target": 0.05, "gp_one_sided": True}])
def test_step_penalty_equals_losses_gradient_penalty(overrides):
  """The penalty the critic update reports is ``losses.gradient_penalty`` of the same critic at the
  same reals and fakes with the same interpolation key (no torch needed): the fakes are rebuilt from
  the update's latent key as the step draws them (``split(key)`` -> latent key, interpolation key)."""
  config = tiny_config(n_critic=1, **overrides)
  g, d, g_tx, d_tx, st = setup(config)
  upd = step_lib.make_updates(config, g, d, g_tx, d_tx)
  real = reals_for(config)[0]
  key = jax.random.PRNGKey(7)
  _, metrics = jax.jit(upd.critic_update)(st, real, key)
  z_key, eps_key = jax.random.split(key)
  z = step_lib.latents(z_key, real.shape[0], config.latent_dim)
  fake = g.apply({"params": st.g_params, **st.g_state}, z, train=True)
  critic_fn = lambda x: d.apply({"params": st.d_params, **st.d_state}, x)
  want = losses.gradient_penalty(critic_fn, real, fake, eps_key, target=config.gp_target,
                                 one_sided=config.gp_one_sided)
  assert float(want) > 0
  # Same float32 operations in another compilation unit: a few ulps (relative 1e-5).
  np.testing.assert_allclose(float(metrics["penalty"]), float(want), rtol=1e-5, atol=1e-7)


def test_compiled_step_does_not_retrace():
  """Several calls with new data (and new states) run one trace of the step."""
  config = tiny_config(n_critic=2)
  g, d, g_tx, d_tx, st = setup(config)
  step = step_lib.make_train_step(config, g, d, g_tx, d_tx)
  traces = []

  def counted(state, reals):
    traces.append(1)
    return step(state, reals)

  jitted = jax.jit(counted, donate_argnums=(0,))
  for i in range(4):
    st, m = jitted(st, reals_for(config, step=i))
  jax.block_until_ready(m)
  assert int(st.step) == 4 and len(traces) == 1


@pytest.mark.parametrize("loss, gp_weight, clip_value", [
    ("gan", 0.0, 0.0), ("nsgan", 0.0, 0.0), ("wgan", 0.0, 0.01), ("wgan_gp", 10.0, 0.0),
    ("hinge", 0.0, 0.0), ("hinge", 10.0, 0.0)])
def test_bf16_every_loss_family_and_the_penalty_are_finite(loss, gp_weight, clip_value):
  """One bf16 step of every loss family (and a penalty on a non-WGAN family): finite metrics, and
  parameters, optimizer states and statistics still float32."""
  config = tiny_config(loss=loss, gp_weight=gp_weight, clip_value=clip_value, n_critic=2,
                       compute_dtype="bfloat16")
  g, d, g_tx, d_tx, st = setup(config)
  out, metrics = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))(st, reals_for(config))
  for k, v in metrics.items():
    assert v.dtype == jnp.float32 and np.isfinite(float(v)), (k, v)
  if gp_weight:
    assert float(metrics["penalty"]) > 0
  leaves = jax.tree.leaves((out.g_params, out.d_params, out.g_opt_state, out.d_opt_state,
                            out.g_state, out.d_state))
  assert all(x.dtype in (jnp.float32, jnp.int32) for x in leaves)


def test_bf16_batch_norm_and_spectral_norm_statistics_stay_float32():
  """A DCGAN generator (batch norm) and a spectrally normalised critic in bf16: finite step; batch
  statistics and power-iteration vectors stay float32."""
  config = tiny_config("digits_sngan", batch_size=8, n_critic=1, base_channels=4,
                       spectral_norm=True, loss="hinge", gp_weight=0.0, compute_dtype="bfloat16")
  g, d, g_tx, d_tx, st = setup(config)
  out, metrics = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))(st, reals_for(config))
  assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
  assert jax.tree.leaves(out.g_state) and jax.tree.leaves(out.d_state)
  for x in jax.tree.leaves((out.g_state, out.d_state)):
    assert x.dtype == jnp.float32


def test_bf16_step_is_close_to_the_f32_step():
  """One step from the same state in bf16 and f32 on the toy (MLP 2x32, ring8, batch 32).

  Tolerance: bfloat16 keeps 8 significant bits (relative rounding 2^-9 = 0.2% per operation); the
  losses come out of 3 layers of sums of 32-64 terms whose roundings partly cancel, so 3% relative
  (with 1e-2 absolute for losses near 0) bounds them with room, while a bf16 bug (a wrong cast, a
  loss in bf16 losing the penalty, a stale value) moves them by far more. The generator's gradient
  norm (a sum over all parameters of bf16-rounded gradients) gets the same 3%.
  """
  base = tiny_config(n_critic=2)
  g, d, g_tx, d_tx, st = setup(base)
  reals = reals_for(base)
  out = {}
  for dtype in ("float32", "bfloat16"):
    config = tiny_config(n_critic=2, compute_dtype=dtype)
    out[dtype] = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))(st, reals)[1]
  for k in ("critic_loss", "penalty", "w_estimate", "g_loss", "g_grad_norm", "grad_norm"):
    np.testing.assert_allclose(float(out["bfloat16"][k]), float(out["float32"][k]), rtol=3e-2,
                               atol=1e-2, err_msg=k)


def test_unknown_compute_dtype_is_a_one_line_error():
  config = config_lib.load_config("default")
  config.compute_dtype = "float16"
  with pytest.raises(config_lib.ConfigError, match="compute_dtype must be one of float32, bfloat16"):
    config_lib.validate(config)


@pytest.mark.slow
def test_ring8_wgan_gp_in_bf16_captures_all_modes(tmp_path):
  """The full ring8_wgan_gp config with bf16 compute (minutes) still covers all 8 modes."""
  from jaxgan import train as train_lib  # pylint: disable=import-outside-toplevel
  config = config_lib.load_config("ring8_wgan_gp")
  config.compute_dtype = "bfloat16"
  train_lib.train_and_evaluate(config, str(tmp_path))
  final = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")][-1]
  assert final["kind"] == "eval" and final["modes_captured"] == 8, final


@pytest.mark.slow
def test_sharded_step_draws_the_same_randomness_on_1_2_and_8_devices():
  """Under jit on a mesh the latents and interpolation weights are drawn sharded (each device its
  rows; threefry is partitionable in the pinned jax) and equal the one-device draws; the step's
  metrics and parameters on 2 and 8 devices equal those on 1 (up to float reduction order)."""
  script = textwrap.dedent("""
      import json, sys
      import jax, jax.numpy as jnp, numpy as np
      from jax.sharding import NamedSharding, PartitionSpec as P
      from jaxgan import config as config_lib, data, models, parallel, state as state_lib, step
      assert jax.config.jax_threefry_partitionable
      out = {}
      for n in (1, 2, 8):
        c = config_lib.load_config("default")
        c.hidden_dim, c.batch_size, c.n_critic, c.num_devices = 32, 32, 2, n
        dp = parallel.DataParallel(c)
        key = jax.random.PRNGKey(3)
        draw = jax.jit(lambda k: (step.shard_batch(step.latents(k, 32, 2)),
                                  step.shard_batch(jax.random.uniform(k, (32, 1)))))
        with jax.set_mesh(dp.mesh):
          z, eps = draw(key)
        g, d = models.build(c, (2,))
        g_tx, d_tx = state_lib.make_optimizers(c)
        st = state_lib.init_state(c, g, d, g_tx, d_tx, (2,))
        reals = data.make_dataset(c.dataset, c.seed).batch(0, 2, 32)
        fn = dp.compile_step(lambda **kw: step.make_train_step(c, g, d, g_tx, d_tx, **kw),
                             dp.put_state(st), dp.put_batch(reals))
        new, m = fn(dp.put_state(st), dp.put_batch(reals))
        out[n] = {"z": np.asarray(z).tolist(), "eps": np.asarray(eps).tolist(),
                  "z_shards": len(z.addressable_shards) if n > 1 else 1,
                  "metrics": dp.metrics(m),
                  "g": np.concatenate([np.ravel(x) for x in jax.tree.leaves(
                      dp.host_state(new).g_params)]).tolist()}
      print(json.dumps(out))
  """)
  env = dict(os.environ, XLA_FLAGS=fake_devices.xla_flags(8), JAX_PLATFORMS="cpu",
             PYTHONPATH=ROOT)
  res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=600)
  assert res.returncode == 0, res.stderr[-3000:]
  out = json.loads(res.stdout.strip().splitlines()[-1])
  for n in ("2", "8"):
    assert out[n]["z_shards"] == int(n)
    np.testing.assert_array_equal(out[n]["z"], out["1"]["z"])  # bit-identical draws
    np.testing.assert_array_equal(out[n]["eps"], out["1"]["eps"])
    for k, v in out["1"]["metrics"].items():
      # Float32 means of 32 terms summed in another order: a few ulps (relative 1e-5).
      np.testing.assert_allclose(out[n]["metrics"][k], v, rtol=1e-5, atol=1e-6, err_msg=k)
    # Parameters after 2 Adam updates at lr 1e-4 (see tests/test_parallel.py's ATOL).
    np.testing.assert_allclose(out[n]["g"], out["1"]["g"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("arch", ["mlp", pytest.param("dcgan32", marks=pytest.mark.slow)])
def test_scaling_efficiency_of_the_sharded_step(arch, tmp_path):
  """benchmarks/scaling.py on tiny shapes: the MLP and DCGAN WGAN-GP steps on 8 devices do >= 0.9 of
  ideal weak scaling (per-device FLOPs <= 1/(0.9 x 8) of one device's), their only collectives are
  the gradient and metric all-reduces (<= 1.1 x n_critic x critic + generator parameter bytes, plus
  metrics) and nothing per-example is all-gathered."""
  out = subprocess.run(
      [sys.executable, os.path.join(ROOT, "benchmarks", "scaling.py"), "--tiny", "--archs", arch,
       "--losses", "wgan_gp", "--devices", "1", "8", "--no-pmap", "--json",
       str(tmp_path / "s.json")], env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
      text=True, timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  doc = json.load(open(tmp_path / "s.json"))
  rows = [r for r in doc["records"] if r["devices"] == 8]
  assert [r["arch"] for r in rows] == [arch]
  for r in rows:
    assert r["efficiency"] >= 0.9, r
    assert set(r["collectives"]) == {"all-reduce"}, r["collectives"]
    assert r["collective_bytes"] <= 1.1 * r["budget_bytes"] + 1024, r
    assert not r["per_example_gathers"], r


@pytest.mark.e2e  # a subprocess compiling two 8-device steps (~25 s): CI runs it after the suite
def test_winograd_layers_keep_the_collective_budget_of_the_im2col_step():
  """conv_impl='winograd' on 8 devices: a DCGAN WGAN-GP step whose 16 -> 32 4x4 stride-2 layer
  runs conv2d's 'winograd' form all-reduces exactly what the same step with conv_impl='im2col'
  (that layer's patches) does, within the budget. (Outside the critic's shard_map, XLA's
  partitioner would all-reduce each of the 9 transformed-domain kernel gradients: 2.25x that
  kernel's bytes.)"""
  script = textwrap.dedent("""
      import json, sys
      sys.path.insert(0, "benchmarks")
      import scaling
      from jaxgan import ops
      scaling.TINY["dcgan32"] = ("dcgan", (32, 32, 3), {"base_channels": 16, "latent_dim": 16}, 64)
      case_config = scaling.case_config
      def one_critic_update(*a):  # the unrolled loop's updates are alike: 1 compiles 3x faster
        config, *rest = case_config(*a)
        config.n_critic = 1
        return (config, *rest)
      scaling.case_config = one_critic_update
      winograd, out = ops._conv2d_winograd, {}
      for impl in ("winograd", "im2col"):
        calls = []
        ops._conv2d_winograd = lambda *a: calls.append(a[1].shape) or winograd(*a)
        r = scaling.measure("dcgan32", "wgan_gp", 8, "jit", tiny=True, conv_impl=impl)
        out[impl] = {"calls": len(calls), "collectives": r["collectives"],
                     "bytes": r["collective_bytes"], "budget": r["budget_bytes"]}
      print(json.dumps(out))
  """)
  env = dict(os.environ, XLA_FLAGS=fake_devices.xla_flags(8), JAX_PLATFORMS="cpu",
             PYTHONPATH=ROOT)
  res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=900, cwd=ROOT)
  assert res.returncode == 0, res.stderr[-3000:]
  out = json.loads(res.stdout.strip().splitlines()[-1])
  assert out["winograd"]["calls"] > 0 and out["im2col"]["calls"] == 0, out
  assert set(out["winograd"]["collectives"]) == {"all-reduce"}, out
  assert out["winograd"]["bytes"] == out["im2col"]["bytes"], out
  assert out["winograd"]["bytes"] <= 1.1 * out["winograd"]["budget"] + 1024, out


@pytest.mark.slow
def test_pggan_step_on_8_devices_equals_1_device():
  """PGGAN's critic couples each minibatch-stddev group (sample i with i mod B/4); under jit the rows
  are regrouped so that each device holds whole groups of the GLOBAL batch: one step at a fade
  (stage 1, alpha 0.5) gives the same metrics and parameters on 8 devices as on 1."""
  script = textwrap.dedent("""
      import json
      import jax, numpy as np
      from jaxgan import config as config_lib, models, parallel, state as state_lib, step
      out = {}
      for n in (1, 8):
        c = config_lib.load_config("cifar10_pggan")
        c.fmap_base, c.fmap_max, c.batch_size, c.num_devices = 32, 16, 64, n
        dp = parallel.DataParallel(c)
        shape = (32, 32, 3)
        g, d = models.build(c, shape)
        g_tx, d_tx = state_lib.make_optimizers(c)
        st = state_lib.init_state(c, g, d, g_tx, d_tx, shape)
        reals = np.random.default_rng(0).uniform(-1, 1, (c.n_critic, 64, 8, 8, 3)).astype(np.float32)
        fn = dp.compile_step(lambda **kw: step.make_train_step(c, g, d, g_tx, d_tx, stage=1, **kw),
                             dp.put_state(st), dp.put_batch(reals), 0.5)
        new, m = fn(dp.put_state(st), dp.put_batch(reals), np.float32(0.5))
        host = dp.host_state(new)
        flat = lambda t: np.concatenate([np.ravel(x) for x in jax.tree.leaves(t)]).tolist()
        out[n] = {"metrics": dp.metrics(m), "g": flat(host.g_params), "d": flat(host.d_params)}
      print(json.dumps(out))
  """)
  env = dict(os.environ, XLA_FLAGS=fake_devices.xla_flags(8), JAX_PLATFORMS="cpu",
             PYTHONPATH=ROOT)
  res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=900)
  assert res.returncode == 0, res.stderr[-3000:]
  out = json.loads(res.stdout.strip().splitlines()[-1])
  for k, v in out["1"]["metrics"].items():
    # float32 means over 64 samples summed in another order: relative 1e-5 (a wrong grouping moves
    # the minibatch statistic, and so every score, by far more).
    np.testing.assert_allclose(out["8"]["metrics"][k], v, rtol=1e-5, atol=1e-6, err_msg=k)
  # One Adam update at lr 1e-3 (the config's): lr * g / (|g| + 1e-8) per entry, so an entry whose
  # gradient is within a few orders of magnitude of Adam's eps turns the reduction-order noise of g
  # into a visible fraction of lr (measured: max 9.9e-6 = 1% of lr). A wrong group or shard would move
  # most entries by ~lr; so: no entry off by 5% of lr, and at most 1% of entries off by > 1e-6.
  for net in ("d", "g"):
    a, b = np.asarray(out["8"][net]), np.asarray(out["1"][net])
    diff = np.abs(a - b)
    assert diff.max() <= 5e-5 and np.mean(diff > 1e-6) <= 0.01, (net, diff.max(),
                                                                  np.mean(diff > 1e-6))

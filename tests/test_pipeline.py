"""Tests of the input pipeline: jaxgan.data.pipeline (host side) and jaxgan.input_pipeline (trainer).

Expected values come from ``Dataset.batch`` with the global batch (the single-process reference,
tested against each dataset's construction in tests/test_data*.py) sliced to a process's columns, and
for progressive runs from ``ops.downscale_to`` of it. Image fixtures: tiny PNG folders in tmp_path.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import PIL.Image
import pytest

import fake_devices

from jaxgan import config as config_lib
from jaxgan import growing
from jaxgan import input_pipeline
from jaxgan import ops
from jaxgan import train as train_lib
from jaxgan.data import ImageFolder, make_dataset
from jaxgan.data import pipeline as pl
from jaxgan.data.toy import global_rows


def _folder(root, count, size=8, seed=0):
  images = np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)
  root.mkdir(parents=True, exist_ok=True)
  for i, image in enumerate(images):
    PIL.Image.fromarray(image).save(root / f"{i:03d}.png")
  return root


class _Counting(ImageFolder):
  """An image folder that records every row it decodes."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, cache_size=0, **kwargs)
    self.decoded: list[int] = []

  def _load(self, rows):
    self.decoded.extend(int(r) for r in rows)
    return super()._load(rows)


def _columns(full, p, count):
  b = full.shape[1] // count
  return full[:, p * b:(p + 1) * b]


# --- StepReader: a process's columns of the global batch, reading only its rows.


@pytest.mark.parametrize("name", ["ring8", "swiss_roll", "twentyfive_gaussians", "digits"])
def test_step_reader_in_memory_datasets(name):
  ds = make_dataset(name, 3)
  cache = pl.DecodedCache(ds, 1 << 20) if name == "digits" else None
  for step in (0, 4):
    full = ds.batch(step, 2, 12)
    parts = [pl.StepReader(ds, 2, 12, process_index=p, process_count=3, cache=cache)(step)
             for p in range(3)]
    for p, part in enumerate(parts):
      np.testing.assert_array_equal(part, _columns(full, p, 3))


@pytest.mark.parametrize("budget", [0, 1 << 20])
def test_step_reader_decodes_only_its_rows(tmp_path, budget):
  """Two processes of one image folder: each decodes exactly the rows of its own columns, and the
  two shares put side by side are the one-process batch."""
  root = _folder(tmp_path / "f", 40)
  reference = make_dataset("image_folder", 1, data_dir=str(root), image_size=8)
  steps = range(3)  # 3 steps x 2 critic batches x 6 = 36 global examples < 40: one epoch.
  shares = []
  for p in range(2):
    ds = _Counting(1, root, 8)
    cache = pl.DecodedCache(ds, budget)
    reader = pl.StepReader(ds, 2, 6, process_index=p, process_count=2, cache=cache)
    shares.append([reader(s) for s in steps])
    mine = np.concatenate([ds.rows_of(global_rows(s, 2, 6, p, 2)).ravel() for s in steps])
    assert sorted(ds.decoded) == sorted(mine.tolist())
    assert cache.records_decoded == len(mine)
  for s in steps:
    np.testing.assert_array_equal(np.concatenate([shares[0][s], shares[1][s]], axis=1),
                                  reference.batch(s, 2, 6))


def test_decoded_cache_decodes_each_row_once_within_its_budget(tmp_path):
  root = _folder(tmp_path / "f", 10)
  ds = _Counting(0, root, 8)
  reference = make_dataset("image_folder", 0, data_dir=str(root), image_size=8)
  cache = pl.DecodedCache(ds, 10 * ds.decoded_nbytes)  # room for all
  assert cache.capacity == 10
  reader = pl.StepReader(ds, 3, 4, cache=cache)
  for s in range(5):  # 60 examples: 6 epochs of 10 images.
    np.testing.assert_array_equal(reader(s), reference.batch(s, 3, 4))
  assert sorted(ds.decoded) == list(range(10)) and cache.records_decoded == 10
  np.testing.assert_array_equal(cache.cached_rows(), np.arange(10))
  # A budget of 4 images keeps rows 0..3; the others are decoded at every read.
  ds = _Counting(0, root, 8)
  cache = pl.DecodedCache(ds, 4 * 8 * 8 * 3 + 5)
  assert cache.capacity == 4
  for _ in range(3):
    np.testing.assert_array_equal(cache.read(np.arange(10)), reference.read(np.arange(10)))
  assert sorted(ds.decoded) == sorted(list(range(10)) + 2 * list(range(4, 10)))


def test_step_reader_progressive_downscales_per_stage():
  config = config_lib.load_config("digits_pggan")
  schedule = growing.Schedule(config, 8)
  ds = make_dataset("digits", 0)
  reader = pl.StepReader(ds, config.n_critic, config.batch_size, process_index=1,
                         process_count=2, schedule=schedule, downscale=ops.downscale_to,
                         cache=pl.DecodedCache(ds, 1 << 20))
  second = next(p.start for p in schedule.phases if p.stage == 1)
  for step in (0, second):
    stage, _, b = schedule.at(step)
    res = schedule.resolutions[stage]
    expected = ops.downscale_to(ds.batch(step, config.n_critic, b), res)
    np.testing.assert_array_equal(reader(step), _columns(expected, 1, 2))
    assert reader(step).shape == reader.local_shape(step)
  assert reader.local_shape(0)[2] == 4 and reader.local_shape(second)[2] == 8


# --- HostBatches: grain prefetch in order, restarts, worker processes.


def test_host_batches_in_order_and_restart():
  ds = make_dataset("digits", 2)
  reader = pl.StepReader(ds, 2, 8, cache=pl.DecodedCache(ds, 1 << 20))
  host = pl.HostBatches(reader, 20, prefetch=3)
  try:
    for s in [0, 1, 2, 7, 8, 3]:  # 7 and 3 are not the next step: the iterator starts over.
      x, seconds = host.get(s)
      np.testing.assert_array_equal(x, ds.batch(s, 2, 8))
      assert seconds >= 0
  finally:
    host.close()


def test_worker_processes_share_one_decoded_cache(tmp_path):
  """Two grain worker processes prepare alternate steps; their batches are the single-process ones,
  and every row is decoded once into the cache they share (one epoch: no row repeats)."""
  root = _folder(tmp_path / "f", 48)
  ds = make_dataset("image_folder", 5, data_dir=str(root), image_size=8)
  cache = pl.DecodedCache(ds, 1 << 20, shared=True)
  assert cache.shared and os.path.exists(cache.path)
  host = pl.HostBatches(pl.StepReader(ds, 2, 4, cache=cache), 6, workers=2, prefetch=2)
  try:
    for s in range(6):  # 48 examples, one epoch.
      np.testing.assert_array_equal(host.get(s)[0], ds.batch(s, 2, 4))
  finally:
    host.close()
  assert cache.records_decoded == 48
  np.testing.assert_array_equal(cache.cached_rows(), np.arange(48))
  path = cache.path
  cache.close()
  assert not os.path.exists(path)


# --- InputPipeline: device placement, statistics, the data-wait warning.


class _HostOnly:
  """A DataParallel stand-in that keeps batches on the host (tests of timing and statistics)."""

  def put_local_batch(self, local, batch_size):
    del batch_size
    return local


class _Slow(ImageFolder):

  def _load(self, rows):
    import time  # pylint: disable=import-outside-toplevel
    time.sleep(0.02)
    return super()._load(rows)


def _config(**overrides):
  c = config_lib.load_config("digits_wgan_gp")
  for k, v in overrides.items():
    c[k] = v
  return c


def test_data_wait_is_measured_and_warned_once(tmp_path, capsys):
  root = _folder(tmp_path / "f", 64)
  ds = _Slow(0, root, 8, cache_size=0)
  config = _config(n_critic=1, batch_size=4, num_steps=40, data_cache_mb=0, data_prefetch=1)
  pipeline = input_pipeline.InputPipeline(config, ds, None, _HostOnly(), process_index=0,
                                          process_count=1)
  try:
    expected = [ds.batch(s, 1, 4) for s in range(30)]
    for window in range(3):
      steps = range(10 * window, 10 * window + 10)
      for s in steps:
        np.testing.assert_array_equal(pipeline.batch(s), expected[s])
      stats = pipeline.stats()
      # No step runs between batches here: the loop waits on the 20 ms reads nearly all the time.
      assert stats["data_wait_fraction"] > 0.5, stats
      assert stats["data_images_per_s"] > 0 and stats["data_prepare_ms"] >= 20
      assert ("data_startup_s" in stats) == (window == 0)
  finally:
    pipeline.close()
  err = capsys.readouterr().err
  assert err.count("waited on input data") == 1
  assert "data_workers" in err and "data_prefetch" in err and len(err.strip().splitlines()) == 1


def test_abstract_batch_matches_the_placed_batch():
  ds = make_dataset("digits", 0)
  config = _config(n_critic=2, batch_size=8, num_steps=3)
  par = train_lib.parallel_lib.DataParallel(config)
  pipeline = input_pipeline.InputPipeline(config, ds, None, par)
  try:
    placed = pipeline.batch(0)
    abstract = pipeline.abstract_batch(0)
    assert (abstract.shape, abstract.dtype, abstract.sharding) == (placed.shape, placed.dtype,
                                                                    placed.sharding)
    np.testing.assert_array_equal(np.asarray(placed), ds.batch(0, 2, 8))
  finally:
    pipeline.close()


@pytest.mark.parametrize("field, value", [("data_workers", -1), ("data_prefetch", 0),
                                          ("data_cache_mb", -5)])
def test_pipeline_fields_are_validated(field, value):
  config = _config(**{field: value})
  with pytest.raises(config_lib.ConfigError, match=f"^{field} must be") as info:
    config_lib.validate(config)
  assert "\n" not in str(info.value)


# --- The trainer.


def _cli(args, devices=1, **kw):
  env = dict(os.environ, XLA_FLAGS=fake_devices.xla_flags(devices),
             JAX_PLATFORMS="cpu")
  return subprocess.run([sys.executable, "-m", "jaxgan.cli", "train", *args], env=env,
                        capture_output=True, text=True, timeout=900, **kw)


TINY_IMAGES = ["--config", "digits_wgan_gp", "--config.dataset=image_folder",
               "--config.image_size=8", "--config.base_channels=4", "--config.latent_dim=8",
               "--config.batch_size=8", "--config.n_critic=2", "--config.eval_samples=16",
               "--config.eval_every=0", "--config.log_every=2", "--config.checkpoint_every=100"]


@pytest.mark.slow
def test_resume_is_bit_exact_with_cache_and_workers(tmp_path):
  """12 steps in one go with threads and no cache == 7 steps then 5 more, each run with two worker
  processes and the decoded cache: same parameters, optimizer states and key, bit for bit."""
  root = _folder(tmp_path / "f", 40)
  common = TINY_IMAGES + [f"--config.data_dir={root}"]
  whole = _cli(common + ["--workdir", str(tmp_path / "whole"), "--config.num_steps=12",
                         "--config.data_workers=0", "--config.data_cache_mb=0"])
  assert whole.returncode == 0, whole.stderr[-3000:]
  for steps in (7, 12):
    split = _cli(common + ["--workdir", str(tmp_path / "split"), f"--config.num_steps={steps}",
                           "--config.data_workers=2", "--config.data_cache_mb=1"])
    assert split.returncode == 0, split.stderr[-3000:]
  assert "data wait" in split.stdout
  records = [json.loads(l) for l in open(tmp_path / "split" / "metrics.jsonl")]
  assert all(0 <= r["data_wait_fraction"] <= 1 for r in records if r["kind"] == "train")
  config = config_lib.load_config("digits_wgan_gp")
  for arg in common[2:]:
    field, value = arg[len("--config."):].split("=")
    config[field] = type(config[field])(value)
  a = train_lib.Run(config, str(tmp_path / "whole")).restore()
  b = train_lib.Run(config, str(tmp_path / "split")).restore()
  assert int(a.step) == int(b.step) == 12
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


_COUNTING_TRAINER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from jaxgan import cli, input_pipeline
    from jaxgan.data import pipeline
    out = sys.argv[1]
    # Keep every batch this process's pipeline hands to the step (its rows only).
    original_get = pipeline.HostBatches.get
    def get(self, step):
      reals, seconds = original_get(self, step)
      np.save(f"{out}.step{step}.npy", reals)
      return reals, seconds
    pipeline.HostBatches.get = get
    # Record the rows the trainer's pipeline decoded (read when it closes, before the final
    # evaluation reads its own reference images).
    original_close = input_pipeline.InputPipeline.close
    def close(self):
      if self.cache is not None and not getattr(self, "_dumped", False):
        self._dumped = True
        with open(out + ".json", "w") as f:
          json.dump({"decoded": self.cache.records_decoded,
                     "rows": self.cache.cached_rows().tolist()}, f)
      original_close(self)
    input_pipeline.InputPipeline.close = close
    sys.exit(cli.main(sys.argv[2:]))
""")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_decode_only_their_rows_and_match_one(tmp_path):
  """Two local processes (gloo over 127.0.0.1, 1 CPU device each) train on an image folder: each
  decodes exactly the rows of its columns of every global batch (disjoint halves), and the two
  halves the steps receive, side by side, are bit for bit the batches of the one-process run.
  (That the model is then the same up to float reduction order is tests/test_parallel.py's
  test_two_processes_match_one.)"""
  root = _folder(tmp_path / "f", 40)
  args = TINY_IMAGES + [f"--config.data_dir={root}", "--config.num_steps=2"]
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1", JAX_PLATFORMS="cpu")
  one = subprocess.run([sys.executable, "-c", _COUNTING_TRAINER, str(tmp_path / "one"),
                        "train", *args, "--workdir", str(tmp_path / "one")], env=env,
                       capture_output=True, text=True, timeout=900)
  assert one.returncode == 0, one.stderr[-3000:]
  port = _free_port()
  procs = [subprocess.Popen(
      [sys.executable, "-c", _COUNTING_TRAINER, str(tmp_path / f"p{pid}"), "train", *args,
       "--workdir", str(tmp_path / "two"), "--coordinator_address", f"127.0.0.1:{port}",
       "--num_processes", "2", "--process_id", str(pid), "--init_timeout", "120"],
      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for pid in range(2)]
  outs = [p.communicate(timeout=900) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  ds = make_dataset("image_folder", 0, data_dir=str(root), image_size=8)
  counts = [json.load(open(tmp_path / f"p{pid}.json")) for pid in range(2)]
  for pid, count in enumerate(counts):
    mine = np.concatenate([ds.rows_of(global_rows(s, 2, 8, pid, 2)).ravel() for s in range(2)])
    assert count["rows"] == sorted(mine.tolist()) and count["decoded"] == len(mine) == 16
  assert not set(counts[0]["rows"]) & set(counts[1]["rows"])
  assert json.load(open(tmp_path / "one.json"))["decoded"] == 32
  for s in range(2):
    halves = [np.load(tmp_path / f"p{pid}.step{s}.npy") for pid in range(2)]
    assert halves[0].shape == (2, 4, 8, 8, 3)
    np.testing.assert_array_equal(np.concatenate(halves, axis=1),
                                  np.load(tmp_path / f"one.step{s}.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / f"one.step{s}.npy"), ds.batch(s, 2, 8))

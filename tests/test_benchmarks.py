"""Smoke tests of the benchmarks (step_throughput.py, torch_reference.py; stage_changes.py's sums).

  python -m pytest tests/test_benchmarks.py -q          (add -m slow for the whole quick benchmark)

Tiny shapes, 2 timed steps: checks the code paths, the keys of the JSON records, and that torch and
JAX compute the same first-step losses (skipped cleanly without torch).
"""

from __future__ import annotations

import itertools
import json
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import common  # pylint: disable=wrong-import-position,import-error

REQUIRED = ("name", "framework", "batch_size", "median_step_s", "images_per_s", "compile_s", "flops")


@pytest.mark.slow  # ~2.5 minutes: the whole quick benchmark, JAX and torch, XLA and im2col convs
def test_step_throughput_quick_records(tmp_path):
  import step_throughput  # pylint: disable=import-outside-toplevel,import-error
  out = tmp_path / "bench.json"
  step_throughput.main(["--quick", "--losses", "wgan_gp", "--loops", "unroll",
                        "--conv-impls", "xla", "im2col", "--json", str(out)])
  doc = json.loads(out.read_text())
  recs = doc["records"]
  assert doc["matmul_flops_per_s"] > 0
  jax_recs = [r for r in recs if r["framework"] == "jax"]
  # tiny_mlp: one step form; tiny_dcgan: XLA's and the im2col convolutions.
  assert len(jax_recs) == 3
  for r in recs:
    for k in REQUIRED:
      assert k in r, (k, r["name"])
    assert r["median_step_s"] > 0 and r["images_per_s"] > 0
  for r in jax_recs:
    assert r["compile_s"] > 0 and r["flops"] and r["flops"] > 0
  if step_throughput.HAVE_TORCH:
    assert {r["arch"] for r in recs if r["framework"] == "torch"} == {"tiny_mlp", "tiny_dcgan"}
    assert all(c["ok"] for c in doc["checks"])


@pytest.mark.parametrize("arch,loss", [("tiny_mlp", "hinge_sn"), ("tiny_dcgan", "wgan"),
                                       ("tiny_resnet", "wgan_gp"), ("tiny_resnet", "hinge_sn"),
                                       ("tiny_sngan_cnn", "hinge_sn")])
def test_torch_and_jax_first_step_losses_agree(arch, loss):
  """Spectral norm, clipping, the ResNets and SNGAN's CNN (the smoke run above checks the DCGAN's
  penalty)."""
  pytest.importorskip("torch")
  import torch_reference  # pylint: disable=import-outside-toplevel,import-error
  report = torch_reference.honesty_check(common.Case(arch, loss, 4), verbose=False)
  assert report["ok"]
  for a, b in report["losses"].values():
    assert abs(a - b) <= 1e-4 + 2e-3 * abs(a)


def test_stage_changes_windows_and_ratio():
  """benchmarks/stage_changes.py's arithmetic on made-up step end times (no training): 100-step
  phases, window 10; steps of the old resolution take 1 s, of the new 2 s, and the first new step
  6 s more (a stall). Expected by hand: around = 5 * 1 + 5 * 2 + 6 = 21 s, mid before 10 s, mid
  after 20 s, ratio 21 / 15 = 1.4; the change's one-off cost: 21 - 5 * 1 - 5 * 2 = 6 s (first new
  step 8 s against medians 1 and 2)."""
  import stage_changes  # pylint: disable=import-outside-toplevel,import-error
  config = stage_changes.make_config("digits_pggan", None, 100, 10)
  schedule = stage_changes.growing.Schedule(config, 8)
  assert config.num_steps == 100 + 50 + 5  # the last window ends mid-fade
  durations = [1.0] * 100 + [8.0] + [2.0] * (config.num_steps - 101)
  ends = list(itertools.accumulate(durations))
  run = {"config": "digits_pggan", "schedule": schedule, "step_end_s": ends, "load_before": 1.0,
         "load_after": 1.0, "compile_wait_s": {t: (6.0 if t >= 100 else 0.0) for t in range(155)}}
  (row,) = stage_changes.changes(run, 10)
  assert (row["step"], row["from_resolution"], row["to_resolution"]) == (100, 4, 8)
  assert row["mid_before_steps"] == [45, 54] and row["mid_after_steps"] == [145, 154]
  assert row["around_s"] == pytest.approx(21.0) and row["mid_before_s"] == pytest.approx(10.0)
  assert row["mid_after_s"] == pytest.approx(20.0) and row["ratio"] == pytest.approx(1.4)
  assert row["compile_wait_s"] == pytest.approx(6.0)
  assert row["excess_s"] == pytest.approx(6.0) and row["first_step_s"] == pytest.approx(8.0)
  assert (row["median_step_before_s"], row["median_step_after_s"]) == pytest.approx((1.0, 2.0))
  assert "**1.40x**" in stage_changes.markdown([row], [{"config": "digits_pggan", "wall_s": 1.0}])

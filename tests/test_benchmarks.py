"""Smoke tests of the benchmarks (benchmarks/step_throughput.py, benchmarks/torch_reference.py).

  python -m pytest tests/test_benchmarks.py -q          (add -m slow for the whole quick benchmark)

Tiny shapes, 2 timed steps: checks the code paths, the keys of the JSON records, and that torch and
JAX compute the same first-step losses (skipped cleanly without torch).
"""

from __future__ import annotations

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

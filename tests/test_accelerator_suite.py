"""benchmarks/accelerator_suite.py runs end to end on CPU with tiny shapes (so that on a GPU it is one
command), writing its JSON and markdown with every row it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow  # ~3 min of compiles on 2 cores (8 ResNet steps + 4 scaling compiles)
def test_accelerator_suite_runs_on_cpu_with_tiny_shapes(tmp_path):
  out = subprocess.run(
      [sys.executable, os.path.join(ROOT, "benchmarks", "accelerator_suite.py"), "--tiny",
       "--steps", "1", "--json", str(tmp_path / "s.json"), "--markdown", str(tmp_path / "s.md")],
      env=dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu"), capture_output=True, text=True,
      timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  doc = json.load(open(tmp_path / "s.json"))
  rows = {(r["step"], r["framework"], r["precision"]): r for r in doc["rows"]}
  for step in ("wgan_gp_resnet32", "sngan_resnet32"):
    for precision in ("float32", "bfloat16"):
      r = rows[(step, "jax", precision)]
      assert r["steps_per_s"] > 0 and r["compile_s"] > 0 and r["peak_memory_bytes"] > 0, r
    assert rows[(step, "torch", "float32")]["steps_per_s"] > 0  # torch is installed here
    assert (step, "torch", "autocast_bf16") in rows  # timed, or its error recorded
  assert {r["step"] for r in doc["ratios"]} == {"wgan_gp_resnet32", "sngan_resnet32"}
  assert {(r["arch"], r["loss"]) for r in doc["scaling"]} == {("wgan_gp_resnet", "wgan_gp"),
                                                              ("sngan_resnet", "hinge_sn")}
  table = open(tmp_path / "s.md").read()
  assert "JAX bf16 / JAX f32" in table and "TINY shapes" in table

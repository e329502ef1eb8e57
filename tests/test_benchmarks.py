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
def test_step_throughput_quick_records(tmp_path, capsys):
  import step_throughput  # pylint: disable=import-outside-toplevel,import-error
  out = tmp_path / "bench.json"
  step_throughput.main(["--quick", "--losses", "wgan_gp", "--loops", "unroll",
                        "--conv-impls", "xla", "im2col", "--xla-options", "jaxgan", "default",
                        "--json", str(out)])
  doc = json.loads(out.read_text())
  recs = doc["records"]
  assert doc["matmul_flops_per_s"] > 0
  jax_recs = [r for r in recs if r["framework"] == "jax"]
  # tiny_mlp: one step form; tiny_dcgan: XLA's and the im2col convolutions; each compiled with
  # jaxgan's and with XLA's default options.
  assert len(jax_recs) == 6
  assert sorted(r["xla_options"] for r in jax_recs) == ["default"] * 3 + ["jaxgan"] * 3
  assert len({r["name"] for r in jax_recs}) == 6
  assert capsys.readouterr().out.count("jaxgan's/XLA's default compile options") == 3
  for r in recs:
    for k in REQUIRED:
      assert k in r, (k, r["name"])
    assert r["median_step_s"] > 0 and r["images_per_s"] > 0
  for r in jax_recs:
    assert r["compile_s"] > 0 and r["flops"] and r["flops"] > 0
    # what the step executes (the unrolled lowering) at the reference rate
    assert r["matmul_floor_s"] == pytest.approx(r["flops_step"] / doc["matmul_flops_per_s"])
  if step_throughput.HAVE_TORCH:
    assert {r["arch"] for r in recs if r["framework"] == "torch"} == {"tiny_mlp", "tiny_dcgan"}
    assert all(c["ok"] for c in doc["checks"])


@pytest.mark.parametrize("arch,loss", [
    ("tiny_mlp", "hinge_sn"), ("tiny_resnet", "wgan_gp"), ("tiny_sngan_cnn", "hinge_sn"),
    # Slow (~20-25 s each), to keep the default suite under 6 minutes: the ResNet with SN + hinge
    # (its parts are covered by the two cases above) and the DCGAN with clipping (the clipping
    # itself: tests/test_train.py::test_weight_clipping_after_update_and_every_loss_family).
    pytest.param("tiny_resnet", "hinge_sn", marks=pytest.mark.slow),
    pytest.param("tiny_dcgan", "wgan", marks=pytest.mark.slow)])
def test_torch_and_jax_first_step_losses_agree(arch, loss):
  """Spectral norm, clipping, the ResNets and SNGAN's CNN (the smoke run above checks the DCGAN's
  penalty), in the step form training uses on CPU: the scanned critic loop and im2col convolutions
  (the unrolled loop with XLA's convolutions compiled 2-4x longer here;
  tests/test_models.py checks the two convolution forms against each other)."""
  pytest.importorskip("torch")
  import torch_reference  # pylint: disable=import-outside-toplevel,import-error
  report = torch_reference.honesty_check(common.Case(arch, loss, 4, "scan", "im2col"),
                                         verbose=False)
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


def test_step_profile_counts_each_op_and_prices_it():
  """benchmarks/step_profile.py: every executed op is joined with the optimized HLO. A dot inside a
  3-iteration scan is one op that runs 3 times a call, so its FLOPs per call are 3 * 2*m*k*n (XLA's
  cost_analysis counts a loop body once); the autodiff pass comes from the op_name."""
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import step_profile  # pylint: disable=import-outside-toplevel,import-error
  m, k, n = 48, 40, 24
  rng = __import__("numpy").random.default_rng(3)
  a = jnp.asarray(rng.standard_normal((m, k)), jnp.float32)
  w = jnp.asarray(rng.standard_normal((k, n)), jnp.float32)

  def looped(a, w):
    def body(c, _):
      return c + jnp.tanh(a @ (w * c[0, 0])).sum(), None
    return jax.lax.scan(body, jnp.ones((1, 1)), None, length=3)[0]

  f = jax.jit(looped)
  compiled = f.lower(a, w).compile()
  instrs, comps = step_profile.parse_hlo(compiled.as_text())
  totals, walls = step_profile.trace_ops(lambda: f(a, w).block_until_ready(), 2,
                                         module="jit_looped")
  assert len(walls) == 2
  dots = [(name, runs) for name, (_, runs) in totals.items()
          if step_profile.classify(name, instrs, comps)["category"] == "matmul"]
  assert len(dots) == 1 and dots[0][1] == 2 * 3, totals  # 2 calls x 3 iterations
  info = step_profile.classify(dots[0][0], instrs, comps)
  assert info["flops"] == 2.0 * m * k * n
  # The dot's signature, enough to run the same product alone (the per-shape ceiling): [m, k] @
  # [k, n] contracting lhs 1 with rhs 0, no batch axes; its standalone time is a real run of it.
  (sig,) = info["dots"]
  assert sig == ((m, k), (k, n), "f32", ((1,), (0,), (), ())), sig
  assert 0 < step_profile.standalone_dot_s(sig) < 1.0
  batched = step_profile._dot_signature(  # pylint: disable=protected-access
      {"operands": ["a", "b"], "rest": "%a, %b), lhs_batch_dims={0}, lhs_contracting_dims={2}, "
       "rhs_batch_dims={0}, rhs_contracting_dims={1}"},
      {"a": {"shape": "f32[9,64,32]{2,1,0}"}, "b": {"shape": "f32[9,32,16]{2,1,0}"}})
  assert batched == ((9, 64, 32), (9, 32, 16), "f32", ((2,), (1,), (0,), (0,)))
  # The penalty's passes, named from JAX's op_name nesting.
  name = "jit(train_step)/while/body/closed_call/transpose(jvp(transpose(jvp(jvp(DCGANCritic)))))"
  assert step_profile.pass_and_layer(name + "/down1/dot_general") == ("T(jvp(T(jvp(jvp))))",
                                                                     "DCGANCritic/down1")
  assert step_profile.pass_and_layer("jit(train_step)/jvp(DCGANCritic)/down0/pad") == (
      "forward", "DCGANCritic/down0")
  assert step_profile.pass_and_layer(
      "jit(train_step)/transpose(jvp(DCGANGenerator))/up2/dot_general")[0] == "backward"


# Trimmed from the optimized HLO of the WGAN-GP ResNet step: XLA CPU's YNNPACK fusion of the critic's
# conv2 (XLA's convolution), its average pooling and the shortcut's 1x1 dot in one kernel.
_CONV_AND_DOT_FUSION = """\
%fused_computation.26 (param_2.12: f32[128,32,32,128], param_3.9: f32[3,3,128,128], param_6.6: f32[32768,3], param_7.3: f32[3,128]) -> f32[128,32,32,128] {
  %param_2.12 = f32[128,32,32,128]{3,2,1,0} parameter(0)
  %param_3.9 = f32[3,3,128,128]{3,2,1,0} parameter(1)
  %conv_general_dilated.183 = f32[128,32,32,128]{3,2,1,0} convolution(%param_2.12, %param_3.9), window={size=3x3 pad=1_1x1_1}, dim_labels=b01f_01io->b01f
  %param_6.6 = f32[32768,3]{1,0} parameter(2)
  %param_7.3 = f32[3,128]{1,0} parameter(3)
  %dot_general.150 = f32[32768,128]{1,0} dot(%param_6.6, %param_7.3), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  ROOT %bitcast.500 = f32[128,32,32,128]{3,2,1,0} bitcast(%conv_general_dilated.183)
}

ENTRY %main (p0: f32[128,32,32,128], p1: f32[3,3,128,128], p2: f32[32768,3], p3: f32[3,128]) -> f32[128,32,32,128] {
  %p0 = f32[128,32,32,128]{3,2,1,0} parameter(0)
  %p1 = f32[3,3,128,128]{3,2,1,0} parameter(1)
  %p2 = f32[32768,3]{1,0} parameter(2)
  %p3 = f32[3,128]{1,0} parameter(3)
  ROOT %ynn_fusion.26 = f32[128,32,32,128]{3,2,1,0} fusion(%p0, %p1, %p2, %p3), kind=kCustom, calls=%fused_computation.26, metadata={op_name="jit(train_step)/jvp(ResNetCritic)/block1/reduce_sum"}
}
"""


def test_step_profile_counts_a_convolution_fused_with_a_dot():
  """A fusion holding XLA's convolution and a dot is priced with both products' FLOPs (it was
  priced with the 1x1 dot's alone: a 0.1 GFLOP/s 'matmul' that hid a 3x3 convolution)."""
  import step_profile  # pylint: disable=import-outside-toplevel,import-error
  instrs, comps = step_profile.parse_hlo(_CONV_AND_DOT_FUSION)
  info = step_profile.classify("ynn_fusion.26", instrs, comps)
  conv = 2.0 * (128 * 32 * 32 * 128) * (3 * 3 * 128)  # per output: kh * kw * Cin multiply-adds
  dot = 2.0 * 32768 * 128 * 3
  assert info["category"] == "matmul" and info["flops"] == conv + dot, info
  assert step_profile.pass_and_layer(info["op_name"]) == ("forward", "ResNetCritic/block1")


def test_step_profile_counts_pytorch_flops_also_through_the_penalty():
  """step_profile's PyTorch FLOP count: torch.utils.flop_counter's formulas per dispatched op. It
  equals FlopCounterMode where that works (no penalty) and also counts the penalty's double
  backward, where FlopCounterMode's module hooks raise."""
  pytest.importorskip("torch")
  import numpy as np  # pylint: disable=import-outside-toplevel
  from torch.utils.flop_counter import FlopCounterMode  # pylint: disable=import-outside-toplevel
  import common  # pylint: disable=import-outside-toplevel,import-error
  import step_profile  # pylint: disable=import-outside-toplevel,import-error
  import torch_reference  # pylint: disable=import-outside-toplevel,import-error
  counts = {}
  for loss in ("wgan", "wgan_gp"):
    case = common.Case("tiny_mlp", loss, 16, "scan", "im2col")
    _, _, _, _, _, st, reals = common.setup(case)
    ref = torch_reference.TorchStep(case, st)
    reals = torch_reference.to_torch_images(np.asarray(reals))
    counts[loss] = step_profile._torch_flops(ref, reals)  # pylint: disable=protected-access
    if loss == "wgan":
      with FlopCounterMode(display=False) as fc:
        ref.step(reals)
      assert counts[loss] == fc.get_total_flops() > 0
  # the penalty adds the critic's forward, input gradient and double backward on the interpolates
  assert counts["wgan_gp"] > 1.5 * counts["wgan"]


def test_step_profile_summary_states_the_ratio_at_the_ceilings():
  """The summary row compares the best ratio reachable at both ceilings with the issue's target."""
  import step_profile  # pylint: disable=import-outside-toplevel,import-error
  doc = {"case": "dcgan32/wgan_gp", "summary": {
      "jax_s": 3.0, "torch_s": 3.3, "ratio": 1.1, "ratio_at_ceilings": 3.3 / 2.75, "floor_s": 2.75,
      "matmul_s": 2.1, "matmul_rate_of_reference": 0.95, "matmul_gflop": 786.4,
      "torch_gflop": 771.0, "ratio_at_matmul_rate": 1.62,
      "target": step_profile._target("dcgan32", "wgan_gp")}}  # pylint: disable=protected-access
  row = step_profile.summary_table([doc]).splitlines()[-1]
  assert "| 1.10x |" in row and "70% (0.95)" in row and "1.20x (below the target)" in row
  assert "| 786 / 771 |" in row and "| 1.62x |" in row  # FLOPs of both; the matmul-only bound
  assert ">= 1.3x" in row and step_profile._target("sngan_cnn32", "hinge_sn") == 1.2  # pylint: disable=protected-access
  with pytest.raises(SystemExit):
    step_profile.main(["--cases", "dcgan32-wgan_gp"])

"""Tests of jaxgan.ops: the im2col convolutions equal ``lax.conv_general_dilated`` /
``lax.conv_transpose`` (values and gradients to second order), and ``ops.matmul``'s custom VJP
equals a plain dot to third order.

  python -m pytest tests/test_ops.py -q
"""

from __future__ import annotations

import os
import re
import sys

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import ops

DN = ("NHWC", "HWIO", "NHWC")


@pytest.mark.parametrize("h,cin,cout,k,s,pad", [
    (8, 3, 4, 3, 1, "SAME"), (8, 4, 6, 4, 2, "SAME"), (7, 2, 3, 3, 2, "SAME"),
    (9, 2, 3, 4, 2, "VALID"), (6, 2, 2, 3, 1, ((2, 0), (1, 3))),
    # narrowing layers (Cout < Cin): the output-side form at stride 1, and in the transposed phases
    (8, 6, 3, 3, 1, "SAME"), (7, 8, 4, 4, 2, "SAME"), (6, 5, 2, 3, 1, ((2, 0), (1, 3))),
])
def test_im2col_conv_equals_lax(h, cin, cout, k, s, pad):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, h, h + 1, cin))
  w = jax.random.normal(jax.random.PRNGKey(1), (k, k, cin, cout))
  run = lambda f: jax.jit(f)(x, w)  # one compile each: faster here than op-by-op dispatch
  want = lax.conv_general_dilated(x, w, (s, s), pad, dimension_numbers=DN)
  np.testing.assert_allclose(run(lambda a, b: ops.conv2d(a, b, (s, s), pad)), want,
                             rtol=1e-5, atol=1e-4)
  dn = lax.conv_dimension_numbers(x.shape, w.shape, DN)
  np.testing.assert_allclose(
      run(lambda a, b: ops.conv_general_dilated(a, b, (s, s), pad, dimension_numbers=dn)), want,
      rtol=1e-5, atol=1e-4)
  want_t = lax.conv_transpose(x, w, (s, s), pad, dimension_numbers=DN)
  for form in ("auto", "matmul", "phases"):
    np.testing.assert_allclose(
        run(lambda a, b, f=form: ops.conv_transpose2d(a, b, (s, s), pad, form=f)), want_t,
        rtol=1e-5, atol=1e-4, err_msg=form)
  np.testing.assert_allclose(run(lambda a, b: ops.conv_transpose(a, b, (s, s), pad)), want_t,
                             rtol=1e-5, atol=1e-4)


def test_im2col_conv_gradients_match_lax_to_second_order():
  """The gradient penalty differentiates the critic twice: compare grad of a grad-norm."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 3))
  w1 = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 3, 4)) * 0.3
  w2 = jax.random.normal(jax.random.PRNGKey(2), (4, 4, 4, 5)) * 0.3
  w3 = jax.random.normal(jax.random.PRNGKey(5), (3, 3, 5, 2)) * 0.3  # narrowing: output-side form

  def penalty(ws, conv):
    def critic(inp):
      h = jax.nn.leaky_relu(conv(inp, ws[0], (1, 1), "SAME"), 0.2)
      h = jax.nn.leaky_relu(conv(h, ws[1], (2, 2), "SAME"), 0.2)
      return jnp.sum(jnp.tanh(conv(h, ws[2], (1, 1), "SAME")))
    g = jax.grad(critic)(x)
    return jnp.sum(g ** 2)

  lax_conv = lambda a, b, s, p: lax.conv_general_dilated(a, b, s, p, dimension_numbers=DN)
  # jitted: one compile instead of op-by-op dispatch of the double backward (~7x faster here)
  grad = jax.jit(jax.grad(penalty), static_argnums=1)
  want = grad((w1, w2, w3), lax_conv)
  got = grad((w1, w2, w3), ops.conv2d)
  for a, b in zip(got, want):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("h,w,k,s,pad", [(7, 9, 3, 2, "SAME"), (9, 6, 4, 2, "VALID")])
def test_strided_patches_and_col2im_match_lax_to_second_order(h, w, k, s, pad):
  """Strided im2col (the critic's layers) and its col2im: values, input and kernel gradients of a
  gradient-norm penalty against lax's convolution, at geometries the other tests miss (odd sizes,
  kernels not a multiple of the stride, VALID). Fresh inputs per case; float32 sums of <= 3*k*k
  terms of O(1): 1e-4."""
  seed = 17 * h + w + k + s
  x = jax.random.normal(jax.random.PRNGKey(seed), (2, h, w, 3))
  ker = jax.random.normal(jax.random.PRNGKey(seed + 1), (k, k, 3, 5)) * 0.3
  lax_conv = lambda a, b: lax.conv_general_dilated(a, b, (s, s), pad, dimension_numbers=DN)
  ops_conv = lambda a, b: ops.conv2d(a, b, (s, s), pad)

  def penalty(inp, kk, conv):
    g = jax.grad(lambda a: jnp.sum(jnp.tanh(conv(a, kk))))(inp)
    return jnp.sum(g ** 2) + jnp.sum(jnp.sin(conv(inp, kk)))

  np.testing.assert_allclose(ops_conv(x, ker), lax_conv(x, ker), rtol=1e-5, atol=1e-4)
  grad = jax.jit(jax.grad(penalty, argnums=(0, 1)), static_argnums=2)
  want = grad(x, ker, lax_conv)
  got = grad(x, ker, ops_conv)
  for a, b in zip(got, want):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _to_second_order(conv, x, ker, c):
  """conv(x, ker), the gradients of sum(sin(conv) * c) in x and ker, and the gradients of their
  squared norm (the penalty's double backward) in x and ker. Jitted: one compile is ~7x faster
  here than op-by-op dispatch of the double backward."""
  def all_orders(x, ker, c):
    loss = lambda a, b: jnp.sum(jnp.sin(conv(a, b)) * c)
    g = jax.grad(loss, (0, 1))
    gg = jax.grad(lambda a, b: sum(jnp.sum(t ** 2) for t in g(a, b)), (0, 1))
    return (conv(x, ker), *g(x, ker), *gg(x, ker))
  return jax.jit(all_orders)(x, ker, c)


def test_patches_are_one_gather_in_every_pass():
  """The 'patches' form builds a layer's patches with ONE gather (XLA CPU: one kernel to generate)
  in the forward and in the double backward, never kh*kw slices and a concatenation (17 kernels
  for a 4x4 layer -- a third of the SNGAN CNN step's cold compile); the backward's col2im is one
  fused kernel of shifted pads. Checked on the optimized HLO of a WGAN-GP-like double backward
  through a 4x4 stride-2 and a 3x3 layer, and the values against lax (float32 sums of <= 64 O(1)
  products: 1e-4)."""
  x = jax.random.normal(jax.random.PRNGKey(3), (2, 8, 8, 4))
  w1 = jax.random.normal(jax.random.PRNGKey(4), (4, 4, 4, 8)) * 0.2
  w2 = jax.random.normal(jax.random.PRNGKey(5), (3, 3, 8, 16)) * 0.2

  def penalty(ws, conv):
    def critic(a):
      h = jnp.tanh(conv(a, ws[0], (2, 2), ((1, 1), (1, 1))))
      return jnp.sum(jnp.sin(conv(h, ws[1], (1, 1), "SAME")))
    return jnp.sum(jax.grad(critic)(x) ** 2) + critic(x)

  ops_conv = lambda a, b, s, p: ops.conv2d(a, b, s, p, form="patches")
  f = jax.jit(jax.grad(penalty), static_argnums=1)
  hlo = f.lower((w1, w2), ops_conv).compile(compiler_options=ops.compiler_options()).as_text()
  # each layer's patches: once in the forward, once more in the double backward (the transpose of
  # the backward's col2im), i.e. 4 gathers in all, and no concatenation of float taps anywhere
  # (XLA's gather lowering concatenates integer index iotas: s32)
  assert len(re.findall(r" gather\(", hlo)) == 4, re.findall(r"\S+ = \S+ gather\(", hlo)
  assert not re.findall(r"= f32\S* concatenate\(", hlo)
  lax_conv = lambda a, b, s, p: lax.conv_general_dilated(a, b, s, p, dimension_numbers=DN)
  for a, b in zip(f((w1, w2), ops_conv), jax.jit(jax.grad(penalty), static_argnums=1)(
      (w1, w2), lax_conv)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("h,w,cin,cout,kh,kw,pad", [
    (7, 9, 4, 4, 3, 3, "SAME"),             # the ResNets' / PGGAN's layers: 'auto' is 'direct'
    (6, 5, 3, 3, 3, 2, ((2, 0), (1, 1))),   # kh != kw, asymmetric padding at the bounds
    (8, 7, 2, 2, 5, 5, "VALID"),
])
def test_stride1_forms_match_lax_to_second_order(h, w, cin, cout, kh, kw, pad):
  """Every stride-1 form of conv2d ('patches', 'output', 'direct' -- the hand-written VJP with
  XLA's convolution for the input gradient and column/row taps for the weight gradient) against
  lax in float64: values, gradients and the gradient of a gradient norm (the penalty's double
  backward) in x and in the kernel. Differences are float64 rounding of sums of <= 100 O(1)
  terms (~1e-13); 1e-9 leaves room for reassociation, not for a wrong or missing tap (O(1))."""
  pads = ops._pairs(pad, (h, w), (kh, kw), (1, 1))
  form = lambda cout: ops._conv2d_form((kh, kw, cin, cout), (1, 1), pads, (h, w))
  assert form(cout) == "direct"  # what 'auto' tests
  assert form(cout + 1) == "patches"  # widening
  assert form(cout - 1) == "output"  # narrowing
  with jax.enable_x64(True):
    seed = 31 * h + 7 * kh + kw
    x = jax.random.normal(jax.random.PRNGKey(seed), (2, h, w, cin), jnp.float64)
    ker = jax.random.normal(jax.random.PRNGKey(seed + 1), (kh, kw, cin, cout), jnp.float64)
    lax_conv = lambda a, b: lax.conv_general_dilated(a, b, (1, 1), pad, dimension_numbers=DN)
    c = jax.random.normal(jax.random.PRNGKey(seed + 2), lax_conv(x, ker).shape, jnp.float64)

    grads = lambda conv: _to_second_order(conv, x, ker, c)
    want = grads(lax_conv)
    for form in ("patches", "output", "direct"):  # 'auto' is 'direct' here (asserted above)
      got = grads(lambda a, b, f=form: ops.conv2d(a, b, (1, 1), pad, form=f))
      for name, a, b in zip(("value", "dx", "dW", "ddx", "ddW"), got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{form} {name}")
    # and jitted, inside a scan (how the train step runs the critic loop)
    body = lambda carry, _: (carry, jax.grad(lambda b: jnp.sum(jnp.sin(
        ops.conv2d(x, b, (1, 1), pad, form="direct")) * c))(ker))
    _, scanned = jax.jit(lambda k: lax.scan(body, 0.0, None, length=2))(ker)
    np.testing.assert_allclose(scanned[1], want[2], rtol=1e-9, atol=1e-9)



@pytest.mark.parametrize("h,w,cin,kh,kw,s,pad", [
    (16, 18, 16, 4, 4, 2, "SAME"),          # a critic's downsampling layer: 'auto' is 'winograd'
    (9, 7, 2, 4, 3, 2, ((1, 2), (0, 1))),   # odd sizes, kh != kw, asymmetric padding
    # forms only form='winograd' reaches
    (10, 11, 2, 5, 6, 2, ((2, 2), (2, 3))),  # F(2, 3) after space-to-depth
    (7, 9, 3, 3, 3, 1, ((1, 1), (1, 2))),    # F(2x2, 3x3), odd sizes
    (7, 6, 2, 3, 2, 1, ((0, 2), (1, 0))),    # F(2x2, 3x2), odd sizes
])
def test_winograd_form_matches_lax_to_second_order(h, w, cin, kh, kw, s, pad):
  """conv2d's 'winograd' form (F(2x2, r x r') after space-to-depth for stride 2) against lax in
  float64: values, gradients and the gradient of a gradient norm in x and in the kernel.
  Transforms with 0, +-1, 1/2 entries only reassociate sums (~1e-13 here); 1e-9 leaves room for
  that, not for a wrong coefficient or tile offset (O(1): checked by changing one entry of
  ops._WINOGRAD and one slice offset)."""
  cout = 3
  pads = ops._pairs(pad, (h, w), (kh, kw), (s, s))
  if cin >= 16:  # what 'auto' picks with winograd: 4x4 stride-2 layers, output >= 8x8, Cin >= 16
    form = lambda cin, hw, k=(kh, kw), st=(s, s): ops._conv2d_form((*k, cin, cout), st, pads, hw,
                                                                  winograd=True)
    assert form(cin, (h, w)) == "winograd"
    assert ops._conv2d_form((kh, kw, cin, cout), (s, s), pads, (h, w)) == "patches"  # default
    assert form(cin, (h // 2, w)) == "patches"  # 4x4 outputs: the transforms cost more
    assert form(3, (h, w)) == "patches"  # an RGB input: 3-channel products
    assert form(cin, (h, w), (3, 3), (1, 1)) != "winograd"  # F(2x2, 3x3): compile time, README
  with jax.enable_x64(True):
    seed = 13 * h + 5 * w + kh + s
    x = jax.random.normal(jax.random.PRNGKey(seed), (2, h, w, cin), jnp.float64)
    ker = jax.random.normal(jax.random.PRNGKey(seed + 1), (kh, kw, cin, cout), jnp.float64)
    lax_conv = lambda a, b: lax.conv_general_dilated(a, b, (s, s), pad, dimension_numbers=DN)
    c = jax.random.normal(jax.random.PRNGKey(seed + 2), lax_conv(x, ker).shape, jnp.float64)
    want = _to_second_order(lax_conv, x, ker, c)
    got = _to_second_order(lambda a, b: ops.conv2d(a, b, (s, s), pad, form="winograd"), x, ker, c)
    for name, a, b in zip(("value", "dx", "dW", "ddx", "ddW"), got, want):
      np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=name)

def _convolutions_in_ynn_fusions(hlo: str) -> int:
  """How many ``convolution`` ops of a compiled module's text lie inside YNNPACK fusions (parsed by
  ``benchmarks/step_profile.py``'s HLO reader)."""
  sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                  "benchmarks"))
  import step_profile  # pylint: disable=import-outside-toplevel,import-error
  instrs, comps = step_profile.parse_hlo(hlo)
  called = [re.search(r"calls=%([\w.\-]+)", i["rest"]).group(1) for i in instrs.values()
            if i["opcode"] == "fusion" and "__ynn_fusion" in i["rest"]]
  return sum(instrs[n]["opcode"] == "convolution" for c in called for n in comps.get(c, []))


def test_cpu_compiler_options_leave_convolutions_to_xla_eigen_kernel(monkeypatch):
  """``ops.compiler_options()`` (every jaxgan step compiles with it) takes XLA's own convolutions
  out of YNNPACK fusions on the CPU backend -- where XLA's default puts them -- and keeps the
  matmuls there; the values are the same convolution's (float32, O(1) outputs, another kernel's
  summation order over 3*3*32 products: ~1e-6; 1e-4 catches a wrong or missing tap, O(0.1))."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 32))  # 16 channels: not YNN-fused anyway
  ker = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 32, 32)) / 17.0  # outputs O(1)
  f = jax.jit(jax.value_and_grad(lambda a, b: jnp.sum(jnp.sin(ops.conv2d(a, b, form="direct"))),
                                 (0, 1)))
  lowered = f.lower(x, ker)
  options = ops.compiler_options()
  assert options is not None
  default, tuned = lowered.compile(), lowered.compile(compiler_options=options)
  assert _convolutions_in_ynn_fusions(default.as_text()) > 0  # what the option changes
  assert _convolutions_in_ynn_fusions(tuned.as_text()) == 0
  assert " convolution(" in tuned.as_text() and "__ynn_fusion" in tuned.as_text()  # dots stay
  for a, b in zip(jax.tree.leaves(tuned(x, ker)), jax.tree.leaves(default(x, ker))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
  assert ops.compiler_options("gpu") is None
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=-reduce")
  assert ops.compiler_options() is None  # the user's own setting stands


@pytest.mark.parametrize("resample,h,w,k", [("up", 4, 3, 3), ("up", 3, 4, 5), ("down", 8, 6, 3),
                                              ("down", 6, 4, 1)])
def test_resampled_conv2d_equals_resample_and_conv_to_second_order(resample, h, w, k):
  """The low-resolution forms equal nearest upsampling then the 'SAME' convolution ('up': products
  then phase sums), or the convolution then 2x2 mean pooling ('down': one stride-2 convolution with
  the box-summed kernel), both impls, odd kernels 1 to 5, in float64:
  values, gradients and the gradient of a gradient norm (the penalty's double backward) in x and
  in the kernel. Differences are float64 rounding of sums of <= 150 O(1) terms (~1e-13); 1e-9
  leaves room for reassociation, not for a misplaced tap or a wrong pad (O(1) errors)."""
  from jaxgan.models.resnet import upsample_nearest  # pylint: disable=import-outside-toplevel
  with jax.enable_x64(True):
    seed = 17 * h + k
    x = jax.random.normal(jax.random.PRNGKey(seed), (2, h, w, 3), jnp.float64)
    ker = jax.random.normal(jax.random.PRNGKey(seed + 1), (k, k, 3, 2), jnp.float64)
    same = lambda a, b: lax.conv_general_dilated(a, b, (1, 1), "SAME", dimension_numbers=DN)
    if resample == "up":
      plain = lambda a, b: same(upsample_nearest(a), b)
    else:
      plain = lambda a, b: ops.box_downscale(same(a, b), 2)
    c = jax.random.normal(jax.random.PRNGKey(seed + 2), plain(x, ker).shape, jnp.float64)

    grads = lambda conv: _to_second_order(conv, x, ker, c)
    want = grads(plain)
    for impl in ("im2col", "xla"):
      got = grads(lambda a, b, i=impl: ops.resampled_conv2d(a, b, resample, impl=i))
      for name, a, b in zip(("value", "dx", "dW", "ddx", "ddW"), got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{impl} {name}")


def test_resampled_conv2d_rejects_what_it_cannot_compute():
  x, k = jnp.zeros((1, 6, 6, 2)), jnp.zeros((3, 3, 2, 2))
  with pytest.raises(ValueError, match="resample must be one of"):
    ops.resampled_conv2d(x, k, "sideways")
  with pytest.raises(ValueError, match="odd kernel size"):
    ops.resampled_conv2d(x, jnp.zeros((4, 4, 2, 2)), "up")
  with pytest.raises(ValueError, match="even height and width"):
    ops.resampled_conv2d(jnp.zeros((1, 5, 6, 2)), k, "down")
  with pytest.raises(ValueError, match="impl must be"):
    ops.resampled_conv2d(x, k, "up", impl="auto")


def test_conv2d_forms_reject_what_they_cannot_compute():
  x, k = jnp.zeros((1, 6, 6, 2)), jnp.zeros((3, 3, 2, 2))
  with pytest.raises(ValueError, match="form must be"):
    ops.conv2d(x, k, form="rows")
  with pytest.raises(ValueError, match="needs strides"):
    ops.conv2d(x, k, (2, 2), form="direct")
  with pytest.raises(ValueError, match="padding within"):
    ops.conv2d(x, k, (1, 1), ((3, 0), (1, 1)), form="direct")
  with pytest.raises(ValueError, match="'winograd' needs a 2x2 or 3x3 kernel at stride 1"):
    ops.conv2d(x, jnp.zeros((5, 5, 2, 2)), form="winograd")
  with pytest.raises(ValueError, match="'winograd' needs"):
    ops.conv2d(x, k, (3, 3), form="winograd")


def test_matmul_custom_vjp_equals_dot_to_third_order():
  """ops.matmul's custom VJP (weight gradient as (g^T a)^T behind an optimization barrier) against
  the plain product, float64: value, gradients, the gradient of a gradient norm (the penalty's
  double backward) and one more order. Differences are float64 rounding (~1e-15 relative); the
  tolerance 1e-10 leaves room for reassociated sums, not for a wrong term (O(1))."""
  with jax.enable_x64(True):
    a = jax.random.normal(jax.random.PRNGKey(3), (7, 5), jnp.float64)
    b = jax.random.normal(jax.random.PRNGKey(4), (5, 3), jnp.float64)

    def penalty(mm):
      def p(a, b):
        ga = jax.grad(lambda a: jnp.sum(jnp.tanh(mm(a, b)) ** 2))(a)
        return jnp.sum(ga ** 2) + jnp.sum(mm(a, b) ** 3)
      return p

    plain = lambda a, b: a @ b
    np.testing.assert_allclose(ops.matmul(a, b), a @ b, rtol=1e-12)
    for argnum in (0, 1):
      np.testing.assert_allclose(jax.grad(penalty(ops.matmul), argnum)(a, b),
                                 jax.grad(penalty(plain), argnum)(a, b), rtol=1e-10, atol=1e-10)
    third = lambda mm: jax.grad(lambda b: jnp.sum(jax.grad(penalty(mm), 1)(a, b) ** 2))(b)
    np.testing.assert_allclose(third(ops.matmul), third(plain), rtol=1e-10, atol=1e-10)
    # and under jit, where the barrier and XLA's simplifier act
    np.testing.assert_allclose(jax.jit(jax.grad(penalty(ops.matmul), 1))(a, b),
                               jax.grad(penalty(plain), 1)(a, b), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("h,cin,cout,k,s,pad", [
    (4, 6, 3, 4, 2, "SAME"),    # the DCGAN / SNGAN generator layer (narrowing): one-matmul form
    (5, 6, 3, 3, 2, "SAME"),    # odd kernel: taps of unequal count per phase
    (4, 6, 3, 4, 2, "VALID"),   # more outputs per phase than inputs
    (3, 4, 6, 4, 2, "SAME"),    # widening: the per-phase im2col form
])
def test_conv_transpose_gradients_match_lax_to_second_order(h, cin, cout, k, s, pad):
  """Gradient of a gradient norm through ``ops.conv_transpose2d``, both forms (the one-matmul +
  shift-add form, whose shift-add has a hand-written VJP, and the per-phase one), equals
  ``lax.conv_transpose``'s, for the input and the kernel. Fresh random inputs per run (the seed is
  in the message); float32 differences of reassociated sums are ~1e-6 relative, a wrong or missing
  tap would be O(1), so 1e-4 is the tolerance."""
  seed = np.random.SeedSequence().entropy % 2**31
  kx, kw_, kc = jax.random.split(jax.random.PRNGKey(seed), 3)
  x = jax.random.normal(kx, (2, h, h + 1, cin))
  w = jax.random.normal(kw_, (k, k, cin, cout)) * 0.5
  lax_t = lambda a, b: lax.conv_transpose(a, b, (s, s), pad, dimension_numbers=DN)
  c = jax.random.normal(kc, lax_t(x, w).shape)

  def penalty(x, w, conv):
    g = jax.grad(lambda v: jnp.sum(jnp.tanh(conv(v, w)) * c))(x)
    return jnp.sum(g ** 2) + jnp.sum(jnp.tanh(conv(x, w)) ** 2)

  want = jax.jit(jax.grad(penalty, (0, 1)), static_argnums=2)(x, w, lax_t)
  for form in ("matmul", "phases"):
    ops_t = lambda a, b, form=form: ops.conv_transpose2d(a, b, (s, s), pad, form=form)
    np.testing.assert_allclose(jax.jit(ops_t)(x, w), lax_t(x, w), rtol=1e-5, atol=1e-4,
                               err_msg=f"{form}, seed {seed}")
    got = jax.jit(jax.grad(penalty, (0, 1)), static_argnums=2)(x, w, ops_t)
    for a, b in zip(got, want):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.abs(b).max()),
                                 err_msg=f"{form}, seed {seed}")

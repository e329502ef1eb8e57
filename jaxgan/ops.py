"""Convolutions as patches (im2col) + one matrix product, for XLA's CPU backend.

Selected by ``config.conv_impl`` ('im2col'; 'auto' picks it on CPU): every model layer then computes
its convolutions here, with the parameters and results of ``lax`` (``jaxgan.models.layers``).

XLA's CPU backend runs a convolution fast only in the canonical form ``b01f_01io->b01f``; the
weight-gradient convolutions of a backward pass (``01fb_o01i->f01b``, batch as the contracted
dimension) run at ~11 GFLOP/s on 2 cores (forward: ~110), and inside a rolled ``lax.scan`` several
more keep non-canonical dimension labels (jax#12868); the gradient penalty's double backward
multiplies them. Written as the patches of the padded input (every output pixel's ``kh x kw``
window on the channel axis: one gather, :func:`_patches`) and one matrix product with the reshaped
kernel, a convolution becomes a matmul (XLA CPU's fast path) plus memory moves, and so do its
gradients of every order: the transpose of the patches is a sum of shifted pads (:func:`_col2im`),
whose transpose is the patches again, and of a ``dot`` a ``dot``. The product is :func:`matmul`,
whose custom VJP keeps the weight gradient in the layout XLA runs fast. Measured on 2 CPU cores,
DCGAN 32x32 WGAN-GP step at batch 64: see README "Speed" (benchmarks/step_throughput.py). The price
is memory: the im2col buffers (kh * kw times the input of each layer).

Both functions take and return channels-last arrays and flax kernel layouts, so they are drop-in for
``flax.linen.Conv`` / ``flax.linen.ConvTranspose`` (``transpose_kernel=False``, the flax convention):

  conv2d(x [N, H, W, Cin], kernel [kh, kw, Cin, Cout], strides, padding)
      == lax.conv_general_dilated(x, kernel, strides, padding,
                                  dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  conv_transpose2d(x, kernel, strides, padding)
      == lax.conv_transpose(x, kernel, strides, padding, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))

A stride-1 layer that keeps its width (Cin == Cout: the ResNets' and PGGAN's 3x3 layers) is left
to XLA's own convolution forward (the canonical form, no 9x patch buffer), and so is its input
gradient (a convolution of the same form); only the weight gradient -- the form XLA runs at ~11
GFLOP/s -- is written as one matmul over column taps of the input and row taps of the output
gradient (3 + 3 shifted copies for a 3x3 kernel where the patches take 9), in a hand-written VJP
(:func:`_conv2d_direct`). Compiled with :func:`compiler_options` (every jaxgan step is), XLA runs
those convolutions with Eigen's kernel at about its matmul rate (its default, a YNNPACK fusion,
runs them at ~0.6-0.7x). Whole steps: SNGAN ResNet 13.9 -> 11.8 s with the form, then 10-18% less
with the options; far fewer distinct kernels to compile (PGGAN 128x128: 12-14 -> 9-11 s); widening
layers stay on the patches (10% slower step otherwise). README "Speed".

A 4x4 stride-2 layer (the critics' downsampling layers) with outputs of at least 8x8 runs
Winograd's minimal filtering F(2x2, 2x2) after a space-to-depth (:func:`_conv2d_winograd`): 9
products per 2x2 outputs and (4 Cin, Cout) channel pair where the patches make 16, as 9 matmuls
between transforms whose coefficients are 0 and +-1 (so its gradients of every order are again
transforms and matmuls). DCGAN-32 WGAN-GP step 3.42 -> 2.96 s, README "Speed".

The transposed convolution is computed as its sub-pixel decomposition: output phase (p, q) of a
stride-s transposed convolution is an ordinary stride-1 convolution of the undilated input with the
kernel taps of that phase, so no multiplication by an inserted zero is done. When it narrows
(Cout <= Cin: every generator layer) all taps of all phases are ONE matmul
``x [N*H*W, Cin] @ [Cin, kh*kw*Cout]`` followed by a shift-add whose hand-written VJP is its exact
transpose (a stack of shifted slices), so its gradients of every order are one matmul and memory
moves too (autodiff's own transpose was a sum of kh*kw zero-padded copies: 1.5-2x slower backward).
Measured per layer and per step in README "Speed" (``benchmarks/conv_layers.py``).

Also the one home of two small facts used across the package: :func:`box_downscale` (the mean of
``f x f`` pixel blocks, on numpy or jax arrays: PGGAN's reals, the ResNet critic's pooling, the
trainer's data) and :func:`power_of_two_exponent` (the stage maths of DCGAN, PGGAN and the growing
schedule).
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

Padding = str | Sequence[tuple[int, int]]

# The originals, kept so that a caller may patch ``jax.lax`` with this module's functions.
_LAX_CONV = lax.conv_general_dilated


def _pairs(padding: Padding, in_shape: Sequence[int], window: Sequence[int],
           strides: Sequence[int]) -> list[tuple[int, int]]:
  if isinstance(padding, str):
    return list(lax.padtype_to_pads(in_shape, window, strides, padding))
  return [tuple(int(v) for v in p) for p in padding]


# ----------------------------------------------------------------------------------------------------
# A matrix product whose gradients of every order are dots in the layouts XLA's CPU backend runs fast
# ----------------------------------------------------------------------------------------------------
def _dot_nn(a, b, precision):
  """a [M, K] @ b [K, N]: contraction over a's last and b's first axis (Eigen's fast form)."""
  return lax.dot_general(a, b, (((1,), (0,)), ((), ())), precision=precision)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def matmul(a: jax.Array, b: jax.Array, precision=None) -> jax.Array:
  r"""``a @ b`` for a [M, K] and b [K, N], with a custom VJP that keeps XLA CPU on its fast path.

  Reverse mode of ``a @ b`` needs :math:`\bar a = \bar c\, b^\top` and :math:`\bar b = a^\top \bar c`.
  Written plainly, the second is a ``dot`` contracting the *leading* axis of the big operand ``a``
  (the im2col patches); XLA's CPU backend runs that form at under half its matmul rate (85 vs 190
  GFLOP/s for [49152, 1024]^T [49152, 128] on 2 cores; PyTorch/MKL: 153). Computed instead as
  :math:`(\bar c^\top a)^\top` -- the small :math:`\bar c` is transposed, ``a`` is the right-hand
  operand, contracted over its leading axis (the fast form), and an ``optimization_barrier`` keeps
  XLA's simplifier from folding the final (tiny, [N, K]) transpose back into the slow form -- it runs
  at 124 GFLOP/s. Both cotangents are again :func:`matmul` / :func:`_matmul_tn` calls, so the same
  holds for gradients of every order (the gradient penalty's double backward).
  """
  return _dot_nn(a, b, precision)


def _matmul_fwd(a, b, precision):
  return _dot_nn(a, b, precision), (a, b)


def _matmul_bwd(precision, res, g):
  a, b = res
  return matmul(g, b.T, precision), _matmul_tn(a, g, precision)


matmul.defvjp(_matmul_fwd, _matmul_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _matmul_tn(a: jax.Array, g: jax.Array, precision=None) -> jax.Array:
  """``a.T @ g`` for a [M, K] and g [M, N] (contraction over the leading axis), as (g^T a)^T."""
  t = lax.dot_general(g, a, (((0,), (0,)), ((), ())), precision=precision)  # [N, K]
  return lax.optimization_barrier(t).T


def _matmul_tn_fwd(a, g, precision):
  return _matmul_tn(a, g, precision), (a, g)


def _matmul_tn_bwd(precision, res, c):
  # y = a^T g  =>  da = g c^T, dg = a c.
  a, g = res
  return matmul(g, c.T, precision), matmul(a, c, precision)


_matmul_tn.defvjp(_matmul_tn_fwd, _matmul_tn_bwd)


def conv2d(x: jax.Array, kernel: jax.Array, strides: Sequence[int] = (1, 1),
           padding: Padding = "SAME", *, precision=None, form: str = "auto",
           winograd: bool = False) -> jax.Array:
  """Channels-last 2-D convolution whose gradients of every order run on XLA CPU's fast paths.

  Args:
    x: [N, H, W, Cin].
    kernel: [kh, kw, Cin, Cout] (flax ``nn.Conv`` layout).
    strides: (sh, sw).
    padding: 'SAME', 'VALID' or ((lo, hi), (lo, hi)); negative values crop.
    precision: passed to the ``dot``.
    form: ``'patches'``: every output pixel's window gathered on the channel axis
      (:func:`_patches`), one matmul ``[N*H'*W', kh*kw*Cin] @ [kh*kw*Cin, Cout]``; ``'output'``
      (stride 1): one matmul to ``kh*kw*Cout`` channels, then a shift-add of every tap (:func:`_conv2d_output_side`);
      ``'direct'`` (stride 1, padding within [0, k-1]): XLA's convolution forward and for the
      input gradient, the weight gradient as one matmul (:func:`_conv2d_direct`);
      ``'winograd'`` (2 or 3 taps per axis at stride 1, 3 to 6 at stride 2): Winograd's minimal
      filtering F(2x2, r x r') (:func:`_conv2d_winograd`); ``'auto'``: :func:`_conv2d_form`.
      Same values either way (to float rounding).
    winograd: let ``'auto'`` pick ``'winograd'`` for the 4x4 stride-2 layers where it saves
      products (``conv_impl='winograd'``: faster steps, longer cold compiles; README "Speed").

  Returns:
    [N, H', W', Cout], equal to ``lax.conv_general_dilated`` with dimension numbers
    ('NHWC', 'HWIO', 'NHWC') up to float rounding.
  """
  kh, kw, cin, cout = kernel.shape
  sh, sw = strides
  pads = _pairs(padding, x.shape[1:3], (kh, kw), (sh, sw))
  (plo_h, phi_h), (plo_w, phi_w) = pads
  if form not in CONV2D_FORMS:
    raise ValueError(f"form must be one of {CONV2D_FORMS}, got {form!r}")
  if form == "auto":
    form = _conv2d_form(kernel.shape, (sh, sw), pads, x.shape[1:3], winograd)
  elif form == "winograd":
    if not _winograd_fits((kh, kw), (sh, sw)):
      raise ValueError(f"conv2d form 'winograd' needs a 2x2 or 3x3 kernel at stride 1 or a 3x3 to "
                       f"6x6 one at stride 2, got kernel {(kh, kw)} at strides {(sh, sw)}")
  elif form != "patches" and (sh, sw) != (1, 1):
    raise ValueError(f"conv2d form {form!r} needs strides (1, 1), got {(sh, sw)}")
  if form == "direct":
    if not _pads_within_kernel(pads, (kh, kw)):
      raise ValueError(f"conv2d form 'direct' needs padding within [0, k-1], got {pads}")
    return _conv2d_direct(x, kernel, tuple(tuple(p) for p in pads), precision)
  x = lax.pad(x, jnp.zeros((), x.dtype),
              ((0, 0, 0), (plo_h, phi_h, 0), (plo_w, phi_w, 0), (0, 0, 0)))
  n, hp, wp, _ = x.shape
  ho = (hp - kh) // sh + 1
  wo = (wp - kw) // sw + 1
  if form == "output":
    return _conv2d_output_side(x, kernel, ho, wo, precision)
  if form == "winograd":
    return _conv2d_winograd(x, kernel, (sh, sw), ho, wo, precision)
  if kh == 1 and kw == 1:
    cols = x[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, :]
  else:
    cols = _patches(x, (kh, kw, sh, sw, ho, wo))
  out = matmul(cols.reshape(n * ho * wo, kh * kw * cin), kernel.reshape(kh * kw * cin, cout),
               precision)
  return out.reshape(n, ho, wo, cout)


CONV2D_FORMS = ("auto", "patches", "output", "direct", "winograd")


def _transpose_pair(apply, transpose):
  """Two linear maps, each the other's transpose, as custom-VJP functions whose VJPs call each
  other: ``apply(x, spec)`` and ``transpose(y, spec, hw)`` with ``hw = x.shape[1:3]``. So gradients
  of every order are these two (never autodiff's transpose of their pieces).

  Returns:
    ``(apply, transpose)`` with those VJPs (``spec``, ``hw``: static, hashable).
  """
  @functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
  def forward(x, spec):
    return apply(x, spec)

  @functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
  def backward(y, spec, hw):
    return transpose(y, spec, hw)

  forward.defvjp(lambda x, spec: (forward(x, spec), x.shape[1:3]),
                 lambda spec, hw, g: (backward(g, spec, hw),))
  backward.defvjp(lambda y, spec, hw: (backward(y, spec, hw), None),
                  lambda spec, hw, _, g: (forward(g, spec),))
  return functools.wraps(apply)(forward), functools.wraps(transpose)(backward)


def _window_starts(x: jax.Array, geometry) -> jax.Array:
  """Start (row, column * C) in each image of ``x`` [N, Hp, Wp, C], seen as [N, Hp, Wp*C], of every
  output pixel's window: [N, Ho, Wo, 2] (iotas)."""
  _, _, sh, sw, ho, wo = geometry
  n, c = x.shape[0], x.shape[3]
  m, l = (lax.broadcasted_iota(jnp.int32, (n, ho, wo, 1), d) for d in (1, 2))
  return jnp.concatenate([m * sh, l * (sw * c)], axis=-1)


def _patches_impl(x: jax.Array, geometry) -> jax.Array:
  r"""im2col: ``cols[n, m, l, (i*kw + j)*C + c] = x[n, m*sh + i, l*sw + j, c]`` for the padded
  ``x`` [N, Hp, Wp, C] and ``geometry = (kh, kw, sh, sw, Ho, Wo)``; returns [N, Ho, Wo, kh*kw*C].

  ONE gather of each output pixel's window, ``kh`` rows of ``kw*C`` contiguous floats (in ``x``
  seen as [N, Hp, Wp*C], window (i, j*C + c) is exactly the patch's order). As ``kh*kw`` strided
  slices and a concatenation it was ``kh*kw + 1`` kernels -- XLA CPU fuses a slice into neither
  the concatenation nor its neighbours -- each a distinct program to generate: the SNGAN CNN
  step's lower + compile 10.5-11.1 -> 8.0-8.6 s, DCGAN-32 WGAN-GP 7.7-7.9 -> 5.1-5.2 s, with the
  same step times (alternating in one process, median of 9 steps: SNGAN CNN hinge + SN 3.35 /
  3.35 s, DCGAN-32 WGAN-GP 4.13 / 4.01 s; README "Speed"). Gathering single ``C``-float rows
  (``kh*kw`` per pixel) compiled as fast but made those steps 7-19% slower.

  ``_patches``: this with :func:`_col2im` as its VJP and this as that one's
  (:func:`_transpose_pair`).
  """
  n, hp, wp, c = x.shape
  kh, kw, _, _, ho, wo = geometry
  # the image axis is a batching axis of the gather (not an index): sharded over it, each device
  # gathers from its own images with no communication
  dims = lax.GatherDimensionNumbers(offset_dims=(3, 4), collapsed_slice_dims=(),
                                    start_index_map=(1, 2), operand_batching_dims=(0,),
                                    start_indices_batching_dims=(0,))
  rows = lax.gather(x.reshape(n, hp, wp * c), _window_starts(x, geometry), dims,
                    slice_sizes=(1, kh, kw * c), indices_are_sorted=True, unique_indices=False,
                    mode=lax.GatherScatterMode.PROMISE_IN_BOUNDS)
  return rows.reshape(n, ho, wo, kh * kw * c)


def _col2im_impl(g: jax.Array, geometry, hw) -> jax.Array:
  """The transpose of :func:`_patches_impl` (col2im): ``dx[n, m*sh + i, l*sw + j] += g[n, m, l, tap
  (i, j)]``, [N, Hp, Wp, C] for ``hw = (Hp, Wp)``: a sum of ``kh*kw`` zero-paddings of the taps,
  interior ``s - 1``, which XLA CPU fuses into one kernel (what autodiff makes of the slices'
  transpose; a gather of the taps that read each input pixel and a sum over them was 2.6-10x slower
  on the critics' layers)."""
  kh, kw, sh, sw, ho, wo = geometry
  hp, wp = hw
  c = g.shape[-1] // (kh * kw)
  zero = jnp.zeros((), g.dtype)
  out = None
  for i in range(kh):
    for j in range(kw):
      t = (i * kw + j) * c
      tap = lax.pad(g[..., t:t + c], zero,
                    ((0, 0, 0), (i, hp - i - (ho - 1) * sh - 1, sh - 1),
                     (j, wp - j - (wo - 1) * sw - 1, sw - 1), (0, 0, 0)))
      out = tap if out is None else out + tap
  return out


_patches, _col2im = _transpose_pair(_patches_impl, _col2im_impl)


def _winograd_fits(window: Sequence[int], strides: Sequence[int]) -> bool:
  """Taps per axis :func:`_conv2d_winograd` has transforms for (2 or 3, after space-to-depth)."""
  if tuple(strides) == (1, 1):
    return all(k in (2, 3) for k in window)
  return tuple(strides) == (2, 2) and all(-(-k // 2) in (2, 3) for k in window)


def _conv2d_form(kernel_shape: Sequence[int], strides: Sequence[int], pads,
                 in_hw: Sequence[int], winograd: bool = False) -> str:
  """The formulation :func:`conv2d` uses for a layer, chosen by measuring whole train steps
  (README "Speed"): with ``winograd``, a 4x4 stride-2 layer (the DCGAN and SNGAN critics'
  downsampling layers, the ResNet critics' resampled ``'down'`` convolutions) with an output of at
  least 8x8 and Cin >= 16 runs Winograd's F(2x2, 2x2) after space-to-depth (``'winograd'``: 9/16 of
  the products; DCGAN-32 WGAN-GP step 3.20 -> 2.74 s, but its cold compile ~1.5-4.5 s longer, so
  not by default; at 4x4 outputs or 3 input channels its transforms cost more than they save); a
  stride-1 layer that narrows (Cout < Cin) multiplies before the shifts
  (``'output'``); a stride-1 layer that keeps its width (Cin == Cout: the ResNets' and PGGAN's
  3x3 layers) with padding inside the kernel runs XLA's own convolution (``'direct'``); anything
  else builds the full patches (``'patches'``: also the widening layers, where ``'direct'`` made
  the SNGAN CNN step 10% slower and F(2x2, 3x3) 14% faster but its cold compile ~70% longer)."""
  kh, kw, cin, cout = kernel_shape
  (lo_h, hi_h), (lo_w, hi_w) = pads
  ho = (in_hw[0] + lo_h + hi_h - kh) // strides[0] + 1
  wo = (in_hw[1] + lo_w + hi_w - kw) // strides[1] + 1
  if (winograd and tuple(strides) == (2, 2) and (kh, kw) == (4, 4) and min(ho, wo) >= 8
      and cin >= 16):
    return "winograd"
  if tuple(strides) != (1, 1) or kh * kw == 1:
    return "patches"
  if cout < cin:
    return "output"
  if cin == cout and _pads_within_kernel(pads, (kh, kw)):
    return "direct"
  return "patches"


# XLA CPU's default YNNPACK fusions (jaxlib 0.10.2: individual dots, individual convolutions,
# reductions) less the convolutions.
_YNN_FUSION_FLAG = "xla_cpu_experimental_ynn_fusion_type"
_YNN_WITHOUT_CONVOLUTIONS = "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"


def compiler_options(backend: str | None = None) -> dict[str, str] | None:
  """XLA compile options for jaxgan's steps: ``lowered.compile(compiler_options=...)``.

  On the CPU backend, XLA's own convolutions (the ``'direct'`` form's forward and input gradient,
  and every convolution of ``conv_impl='xla'``) are left to XLA's Eigen kernel instead of a YNNPACK
  fusion: the same ``b01f_01io->b01f`` 3x3 128 -> 128 convolution at batch 64, 32x32 runs at
  ~290 GFLOP/s on Eigen against ~210 in YNNPACK (the 2048^2 matmul: ~290), and whole ResNet steps
  take 10-18% less time (README "Speed"). Matmuls and reductions keep XLA's default (YNNPACK).

  None (XLA's defaults) on other backends, when ``XLA_FLAGS`` sets
  ``--xla_cpu_experimental_ynn_fusion_type`` itself (the user's choice stands), and with an XLA
  that does not know the option or its values (checked once by compiling a scalar function).
  """
  if (backend or jax.default_backend()) != "cpu":
    return None
  if _YNN_FUSION_FLAG in os.environ.get("XLA_FLAGS", ""):
    return None
  return _cpu_compiler_options()


@functools.cache
def _cpu_compiler_options() -> dict[str, str] | None:
  options = {_YNN_FUSION_FLAG: _YNN_WITHOUT_CONVOLUTIONS}
  try:
    jax.jit(lambda v: v + 1).lower(np.float32(0)).compile(compiler_options=options)
  except jax.errors.JaxRuntimeError:  # an XLA without this option or these values
    return None
  return options


def _pads_within_kernel(pads, window) -> bool:
  """Every padding in [0, k-1]: then the input gradient's padding k-1-p is too (the 'direct' form)."""
  return all(0 <= p <= k - 1 for pair, k in zip(pads, window) for p in pair)


_DN = ("NHWC", "HWIO", "NHWC")


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv2d_direct(x: jax.Array, kernel: jax.Array, pads, precision) -> jax.Array:
  r"""Stride-1 convolution whose forward and input gradient are XLA's own convolution and whose
  weight gradient is one matmul.

  XLA's CPU backend runs ``b01f_01io->b01f`` convolutions fast (with no patch buffer to write; at
  about its matmul rate on Eigen's kernel, :func:`compiler_options`, ~0.6x in its default YNNPACK
  fusion), but not the weight-gradient convolution autodiff writes (batch contracted: ~11 GFLOP/s
  in the scanned step). So the VJP is written out:

    dx = conv(dy padded by (k-1-lo, k-1-hi), kernel flipped in space, Cin <-> Cout)
         (again this function: the canonical form, for every order of gradient)
    dW[i, j, c, o] = sum_{n,m,l} x_pad[n, m+i, l+j, c] dy[n, m, l, o]
         (:func:`_conv2d_weight_grad`: column taps of x and row taps of dy, one matmul)
  """
  return lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=_DN,
                                  precision=precision)


def _conv2d_direct_fwd(x, kernel, pads, precision):
  return _conv2d_direct(x, kernel, pads, precision), (x, kernel)


def _conv2d_direct_bwd(pads, precision, res, g):
  x, kernel = res
  kh, kw = kernel.shape[:2]
  (lo_h, hi_h), (lo_w, hi_w) = pads
  back = ((kh - 1 - lo_h, kh - 1 - hi_h), (kw - 1 - lo_w, kw - 1 - hi_w))
  dx = _conv2d_direct(g, kernel[::-1, ::-1].transpose(0, 1, 3, 2), back, precision)
  return dx, _conv2d_weight_grad(x, g, kernel.shape, pads, precision)


_conv2d_direct.defvjp(_conv2d_direct_fwd, _conv2d_direct_bwd)


def _conv2d_weight_grad(x, g, kernel_shape, pads, precision):
  """dW of a stride-1 convolution, [kh, kw, Cin, Cout], for x [N, H, W, Cin] and dy [N, H', W',
  Cout]: the kw column taps of the padded x ([N, Hp, W', kw*Cin]) against the kh row taps of dy
  ([N, Hp, W', kh*Cout], dy shifted down by i), ``cols^T @ taps`` in one matmul; the taps are
  :func:`_shift_add_transpose` (differentiable as shift-adds)."""
  kh, kw, cin, cout = kernel_shape
  (lo_h, hi_h), (lo_w, hi_w) = pads
  xp = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (lo_h, hi_h, 0), (lo_w, hi_w, 0), (0, 0, 0)))
  n, hp, wp, _ = xp.shape
  ho, wo = g.shape[1:3]
  cols = _shift_add_transpose(xp, ((1, hp, ((0, 0),)), (1, wp, tuple((0, -j) for j in range(kw)))),
                              (hp, wo))
  rows = _shift_add_transpose(g, ((1, ho, tuple((0, i) for i in range(kh))), (1, wo, ((0, 0),))),
                              (hp, wo))
  dw = _matmul_tn(cols.reshape(n * hp * wo, kw * cin), rows.reshape(n * hp * wo, kh * cout),
                  precision)
  return dw.reshape(kw, cin, kh, cout).transpose(2, 0, 1, 3)


def _conv2d_output_side(x: jax.Array, kernel: jax.Array, ho: int, wo: int, precision) -> jax.Array:
  """Stride-1 convolution of the padded ``x`` as one matmul *before* the shifts: every input pixel
  times every tap, ``z = x @ [W_00 | W_01 | ...]`` ([N*Hp*Wp, Cin] x [Cin, kh*kw*Cout]), then
  ``y[i, j] = sum_ab z[i + a, j + b, tap ab]``. Its buffer is kh*kw*Cout per pixel where im2col's is
  kh*kw*Cin: the cheaper form when the layer narrows (a generator's output layer, 64 -> 3 channels:
  19x less memory traffic; the transposed convolutions' phases, C -> C/2)."""
  kh, kw, cin, cout = kernel.shape
  n, hp, wp, _ = x.shape
  w = kernel.transpose(2, 0, 1, 3).reshape(cin, kh * kw * cout)
  z = matmul(x.reshape(n * hp * wp, cin), w, precision).reshape(n, hp, wp, kh * kw, cout)
  out = None
  for i in range(kh):
    for j in range(kw):
      tap = z[:, i:i + ho, j:j + wo, i * kw + j, :]
      out = tap if out is None else out + tap
  return out


# ----------------------------------------------------------------------------------------------------
# Winograd's minimal filtering: F(2, r) along each spatial axis
# ----------------------------------------------------------------------------------------------------
# (B^T, G, A^T) of F(2, r): two outputs of an r-tap correlation from t = r + 1 inputs with t
# multiplications instead of 2r, y = A^T [(G g) * (B^T d)] (Lavin & Gray 2016). The entries are 0,
# +-1 and 1/2: every transform is exact in binary floating point up to the rounding of its sums.
_WINOGRAD = {
    2: (((1, -1, 0), (0, 1, 0), (0, -1, 1)),
        ((1, 0), (1, 1), (0, 1)),
        ((1, 1, 0), (0, 1, 1))),
    3: (((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1)),
        ((1, 0, 0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0, 0, 1)),
        ((1, 1, 1, 0), (0, 1, -1, -1))),
}


def _combine(arrays, coefficients):
  """sum_i c_i a_i over the nonzero c_i (+-1 without a multiplication)."""
  out = None
  for a, c in zip(arrays, coefficients):
    if c == 0:
      continue
    term = a if c == 1 else -a if c == -1 else a * jnp.asarray(c, a.dtype)
    out = term if out is None else out + term
  return out


def _conv2d_winograd(x: jax.Array, kernel: jax.Array, strides: Sequence[int], ho: int, wo: int,
                     precision) -> jax.Array:
  r"""'VALID' convolution of the padded ``x`` by Winograd's F(2x2, r x r'): each 2x2 block of
  outputs from a (r+1) x (r'+1) input tile with (r+1)(r'+1) products per channel pair instead of
  4rr' (r = 3: 16 against 36; r = 2: 9 against 16).

  .. math:: Y = A^T \left[ (G K G'^T) \odot (B^T D B') \right] A'

  per tile D and channel pair; the elementwise product over channels is (r+1)(r'+1) matmuls
  ``[tiles, Cin] @ [Cin, Cout]`` (one per transformed tap, each :func:`matmul`). A stride-2
  layer with an even kernel (4x4: the DCGAN and SNGAN critics' downsampling layers) is first
  rearranged space-to-depth: it is then a stride-1 2x2 convolution of [H/2, W/2, 4 Cin] (9
  products per 2x2 outputs and 4 Cin x Cout channel pairs where im2col does 16). Every transform is
  a sum of slices with coefficients 0, +-1, 1/2, so autodiff's gradients of every order are again
  transforms and matmuls. Kernels with 2 or 3 taps per axis (after space-to-depth).
  """
  kh, kw, cin, cout = kernel.shape
  n, hp, wp, _ = x.shape
  if tuple(strides) == (2, 2):
    # Space-to-depth: x[2m + a, 2l + b, c] -> xs[m, l, (a, b, c)]; kernel taps 2i + a likewise.
    x = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (0, hp % 2, 0), (0, wp % 2, 0), (0, 0, 0)))
    hp, wp = x.shape[1] // 2, x.shape[2] // 2
    x = x.reshape(n, hp, 2, wp, 2, cin).transpose(0, 1, 3, 2, 4, 5).reshape(n, hp, wp, 4 * cin)
    kernel = jnp.pad(kernel, ((0, kh % 2), (0, kw % 2), (0, 0), (0, 0)))
    kh, kw = kernel.shape[0] // 2, kernel.shape[1] // 2
    kernel = kernel.reshape(kh, 2, kw, 2, cin, cout).transpose(0, 2, 1, 3, 4, 5)
    kernel = kernel.reshape(kh, kw, 4 * cin, cout)
    cin *= 4
  bt_h, g_h, at_h = (np.asarray(m, np.float64) for m in _WINOGRAD[kh])
  bt_w, g_w, at_w = (np.asarray(m, np.float64) for m in _WINOGRAD[kw])
  th, tw = kh + 1, kw + 1
  mh, mw = -(-ho // 2), -(-wo // 2)  # tiles of 2x2 outputs
  x = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (0, 2 * mh + kh - 1 - hp, 0),
                                          (0, 2 * mw + kw - 1 - wp, 0), (0, 0, 0)))
  # B^T D B': the t x t' transformed tiles, each [N, mh, mw, Cin].
  rows = [x[:, a:a + 2 * mh - 1:2] for a in range(th)]
  rows = [_combine(rows, bt_h[p]) for p in range(th)]
  tiles = []
  for r in rows:
    cols = [r[:, :, b:b + 2 * mw - 1:2] for b in range(tw)]
    tiles += [_combine(cols, bt_w[q]) for q in range(tw)]
  # G K G'^T as sums of taps (a dot with 2-3 terms per output would run at ~1 GFLOP/s).
  taps = [_combine([kernel[a] for a in range(kh)], g_h[p]) for p in range(th)]  # [kw, Cin, Cout]
  kt = [_combine([row[b] for b in range(kw)], g_w[q]) for row in taps for q in range(tw)]
  prods = [matmul(v.reshape(n * mh * mw, cin), kt[i], precision) for i, v in enumerate(tiles)]
  # A^T M A': the 2 x 2 outputs of every tile, interleaved.
  rows = [[_combine(prods[q::tw], at_h[i]) for q in range(tw)] for i in range(2)]
  y = jnp.stack([jnp.stack([_combine(r, at_w[j]) for j in range(2)]) for r in rows])
  y = y.reshape(2, 2, n, mh, mw, cout).transpose(2, 3, 0, 4, 1, 5)
  return y.reshape(n, 2 * mh, 2 * mw, cout)[:, :ho, :wo]


def conv_transpose2d(x: jax.Array, kernel: jax.Array, strides: Sequence[int] = (2, 2),
                     padding: Padding = "SAME", *, precision=None, form: str = "auto") -> jax.Array:
  """``lax.conv_transpose`` (flax ``nn.ConvTranspose``, kernel not flipped) by sub-pixel phases.

  ``lax.conv_transpose`` is a stride-1 convolution of the input dilated by ``s`` (s-1 zeros between
  samples) padded by ``pads``. Output row ``o`` reads dilated rows ``o - plo + i`` for taps ``i``; only
  the taps with ``(o - plo + i) % s == 0`` hit a real sample. So the outputs of phase ``p = o % s``
  form a stride-1 convolution of the undilated input with the taps ``i = (plo - p) mod s, ... + s``.
  Each phase is one :func:`conv2d`; the phases are interleaved into the output.

  Args:
    x: [N, H, W, Cin].
    kernel: [kh, kw, Cin, Cout] (flax ``nn.ConvTranspose`` layout, ``transpose_kernel=False``).
    strides: (sh, sw).
    padding: 'SAME', 'VALID' or explicit pairs, as ``lax.conv_transpose`` takes them.
    precision: passed to the ``dot``.
    form: ``'matmul'``: one matmul ``x @ [Cin, kh*kw*Cout]`` for every tap of every phase, then
      a shift-add (each output phase sums its taps' shifted slices); ``'phases'``: one
      :func:`conv2d` per phase; ``'auto'``: ``'matmul'`` when ``Cout <= Cin`` (a generator's
      layers: its buffer is kh*kw*Cout per input pixel where the phases' im2col is kh*kw*Cin) and
      the phases have equal sizes, else ``'phases'``. Same values either way.

  Returns:
    [N, H*s (SAME) or (H-1)*s+k (VALID), ..., Cout].
  """
  if form not in ("auto", "matmul", "phases"):
    raise ValueError(f"form must be 'auto', 'matmul' or 'phases', got {form!r}")
  from jax._src.lax import convolution as lax_conv  # pylint: disable=import-outside-toplevel
  kh, kw, cin, cout = kernel.shape
  sh, sw = strides
  if isinstance(padding, str):
    pads = [lax_conv._conv_transpose_padding(k, s, padding)  # pylint: disable=protected-access
            for k, s in ((kh, sh), (kw, sw))]
  else:
    pads = [tuple(p) for p in padding]
  n, h, w, _ = x.shape
  # Output size of the stride-1 conv of the dilated, padded input.
  out_h = (h - 1) * sh + 1 + pads[0][0] + pads[0][1] - kh + 1
  out_w = (w - 1) * sw + 1 + pads[1][0] + pads[1][1] - kw + 1

  def phase_plan(size_in, size_out, k, s, plo):
    """Per phase p: (taps, input offset lo, number of outputs) along one axis."""
    plans = []
    for p in range(s):
      count = len(range(p, size_out, s))
      first_tap = (plo - p) % s
      taps = list(range(first_tap, k, s))
      # Output o = p + s*m reads input rows (o - plo + i) / s for taps i.
      # With i = first_tap + s*t: input row = m + (p - plo + first_tap) / s + t.
      base = (p - plo + first_tap) // s
      plans.append((taps, base, count))
    return plans

  tap_plan = (_tap_shifts(out_h, kh, sh, pads[0][0]), _tap_shifts(out_w, kw, sw, pads[1][0]))
  if form == "auto":
    form = "matmul" if cout <= cin and (sh, sw) != (1, 1) else "phases"
  if form == "matmul" and None not in tap_plan:
    # One matmul for every tap and phase, then the shifts (see _shift_add).
    wm = kernel.transpose(2, 0, 1, 3).reshape(cin, kh * kw * cout)
    z = matmul(x.reshape(n * h * w, cin), wm, precision).reshape(n, h, w, kh * kw, cout)
    return _shift_add(z, tap_plan)
  rows = phase_plan(h, out_h, kh, sh, pads[0][0])
  cols = phase_plan(w, out_w, kw, sw, pads[1][0])
  phases = []
  for taps_h, base_h, cnt_h in rows:
    row = []
    for taps_w, base_w, cnt_w in cols:
      if cnt_h == 0 or cnt_w == 0:
        row.append(None)
        continue
      k = kernel[jnp.asarray(taps_h)][:, jnp.asarray(taps_w)] if taps_h and taps_w else None
      if k is None:
        row.append(jnp.zeros((n, cnt_h, cnt_w, cout), x.dtype))
        continue
      th, tw = len(taps_h), len(taps_w)
      # Input rows base + m + t for m < cnt, t < th: pad so that the window starts at base.
      pad_h = (-base_h, base_h + cnt_h - 1 + th - h)
      pad_w = (-base_w, base_w + cnt_w - 1 + tw - w)
      row.append(conv2d(x, k, (1, 1), (pad_h, pad_w), precision=precision))
    phases.append(row)
  if sh == 1 and sw == 1:
    return phases[0][0]
  # Interleave the phases: out[:, p + s*m, q + s*l] = phases[p][q][:, m, l].
  # All phases have the same size when out_h % sh == 0 and out_w % sw == 0 (the SAME case).
  if out_h % sh == 0 and out_w % sw == 0:
    stacked = jnp.stack([jnp.stack(r, axis=3) for r in phases], axis=2)  # [N, mh, sh, mw, sw, C]
    return stacked.reshape(n, out_h, out_w, cout)
  out = jnp.zeros((n, out_h, out_w, cout), x.dtype)
  for p, r in enumerate(phases):
    for q, ph in enumerate(r):
      if ph is not None:
        out = out.at[:, p::sh, q::sw].set(ph)
  return out


def _tap_shifts(size_out: int, k: int, s: int, plo: int):
  """Along one axis of a stride-``s`` transposed convolution: ``(s, count, ((phase, shift), ...))``
  with, for every tap ``i``, the output phase ``p`` it feeds and the input offset ``d`` it reads
  (output ``p + s*m`` gets ``x[m + d] * w[i]``); None unless every phase has ``count = size_out / s``
  outputs and at least one tap (then the one-matmul form applies)."""
  if size_out % s or k < s:
    return None
  taps = []
  for i in range(k):
    p = (plo - i) % s
    taps.append((p, (p - plo + i) // s))
  return (s, size_out // s, tuple(taps))


def _shift_add_impl(z, plan):
  """y[:, p + s*m, q + s*l] = sum over the taps (i, j) of phase (p, q) of
  z[:, m + d_i, l + d_j, i*kw + j] (zero outside z), for z [N, H, W, kh*kw, C]."""
  (sh, ch, taps_h), (sw, cw, taps_w) = plan
  n, h, w, _, c = z.shape
  kw = len(taps_w)
  zero = jnp.zeros((), z.dtype)
  acc = [[None] * sw for _ in range(sh)]
  for i, (p, di) in enumerate(taps_h):
    for j, (q, dj) in enumerate(taps_w):
      t = lax.pad(z[:, :, :, i * kw + j, :], zero,
                  ((0, 0, 0), (-di, ch - h + di, 0), (-dj, cw - w + dj, 0), (0, 0, 0)))
      acc[p][q] = t if acc[p][q] is None else acc[p][q] + t
  y = jnp.stack([jnp.stack(r, axis=3) for r in acc], axis=2)  # [N, ch, sh, cw, sw, C]
  return y.reshape(n, ch * sh, cw * sw, c)


def _shift_add_transpose_impl(y, plan, hw):
  """The transpose of :func:`_shift_add_impl`: dz[:, :, :, i*kw + j] = dy of phase (p, q) shifted
  back by (d_i, d_j), the taps stacked in one array (not a sum of padded copies); ``hw``: z's
  (H, W)."""
  (sh, ch, taps_h), (sw, cw, taps_w) = plan
  h, w = hw
  n, c = y.shape[0], y.shape[-1]
  y = y.reshape(n, ch, sh, cw, sw, c)
  zero = jnp.zeros((), y.dtype)
  taps = []
  for p, di in taps_h:
    for q, dj in taps_w:
      taps.append(lax.pad(y[:, :, p, :, q, :], zero,
                          ((0, 0, 0), (di, h - ch - di, 0), (dj, w - cw - dj, 0), (0, 0, 0))))
  return jnp.stack(taps, axis=3)


# Its VJP is its transpose and vice versa, so that gradients of every order are stacks of shifted
# slices, never sums of zero-padded copies.
_shift_add, _shift_add_transpose = _transpose_pair(_shift_add_impl, _shift_add_transpose_impl)


def _is_channels_last_2d(dimension_numbers, ndim: int) -> bool:
  if ndim != 4 or dimension_numbers is None:
    return False
  if isinstance(dimension_numbers, lax.ConvDimensionNumbers):
    dn = dimension_numbers
  elif isinstance(dimension_numbers, tuple) and all(isinstance(s, str) for s in dimension_numbers):
    return tuple(dimension_numbers) == ("NHWC", "HWIO", "NHWC")
  else:
    return False
  return (tuple(dn.lhs_spec) == (0, 3, 1, 2) and tuple(dn.rhs_spec) == (3, 2, 0, 1)
          and tuple(dn.out_spec) == (0, 3, 1, 2))


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1,
                         precision=None, preferred_element_type=None, *, winograd: bool = False):
  """Drop-in for ``lax.conv_general_dilated`` (the ``conv_general_dilated`` field of ``nn.Conv``).

  Channels-last 2-D convolutions without kernel dilation or groups go through :func:`conv2d`
  (``winograd`` passed on; or, with an input dilation, :func:`conv_transpose2d`); anything else
  falls back to ``lax.conv_general_dilated`` unchanged.
  """
  lhs_dilation = tuple(lhs_dilation or (1, 1))
  simple = (_is_channels_last_2d(dimension_numbers, lhs.ndim) and feature_group_count == 1
            and batch_group_count == 1 and tuple(rhs_dilation or (1, 1)) == (1, 1)
            and preferred_element_type is None)
  if simple and lhs_dilation == (1, 1):
    return conv2d(lhs, rhs, tuple(window_strides), padding, precision=precision,
                  winograd=winograd)
  if simple and tuple(window_strides) == (1, 1) and not isinstance(padding, str):
    return conv_transpose2d(lhs, rhs, lhs_dilation, padding, precision=precision)
  return _LAX_CONV(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count,
                   precision=precision, preferred_element_type=preferred_element_type)


_LAX_CONV_TRANSPOSE = lax.conv_transpose


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None, **kwargs):
  """Drop-in for ``lax.conv_transpose``: channels-last 2-D, ``transpose_kernel=False`` (flax's
  ``nn.ConvTranspose``) goes through :func:`conv_transpose2d`; anything else falls back."""
  simple = (lhs.ndim == 4 and not transpose_kernel and tuple(rhs_dilation or (1, 1)) == (1, 1)
            and preferred_element_type is None and not kwargs
            and (dimension_numbers is None
                 or _is_channels_last_2d(dimension_numbers, lhs.ndim)))
  if simple:
    return conv_transpose2d(lhs, rhs, tuple(strides), padding, precision=precision)
  return _LAX_CONV_TRANSPOSE(lhs, rhs, strides, padding, rhs_dilation, dimension_numbers,
                             transpose_kernel, precision, preferred_element_type, **kwargs)


# ----------------------------------------------------------------------------------------------------
# A convolution with a 2x resampling on one side, at the low resolution
# ----------------------------------------------------------------------------------------------------
RESAMPLES = ("up", "down")


def resample_kernel(kernel: jax.Array) -> jax.Array:
  r"""[k, k', Cin, Cout] -> [k+1, k'+1, Cin, Cout]: the kernel convolved in space with a 2x2 box,
  :math:`K'_{ij} = \sum_{a, b \in \{0, 1\}} K_{i-a, j-b}` (K zero outside its taps)."""
  kp = jnp.pad(kernel, ((1, 1), (1, 1), (0, 0), (0, 0)))
  return kp[1:, 1:] + kp[:-1, 1:] + kp[1:, :-1] + kp[:-1, :-1]


def resampled_conv2d(x: jax.Array, kernel: jax.Array, resample: str, *, impl: str = "im2col",
                     precision=None) -> jax.Array:
  r"""A 'SAME' stride-1 convolution with a 2x nearest upsampling before it (``'up'``) or a 2x2
  mean pooling after it (``'down'``), computed at the low resolution.

  Both resamplings are linear and commute with the kernel's taps. In 1-D, kernel K of odd size k,
  p = (k-1)/2, x zero outside its samples:

  * ``'up'``: :math:`(\mathrm{up}(x) * K)_o = \sum_u K_u \, x_{\lfloor (o+u-p)/2 \rfloor}`:
    every product :math:`x_m K_u` is made once at the low resolution (one matmul to k*k*Cout
    channels) and output phase ``o mod 2`` sums tap u's products shifted by
    :math:`\lfloor (o \bmod 2 + u - p) / 2 \rfloor` (``UpsampleConv`` of the ResNet
    generators): k^2/4 multiply-adds per output pixel and channel pair against k^2, a quarter.
    The kernel's gradient is one product of the kernel's own size, so a data-parallel step
    all-reduces that.
  * ``'down'``: :math:`\mathrm{pool}(x * K)_t = \tfrac12 \sum_{a \in \{0,1\}} \sum_u K_u
    x_{2t+a+u-p} = \sum_i \tfrac12 K'_i \, x_{2t+i-p}`: one stride-2 convolution with the
    (k+1)-tap kernel :math:`K' = K * [1, 1]` (:func:`resample_kernel`; divided by 4 in 2-D) and
    padding p (``ConvMeanPool`` of [WGAN-GP]'s and SNGAN's critics; PGGAN's code calls it "fused
    scale"): (k+1)^2/4 multiply-adds per input pixel against k^2, 4/9 for 3x3. (A 2x2 box filter
    and then the stride-2 convolution with K itself costs k^2/4, but its extra memory pass made
    whole steps no faster: README "Speed".)

  The bias is added by the caller (it commutes with both resamplings).

  Args:
    x: [N, H, W, Cin] (H, W even for ``'down'``).
    kernel: [k, k', Cin, Cout], k and k' odd (flax ``nn.Conv`` layout).
    resample: ``'up'`` (-> [N, 2H, 2W, Cout]) or ``'down'`` (-> [N, H/2, W/2, Cout]).
    impl: ``'im2col'`` (the products by :func:`conv2d` / :func:`matmul`), ``'winograd'`` (the
      same, ``'down'``'s 4x4 stride-2 convolution by ``conv2d(winograd=True)``) or ``'xla'``
      (``lax``).
    precision: passed to the products.
  """
  kh, kw, cin, cout = kernel.shape
  if resample not in RESAMPLES:
    raise ValueError(f"resample must be one of {RESAMPLES}, got {resample!r}")
  if kh % 2 == 0 or kw % 2 == 0:
    raise ValueError(f"resampled_conv2d needs an odd kernel size, got {(kh, kw)}")
  if impl not in ("im2col", "winograd", "xla"):
    raise ValueError(f"impl must be 'im2col', 'winograd' or 'xla', got {impl!r}")
  if resample == "down":
    if x.shape[1] % 2 or x.shape[2] % 2:
      raise ValueError(f"resample 'down' needs an even height and width, got {x.shape[1:3]}")
    pads = (((kh - 1) // 2,) * 2, ((kw - 1) // 2,) * 2)
    k2 = resample_kernel(kernel) * jnp.asarray(0.25, kernel.dtype)
    if impl != "xla":
      return conv2d(x, k2, (2, 2), pads, precision=precision, winograd=impl == "winograd")
    return _LAX_CONV(x, k2, (2, 2), pads, dimension_numbers=_DN, precision=precision)
  n, h, w, _ = x.shape
  km = kernel.transpose(2, 0, 1, 3).reshape(cin, kh * kw * cout)
  flat = x.reshape(n * h * w, cin)
  z = (matmul(flat, km, precision) if impl != "xla"
       else lax.dot_general(flat, km, (((1,), (0,)), ((), ())), precision=precision))
  z = z.reshape(n, h, w, kh, kw, cout)
  rows = [_phase_sum(z, 1, 3, phase) for phase in (0, 1)]            # [N, H, W, kw, Cout] each
  y = [[_phase_sum(r, 2, 3, phase) for phase in (0, 1)] for r in rows]  # [N, H, W, Cout] each
  y = jnp.stack([jnp.stack(r, axis=3) for r in y], axis=2)            # [N, H, 2, W, 2, Cout]
  return y.reshape(n, 2 * h, 2 * w, cout)


def _phase_sum(z: jax.Array, axis: int, tap_axis: int, phase: int) -> jax.Array:
  """Output phase ``phase`` of nearest 2x upsampling then a 'SAME' convolution along ``axis``:
  ``sum_u shift(z[tap u], d_u)`` over the taps on ``tap_axis`` (removed), ``d_u = floor((phase +
  u - p) / 2)``, ``shift(a, d)[m] = a[m + d]`` (zero outside); taps with equal shifts are added
  before shifting."""
  k = z.shape[tap_axis]
  by_shift: dict[int, jax.Array] = {}
  for u in range(k):
    d = (phase + u - (k - 1) // 2) // 2
    tap = lax.index_in_dim(z, u, tap_axis, keepdims=False)
    by_shift[d] = tap if d not in by_shift else by_shift[d] + tap
  out = None
  for d, a in by_shift.items():
    if d:
      pads = [(0, 0, 0)] * a.ndim
      pads[axis] = (-d, d, 0)
      a = lax.pad(a, jnp.zeros((), a.dtype), pads)
    out = a if out is None else out + a
  return out


# ----------------------------------------------------------------------------------------------------
# Box downscaling and powers of two
# ----------------------------------------------------------------------------------------------------
def box_downscale(x, factor: int):
  """[..., H, W, C] images box-filtered down by an integer ``factor``: each output pixel is the mean
  of a ``factor x factor`` block (PGGAN's average pooling; ``factor=2`` is 2x2 average pooling with
  stride 2). Works on numpy and jax arrays alike and keeps the dtype; ``factor=1`` returns ``x``."""
  if factor == 1:
    return x
  *lead, h, w, c = x.shape
  if factor < 1 or h % factor or w % factor:
    raise ValueError(f"spatial size {(h, w)} is not a multiple of {factor}")
  y = x.reshape(*lead, h // factor, factor, w // factor, factor, c).mean(axis=(-4, -2))
  return y.astype(x.dtype)


def downscale_to(x, resolution: int):
  """[..., S, S, C] images box-filtered down to ``resolution`` x ``resolution`` (:func:`box_downscale`
  by ``S // resolution``; PGGAN's reals at a stage's resolution)."""
  size = x.shape[-2]
  if resolution < 1 or size % resolution:
    raise ValueError(f"images of side {size} cannot be box-downscaled to {resolution}")
  return box_downscale(x, size // resolution)


def power_of_two_exponent(n) -> int | None:
  """k with ``n == 2**k`` for a positive integer power of two ``n``; None for anything else."""
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n & (n - 1):
    return None
  return int(n).bit_length() - 1

r"""Spectral normalisation: power iteration, spectrally normalised Flax layers and an audit helper.

Spectral normalisation [SNGAN] divides a layer's weight by an estimate of its largest singular value,

.. math::
  \bar W = W / \sigma(W), \qquad \sigma(W) = \max_{h \ne 0} \|W h\|_2 / \|h\|_2,

so that the linear part of every layer is (approximately) 1-Lipschitz and a critic built from such
layers and 1-Lipschitz activations (ReLU, leaky ReLU) is at most 1-Lipschitz. ``sigma`` is estimated
with one step of power iteration per training step from a persistent left singular vector ``u``
([SNGAN], Algorithm 1).

Contents:

* :func:`power_iteration`: pure, differentiable estimate of the largest singular value of a matrix.
* :class:`SNDense`, :class:`SNConv`, :class:`SNConvTranspose`: Flax linen layers that own their
  ``kernel``/``bias`` in ``'params'`` (same names and layout as ``nn.Dense``, ``nn.Conv`` and
  ``nn.ConvTranspose``) and keep ``u`` and the latest ``sigma`` in the ``'spectral'`` collection.
* :func:`reshape_kernel`, :func:`kernel_spectral_norm`, :func:`conv_operator_norm` and
  :func:`spectral_audit`: helpers for training logs that compare the running estimate with the exact
  largest singular value of the reshaped kernel and, for convolutions, with the operator norm of the
  convolution itself.

Usage::

  model = Critic()   # any linen module that uses SNDense / SNConv / SNConvTranspose
  variables = model.init(key, x, update_stats=False)       # {'params': ..., 'spectral': ...}
  # training step: power iteration runs and 'spectral' is updated
  y, updates = model.apply(variables, x, update_stats=True, mutable=['spectral'])
  variables = {'params': variables['params'], 'spectral': updates['spectral']}
  # evaluation: u is read, never written
  y = model.apply(variables, x, update_stats=False)

Layer state (``'spectral'`` collection, per layer: ``u`` of shape [out] and the scalar ``sigma``):

* ``model.init``: ``u`` is drawn as a unit vector, ``normalize(N(0, I))``, from the ``'params'`` RNG
  (``flax.linen.SpectralNorm`` draws it the same way, unnormalised); ``sigma`` starts at the init
  call's estimate.
* ``update_stats=True`` (training; also honoured at init): ``num_iters`` steps of
  :func:`power_iteration` from the stored ``u``; the new ``u`` and ``sigma`` are written back, which
  needs ``mutable=['spectral']``.
* ``update_stats=False`` (evaluation): :math:`\sigma = u^\top W v` with
  :math:`v = W^\top u / \|W^\top u\|`, from the stored ``u``; nothing is written, so evaluation is
  deterministic.
* Applying without the ``'spectral'`` collection, or with ``update_stats=True`` but without
  ``mutable=['spectral']``, raises a ``ValueError`` that says so. A zero ``sigma`` (zero kernel)
  divides by 1 instead, as flax does.

The normalised kernel is never written back into ``'params'`` (compare flax issue #5576): ``'params'``
always holds the raw ``W`` the optimiser updates, and ``W / sigma`` exists only inside the forward
pass, so gradients reach ``W`` both directly and through ``sigma``, while ``u`` and ``v`` are
constants for differentiation, as in [SNGAN] and ``torch.nn.utils.parametrizations.spectral_norm``.

References:
  [SNGAN]   Miyato, Kataoka, Koyama, Yoshida, "Spectral Normalization for Generative Adversarial
            Networks", ICLR 2018 (arXiv:1802.05957), Algorithm 1 and Appendix A.
  [GOLUB]   Golub, Van Loan, "Matrix Computations", 4th ed., section 8.2 (power method).
  [SEDGHI]  Sedghi, Gupta, Long, "The Singular Values of Convolutional Layers", ICLR 2019.
  [TSUZUKU] Tsuzuku, Sato, Sugiyama, "Lipschitz-Margin Training", NeurIPS 2018.
  [TORCH]   ``torch.nn.utils.parametrizations.spectral_norm`` and pytorch issue #7865 (transposed
            convolutions must be normalised along ``dim=1``, their output channels).
  [FLAX]    ``flax.linen.SpectralNorm`` (flax/linen/normalization.py).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn
from flax.linen import dtypes as flax_dtypes
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "SPECTRAL_COLLECTION",
    "power_iteration",
    "reshape_kernel",
    "kernel_spectral_norm",
    "conv_operator_norm",
    "spectral_audit",
    "SNDense",
    "SNConv",
    "SNConvTranspose",
]

SPECTRAL_COLLECTION = "spectral"
"""Name of the Flax variable collection holding ``u`` and ``sigma`` of every SN layer."""

_KINDS = ("dense", "conv", "conv_transpose")

PaddingLike = str | int | Sequence[int | tuple[int, int]]
Initializer = Callable[..., jax.Array]


# ----------------------------------------------------------------------------------------------------
# Validation and small helpers
# ----------------------------------------------------------------------------------------------------
def _check_num_iters(num_iters: Any, name: str = "num_iters") -> int:
  """Checks that ``num_iters`` is a Python integer >= 1 (bool excluded) and returns it."""
  if isinstance(num_iters, bool) or not isinstance(num_iters, (int, np.integer)) or num_iters < 1:
    raise ValueError(f"{name} must be an integer >= 1, got {num_iters!r}.")
  return int(num_iters)


def _check_eps(eps: Any) -> None:
  """Checks that a concrete ``eps`` is positive (traced values are accepted unchecked)."""
  if isinstance(eps, (int, float, np.floating)) and not eps > 0:
    raise ValueError(f"eps must be > 0, got {eps!r}.")


def _check_kind(kind: Any) -> str:
  if kind not in _KINDS:
    raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
  return kind


def _normalize(x: jax.Array, eps: float) -> jax.Array:
  r"""``x / max(||x||_2, eps)``, the convention of ``torch.nn.functional.normalize``.

  With this form a vector whose norm exceeds ``eps`` is normalised exactly (no ``eps`` bias), and the
  zero vector maps to zero instead of NaN.
  """
  return x / jnp.maximum(jnp.linalg.norm(x), eps)


def _matvec(a: jax.Array, x: jax.Array) -> jax.Array:
  """``a @ x`` at full float32 precision (the default may use bf16/TF32 passes on TPU/GPU)."""
  return jnp.dot(a, x, precision=lax.Precision.HIGHEST)


def _as_tuple(x: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
  """Broadcasts an int to an n-tuple, or checks that a sequence has length n."""
  if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
    out = (int(x),) * n
  else:
    out = tuple(int(i) for i in x)
    if len(out) != n:
      raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {x!r}.")
  if any(i < 1 for i in out):
    raise ValueError(f"{name} must be >= 1 in every dimension, got {x!r}.")
  return out


def _canonicalize_padding(padding: PaddingLike, n: int) -> str | tuple[tuple[int, int], ...]:
  """Returns 'SAME', 'SAME_LOWER', 'VALID' or an n-tuple of (low, high) pairs (hashable)."""
  if isinstance(padding, str):
    p = padding.upper()
    if p in ("SAME", "SAME_LOWER", "VALID"):
      return p
    raise ValueError(f"padding must be 'SAME', 'SAME_LOWER', 'VALID', an int or a sequence of "
                     f"{n} ints or (low, high) pairs, got {padding!r}.")
  if isinstance(padding, (int, np.integer)):
    return ((int(padding), int(padding)),) * n
  pads = tuple(padding)
  if len(pads) != n:
    raise ValueError(f"padding must have one entry per spatial dimension ({n}), got {padding!r}.")
  out = []
  for p in pads:
    if isinstance(p, (int, np.integer)):
      out.append((int(p), int(p)))
    elif len(p) == 2:
      out.append((int(p[0]), int(p[1])))
    else:
      raise ValueError(f"padding entries must be ints or (low, high) pairs, got {p!r}.")
  return tuple(out)


def _conv_dimension_numbers(num_spatial: int) -> lax.ConvDimensionNumbers:
  """Channels-last dimension numbers: inputs [N, *spatial, C], kernels [*spatial, in, out]."""
  spatial = tuple(range(1, num_spatial + 1))
  return lax.ConvDimensionNumbers(lhs_spec=(0, num_spatial + 1) + spatial,
                                  rhs_spec=(num_spatial + 1, num_spatial) + tuple(range(num_spatial)),
                                  out_spec=(0, num_spatial + 1) + spatial)


def _apply_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], padding: Any,
                transpose: bool, precision: Any = None, conv_impl: str = "xla") -> jax.Array:
  """Batched channels-last convolution (``nn.Conv``) or transposed convolution (``nn.ConvTranspose``).

  ``x`` is [N, *spatial, in] and ``kernel`` [*kernel_size, in, out], the flax layouts; the transposed
  convolution is ``lax.conv_transpose`` with ``transpose_kernel=False``, exactly as in
  ``nn.ConvTranspose``. ``conv_impl`` ``'im2col'`` / ``'winograd'``: computed by :mod:`jaxgan.ops`
  (2-D only; other ranks fall back to XLA's convolutions; ``'winograd'``:
  :func:`jaxgan.ops.conv2d`'s ``winograd``), same result up to float rounding.
  """
  if conv_impl != "xla":
    from jaxgan import ops  # pylint: disable=import-outside-toplevel
    conv_transpose = ops.conv_transpose
    conv_general_dilated = functools.partial(ops.conv_general_dilated,
                                             winograd=conv_impl == "winograd")
  else:
    conv_transpose, conv_general_dilated = lax.conv_transpose, lax.conv_general_dilated
  if transpose:
    return conv_transpose(x, kernel, strides, padding, precision=precision)
  return conv_general_dilated(x, kernel, strides, padding,
                              dimension_numbers=_conv_dimension_numbers(kernel.ndim - 2),
                              precision=precision)


# ----------------------------------------------------------------------------------------------------
# Power iteration [SNGAN, Algorithm 1]
# ----------------------------------------------------------------------------------------------------
def power_iteration(w: jax.Array, u: jax.Array, num_iters: int = 1,
                    eps: float = 1e-12) -> tuple[jax.Array, jax.Array]:
  r"""Estimates the largest singular value of ``w`` by power iteration from ``u`` [SNGAN, Alg. 1].

  For ``w`` of shape [m, n] and ``u`` of shape [m], each of the ``num_iters`` iterations computes

  .. math::
    v \leftarrow \frac{W^\top u}{\max(\|W^\top u\|_2, \epsilon)}, \qquad
    u \leftarrow \frac{W v}{\max(\|W v\|_2, \epsilon)},

  and the estimate is :math:`\sigma = u^\top W v` (which equals :math:`\|W v\|_2` up to ``eps``).
  From any ``u`` not orthogonal to the top left singular vector, ``sigma`` converges to
  :math:`\sigma_1(W)` from below at the rate :math:`(\sigma_2 / \sigma_1)^{2k}` [GOLUB]. The
  normalisation ``x / max(||x||, eps)`` is that of ``torch.nn.functional.normalize`` (exact for
  ``||x|| > eps``, zero for the zero vector).

  ``u`` and ``v`` are treated as constants (``lax.stop_gradient``), so ``sigma`` is differentiable in
  ``w`` only, with

  .. math::
    \frac{\partial \sigma}{\partial W} = u v^\top,

  the gradient used by [SNGAN] (Appendix A) and by PyTorch; ``grad`` with respect to the input ``u``
  is zero. Pure: safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad``; the loop is a
  ``lax.fori_loop`` so ``num_iters`` does not grow the compiled program.

  Args:
    w: matrix of shape [m, n] (for a layer, the kernel reshaped by :func:`reshape_kernel`).
    u: current estimate of the top left singular vector, shape [m] (normally of unit norm).
    num_iters: number of power iterations, a Python int >= 1 (static).
    eps: lower bound on the norms divided by, > 0.

  Returns:
    ``(sigma, u_new)``: the scalar estimate of :math:`\sigma_1(W)` (differentiable in ``w``) and the
    updated unit vector ``u`` of shape [m] (gradient-free), to be stored for the next call.

  Raises:
    ValueError: if ``w`` is not 2-D, ``u`` is not of shape [m], or ``num_iters`` is not an int >= 1.
  """
  num_iters = _check_num_iters(num_iters)
  _check_eps(eps)
  w = jnp.asarray(w)
  u = jnp.asarray(u)
  if w.ndim != 2:
    raise ValueError(f"w must be a 2-D matrix [m, n], got shape {w.shape}.")
  if u.shape != (w.shape[0],):
    raise ValueError(f"u must have shape [m] = ({w.shape[0]},) to match w of shape {w.shape}, "
                     f"got shape {u.shape}.")
  dtype = jnp.result_type(w, u)
  return _power_iteration(w.astype(dtype), u.astype(dtype), eps, num_iters=num_iters)


@functools.partial(jax.jit, static_argnames=("num_iters",))
def _power_iteration(w, u, eps, *, num_iters):
  """Jitted body of :func:`power_iteration` (cached per shape, dtype and ``num_iters``)."""
  w_const = lax.stop_gradient(w)

  def step(_, uv):
    u_i, _ = uv
    v_i = _normalize(_matvec(w_const.T, u_i), eps)
    return _normalize(_matvec(w_const, v_i), eps), v_i

  u0 = lax.stop_gradient(u)
  u_new, v = lax.fori_loop(0, num_iters, step, (u0, jnp.zeros((w.shape[1],), w.dtype)))
  u_new = lax.stop_gradient(u_new)
  v = lax.stop_gradient(v)
  sigma = jnp.dot(u_new, _matvec(w, v), precision=lax.Precision.HIGHEST)
  return sigma, u_new


def _sigma_from_u(w: jax.Array, u: jax.Array, eps: float) -> jax.Array:
  r"""Evaluation-mode estimate :math:`\sigma = u^\top W v`, :math:`v = W^\top u / \|W^\top u\|`.

  Uses the stored ``u`` without advancing it (``u`` is not renormalised through ``W v``), so the
  layer is deterministic and ``u`` is left untouched. For a unit ``u`` this equals
  :math:`\|W^\top u\|_2 \le \sigma_1(W)`. Differentiable in ``w`` only.
  """
  u = lax.stop_gradient(u.astype(w.dtype))
  v = lax.stop_gradient(_normalize(_matvec(lax.stop_gradient(w).T, u), eps))
  return jnp.dot(u, _matvec(w, v), precision=lax.Precision.HIGHEST)


# ----------------------------------------------------------------------------------------------------
# Kernel reshaping and exact norms
# ----------------------------------------------------------------------------------------------------
def reshape_kernel(kernel: jax.Array, kind: str) -> jax.Array:
  """Reshapes a flax kernel to the matrix [out, rest] whose top singular value SN divides by.

  * ``'dense'``: ``nn.Dense`` kernel [in, out] -> ``kernel.T``, shape [out, in].
  * ``'conv'``: ``nn.Conv`` kernel [*kernel_size, in, out] -> [out, in * prod(kernel_size)], ordered
    as PyTorch's ``weight.flatten(1)`` of its [out, in, kh, kw] weight ([SNGAN] Appendix, [TORCH]).
  * ``'conv_transpose'``: ``nn.ConvTranspose`` kernel [*kernel_size, in, out] (flax layout,
    ``transpose_kernel=False``; ``in`` = input channels of the transposed convolution) -> grouped by
    OUTPUT channels, [out, in * prod(kernel_size)]. In flax this is the same permutation as for
    ``'conv'``. PyTorch stores ``ConvTranspose`` weights as [in, out, kh, kw] and therefore has to
    use ``dim=1`` (pytorch issue #7865); normalising by the leading axis there, or by ``in`` here,
    gives a different, wrong matrix.

  The row dimension (``out``) is the length of the stored vector ``u``.

  Args:
    kernel: the raw kernel from ``'params'``.
    kind: ``'dense'``, ``'conv'`` or ``'conv_transpose'``.

  Returns:
    The 2-D matrix [out, rest].

  Raises:
    ValueError: for an unknown ``kind`` or a kernel whose rank does not fit it.
  """
  _check_kind(kind)
  kernel = jnp.asarray(kernel)
  if kind == "dense":
    if kernel.ndim != 2:
      raise ValueError(f"a 'dense' kernel must be 2-D [in, out], got shape {kernel.shape}.")
    return kernel.T
  if kernel.ndim < 3:
    raise ValueError(f"a '{kind}' kernel must be [*kernel_size, in, out] with at least one spatial "
                     f"dimension (ndim >= 3), got shape {kernel.shape}; it cannot be reshaped to "
                     f"[out, in * prod(kernel_size)].")
  nd = kernel.ndim - 2
  perm = (nd + 1, nd) + tuple(range(nd))  # -> [out, in, *kernel_size]
  return jnp.transpose(kernel, perm).reshape(kernel.shape[-1], -1)


def kernel_spectral_norm(kernel: jax.Array, kind: str) -> jax.Array:
  """Exact largest singular value of :func:`reshape_kernel` ``(kernel, kind)``, by SVD.

  This is the quantity :func:`power_iteration` estimates in the SN layers; for convolutions it is not
  the operator norm of the convolution (see :func:`conv_operator_norm`).

  Args:
    kernel: the raw kernel from ``'params'``.
    kind: ``'dense'``, ``'conv'`` or ``'conv_transpose'``.

  Returns:
    A scalar array, :math:`\\sigma_1` of the reshaped kernel.
  """
  w = reshape_kernel(kernel, kind)
  return jnp.linalg.svd(w, compute_uv=False)[0]


@functools.partial(jax.jit, static_argnames=("input_shape", "strides", "padding", "transpose",
                                             "num_iters"))
def _conv_operator_norm(kernel, key, eps, *, input_shape, strides, padding, transpose, num_iters):
  """Jitted body of :func:`conv_operator_norm` (static shapes and conv parameters)."""

  def op(x):
    return _apply_conv(x[None], kernel, strides, padding, transpose,
                       precision=lax.Precision.HIGHEST)[0]

  x0 = _normalize(jax.random.normal(key, input_shape, kernel.dtype), eps)
  op_t = jax.linear_transpose(op, x0)

  def step(_, x):
    (ata_x,) = op_t(op(x))
    return _normalize(ata_x, eps)

  x = lax.fori_loop(0, num_iters, step, x0)
  return jnp.linalg.norm(op(x))


def conv_operator_norm(kernel: jax.Array, input_shape: Sequence[int],
                       strides: int | Sequence[int] = 1, padding: PaddingLike = "SAME", *,
                       kind: str = "conv", num_iters: int = 50, key: jax.Array | None = None,
                       eps: float = 1e-12) -> jax.Array:
  r"""Operator norm of a strided, padded (transposed) convolution, by power iteration on ``AᵀA``.

  ``A`` is the linear map ``x -> conv(x, kernel)`` on one example ``x`` of shape ``input_shape``,
  exactly as ``nn.Conv`` (``kind='conv'``) or ``nn.ConvTranspose`` (``kind='conv_transpose'``)
  compute it, without bias. Starting from a random unit ``x`` (from ``key``) each iteration sets
  :math:`x \leftarrow A^\top A x / \|A^\top A x\|` with :math:`A^\top` from ``jax.linear_transpose``;
  the result :math:`\|A x\|_2` is a lower bound on :math:`\|A\|_2` that converges to it [GOLUB].

  The SN layers normalise the reshaped kernel :math:`R = [W_1, \dots, W_K]` ([out, in * K],
  :func:`kernel_spectral_norm`) instead, as [SNGAN] does; :math:`\sigma_1(R)` is not a bound on
  :math:`\|A\|_2` either way in general (it depends on input size, stride and padding). What does
  hold, for every stride and padding supported here:

  .. math::
    \|A\|_2 \le \sqrt{K}\, \sigma_1(R), \qquad K = \textstyle\prod_i k_i,

  because a zero-padded, strided convolution is a crop/subsample of a circular convolution on a
  larger grid applied to the zero-embedded input (a transposed convolution first dilates its input
  with zeros, an isometry), and the circular convolution's singular values are those of
  :math:`P(\omega) = \sum_k W_k e^{i \omega \cdot k} = R\,(e_\omega \otimes I)` [SEDGHI], with
  :math:`\|e_\omega \otimes I\|_2 = \sqrt{K}` (cf. the bound of [TSUZUKU]).

  Host-side helper for audits: the result depends on ``input_shape``, which the layer does not know.
  Jitted and cached per (shapes, strides, padding, kind, num_iters).

  Args:
    kernel: flax kernel [*kernel_size, in, out] (``nn.Conv`` / ``nn.ConvTranspose`` layout).
    input_shape: shape of one input example without the batch axis, ``(*spatial, in)``.
    strides: int or one int per spatial dimension.
    padding: 'SAME', 'SAME_LOWER', 'VALID', an int, or one int or (low, high) pair per dimension.
    kind: ``'conv'`` or ``'conv_transpose'``.
    num_iters: number of power iterations (int >= 1); 50 is usually enough for logs, tests use more.
    key: PRNG key for the start vector; ``jax.random.PRNGKey(0)`` when None (deterministic).
    eps: lower bound on the norms divided by.

  Returns:
    A scalar array, the estimate of :math:`\|A\|_2`.

  Raises:
    ValueError: for a bad ``kind``, kernel rank, ``input_shape``, ``strides``, ``padding`` or
      ``num_iters``.
  """
  if kind not in ("conv", "conv_transpose"):
    raise ValueError(f"kind must be 'conv' or 'conv_transpose', got {kind!r}.")
  num_iters = _check_num_iters(num_iters)
  _check_eps(eps)
  kernel = jnp.asarray(kernel)
  if kernel.ndim < 3:
    raise ValueError(f"kernel must be [*kernel_size, in, out] (ndim >= 3), got shape {kernel.shape}.")
  nd = kernel.ndim - 2
  input_shape = tuple(int(s) for s in input_shape)
  if len(input_shape) != nd + 1 or input_shape[-1] != kernel.shape[-2]:
    raise ValueError(f"input_shape must be (*spatial, in) with {nd} spatial dims and in = "
                     f"{kernel.shape[-2]} for a kernel of shape {kernel.shape}, got {input_shape}.")
  if kind == "conv_transpose" and not 1 <= nd <= 3:
    raise ValueError(f"conv_transpose supports 1 to 3 spatial dimensions, got {nd}.")
  strides = _as_tuple(strides, nd, "strides")
  padding = _canonicalize_padding(padding, nd)
  if key is None:
    key = jax.random.PRNGKey(0)
  return _conv_operator_norm(kernel, key, eps, input_shape=input_shape, strides=strides,
                             padding=padding, transpose=kind == "conv_transpose",
                             num_iters=num_iters)


# ----------------------------------------------------------------------------------------------------
# Audit
# ----------------------------------------------------------------------------------------------------
def _find_sn_layers(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()):
  """Yields (path, node) for every node of the 'spectral' tree that holds 'u' and 'sigma'."""
  if "u" in tree and "sigma" in tree:
    yield prefix, tree
    return
  for name, sub in tree.items():
    if isinstance(sub, Mapping):
      yield from _find_sn_layers(sub, prefix + (name,))


def spectral_audit(params: Mapping[str, Any], spectral_state: Mapping[str, Any],
                   conv_specs: Mapping[str, Mapping[str, Any]] | None = None, *,
                   num_iters: int = 50, key: jax.Array | None = None) -> dict[str, dict[str, float]]:
  r"""Per SN layer: the running ``sigma`` next to exact norms of the raw and normalised kernels.

  Walks ``spectral_state`` (the ``'spectral'`` collection) and, for every layer found there, reads its
  kernel at the same path in ``params``. For a layer at path ``'Critic_0/SNConv_1'`` the entry is::

    {'sigma_estimate': stored sigma (from the last update_stats=True call),
     'sigma_svd': exact sigma_1 of the reshaped kernel (kernel_spectral_norm),
     'normalized_sigma_svd': sigma_svd / sigma_estimate  (sigma_1 of W / sigma; ~1 when the
                              estimate is tight, > 1 when it lags behind W),
     # only for conv layers named in conv_specs:
     'operator_norm': conv_operator_norm of the raw kernel,
     'normalized_operator_norm': operator_norm / sigma_estimate}

  The layer kind is inferred from the kernel rank (2-D: dense; otherwise conv; the reshape is the
  same for conv and transposed conv), so ``'sigma_svd'`` needs no extra information. The operator
  norm depends on the input size, strides and padding, which the variables do not record: pass them
  as ``conv_specs = {'Critic_0/SNConv_1': dict(input_shape=(32, 32, 3), strides=2, padding='SAME',
  kind='conv')}`` (keyword arguments of :func:`conv_operator_norm`).

  Not jittable (walks Python dicts and returns Python floats); meant for occasional logging.

  Args:
    params: the ``'params'`` collection of the model.
    spectral_state: the ``'spectral'`` collection of the model.
    conv_specs: optional mapping from layer path ('/'-joined) to :func:`conv_operator_norm` kwargs.
    num_iters: power iterations for the operator norms.
    key: PRNG key for the operator-norm start vectors (``PRNGKey(0)`` when None).

  Returns:
    ``{layer_path: {name: float}}`` as above, ordered as found.

  Raises:
    ValueError: if a layer's kernel is missing from ``params`` or a ``conv_specs`` path is unknown or
      not a convolution.
  """
  conv_specs = dict(conv_specs or {})
  report: dict[str, dict[str, float]] = {}
  for path, node in _find_sn_layers(spectral_state):
    name = "/".join(path)
    sub: Any = params
    for p in path:
      sub = sub.get(p) if isinstance(sub, Mapping) else None
    if not isinstance(sub, Mapping) or "kernel" not in sub:
      raise ValueError(f"no kernel in params at {name!r} for the spectral state found there; pass "
                       f"the 'params' and 'spectral' collections of the same model.")
    kernel = jnp.asarray(sub["kernel"])
    kind = "dense" if kernel.ndim == 2 else "conv"
    sigma_est = float(node["sigma"])
    sigma_svd = float(kernel_spectral_norm(kernel, kind))
    safe = sigma_est if sigma_est != 0 else 1.0
    entry = {"sigma_estimate": sigma_est, "sigma_svd": sigma_svd,
             "normalized_sigma_svd": sigma_svd / safe}
    if name in conv_specs:
      if kind == "dense":
        raise ValueError(f"conv_specs names {name!r}, which is a dense layer.")
      spec = dict(conv_specs.pop(name))
      spec.setdefault("num_iters", num_iters)
      spec.setdefault("key", key)
      op_norm = float(conv_operator_norm(kernel, **spec))
      entry["operator_norm"] = op_norm
      entry["normalized_operator_norm"] = op_norm / safe
    report[name] = entry
  if conv_specs:
    raise ValueError(f"conv_specs names layers not found in the spectral state: "
                     f"{sorted(conv_specs)}; known: {sorted(report)}.")
  return report


# ----------------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------------
class _SpectralNormMixin:
  """Shared power-iteration bookkeeping of the SN layers (a plain mixin, not a Module)."""

  def _normalized_kernel(self, kernel: jax.Array, kind: str, update_stats: bool) -> jax.Array:
    """Returns ``kernel / sigma``; reads and writes ``u``/``sigma`` as in the module docstring."""
    num_iters = _check_num_iters(self.num_iters, "num_iters")
    _check_eps(self.eps)
    if not isinstance(update_stats, (bool, np.bool_)):
      raise ValueError(f"update_stats must be a Python bool, got {update_stats!r}.")
    init = self.is_initializing()
    if not init and not (self.has_variable(SPECTRAL_COLLECTION, "u")
                         and self.has_variable(SPECTRAL_COLLECTION, "sigma")):
      layer = self.name or "(top level)"
      raise ValueError(
          f"{type(self).__name__} {layer!r} found no 'u'/'sigma' in the '{SPECTRAL_COLLECTION}' "
          f"collection; pass it when applying, e.g. model.apply({{'params': params, "
          f"'{SPECTRAL_COLLECTION}': spectral}}, x, update_stats=...), or the whole variables dict "
          f"returned by model.init.")
    if update_stats and not init and not self.is_mutable_collection(SPECTRAL_COLLECTION):
      raise ValueError(f"update_stats=True writes 'u' and 'sigma': apply with "
                       f"mutable=['{SPECTRAL_COLLECTION}'] (or use update_stats=False to evaluate).")
    w = reshape_kernel(kernel, kind)
    u_var = self.variable(
        SPECTRAL_COLLECTION, "u",
        lambda: _normalize(jax.random.normal(self.make_rng("params"), (w.shape[0],),
                                             self.param_dtype), self.eps))
    if update_stats:
      sigma, u_new = power_iteration(w, u_var.value, num_iters, self.eps)
    else:
      sigma, u_new = _sigma_from_u(w, u_var.value, self.eps), None
    sigma_var = self.variable(SPECTRAL_COLLECTION, "sigma",
                              lambda: lax.stop_gradient(sigma).astype(self.param_dtype))
    if update_stats:
      u_var.value = u_new.astype(u_var.value.dtype)
      sigma_var.value = lax.stop_gradient(sigma).astype(sigma_var.value.dtype)
    return kernel / jnp.where(sigma != 0, sigma, jnp.ones_like(sigma)).astype(kernel.dtype)


class SNDense(_SpectralNormMixin, nn.Module):
  r"""Spectrally normalised ``nn.Dense``: :math:`y = x\,(W / \sigma(W)) + b` [SNGAN].

  ``'params'``: ``kernel`` [in, features] and ``bias`` [features] as in ``nn.Dense`` (raw ``W``, never
  overwritten by ``W / sigma``). ``'spectral'``: ``u`` [features] and ``sigma`` []. ``sigma``
  estimates :math:`\sigma_1` of ``kernel.T`` ([features, in]); see "Layer state" in the module
  docstring for when ``u`` is updated.

  Attributes:
    features: number of output features.
    use_bias: whether to add a bias (not normalised).
    dtype: computation dtype (default: inferred from inputs and params).
    param_dtype: dtype of ``kernel``, ``bias``, ``u`` and ``sigma``.
    precision: ``lax`` precision of the matmul.
    kernel_init: initializer of ``kernel`` (``nn.Dense``'s default).
    bias_init: initializer of ``bias``.
    num_iters: power iterations per ``update_stats=True`` call (1 in [SNGAN]).
    eps: lower bound on the norms divided by in the power iteration.
  """
  features: int
  use_bias: bool = True
  dtype: Any = None
  param_dtype: Any = jnp.float32
  precision: Any = None
  kernel_init: Initializer = nn.initializers.lecun_normal()
  bias_init: Initializer = nn.initializers.zeros_init()
  num_iters: int = 1
  eps: float = 1e-12

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool) -> jax.Array:
    """Applies the layer to ``x`` [..., in].

    Args:
      x: inputs, last axis = features in.
      update_stats: True in training (advance ``u``, store ``u``/``sigma``; apply with
        ``mutable=['spectral']``), False in evaluation (``u`` read only).

    Returns:
      Outputs [..., features].
    """
    x = jnp.asarray(x)
    kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), self.param_dtype)
    kernel = self._normalized_kernel(kernel, "dense", update_stats)
    bias = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias else None)
    x, kernel, bias = flax_dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
    y = lax.dot_general(x, kernel, (((x.ndim - 1,), (0,)), ((), ())), precision=self.precision)
    if bias is not None:
      y = y + bias
    return y


class _SNConvBase(_SpectralNormMixin, nn.Module):
  """Shared fields and forward pass of :class:`SNConv` and :class:`SNConvTranspose`."""
  features: int
  kernel_size: int | Sequence[int]
  strides: int | Sequence[int] = 1
  padding: PaddingLike = "SAME"
  use_bias: bool = True
  dtype: Any = None
  param_dtype: Any = jnp.float32
  precision: Any = None
  kernel_init: Initializer = nn.initializers.lecun_normal()
  bias_init: Initializer = nn.initializers.zeros_init()
  num_iters: int = 1
  eps: float = 1e-12
  conv_impl: str = "xla"  # 'xla', 'im2col' or 'winograd' (jaxgan.ops); how, not what, it computes
  resample: str | None = None  # SNConv only: 'up' / 'down' (jaxgan.ops.resampled_conv2d)

  _transpose = False

  def _forward(self, x: jax.Array, update_stats: bool) -> jax.Array:
    kernel_size = ((int(self.kernel_size),) if isinstance(self.kernel_size, (int, np.integer))
                   else tuple(int(k) for k in self.kernel_size))
    nd = len(kernel_size)
    if nd == 0 or any(k < 1 for k in kernel_size):
      raise ValueError(f"kernel_size must be a positive int or a non-empty sequence of positive "
                       f"ints, got {self.kernel_size!r}.")
    if self._transpose and nd > 3:
      raise ValueError(f"{type(self).__name__} supports 1 to 3 spatial dimensions, got {nd}.")
    x = jnp.asarray(x)
    if x.ndim < nd + 1:
      raise ValueError(f"{type(self).__name__} with kernel_size {kernel_size} needs inputs "
                       f"[*batch, *{nd} spatial, features], got shape {x.shape}.")
    strides = _as_tuple(self.strides, nd, "strides")
    padding = _canonicalize_padding(self.padding, nd)
    batch_shape = x.shape[:x.ndim - nd - 1]
    x = x.reshape((-1,) + x.shape[x.ndim - nd - 1:])  # one batch axis, added if absent

    kernel = self.param("kernel", self.kernel_init, kernel_size + (x.shape[-1], self.features),
                        self.param_dtype)
    kernel = self._normalized_kernel(kernel, "conv_transpose" if self._transpose else "conv",
                                     update_stats)
    bias = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias else None)
    x, kernel, bias = flax_dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
    if self.conv_impl not in ("xla", "im2col", "winograd"):
      raise ValueError(f"conv_impl must be 'xla', 'im2col' or 'winograd', got {self.conv_impl!r}.")
    if self.resample is None:
      y = _apply_conv(x, kernel, strides, padding, self._transpose, self.precision,
                      conv_impl=self.conv_impl)
    else:
      if self._transpose or nd != 2 or strides != (1, 1) or self.padding != "SAME":
        raise ValueError(f"resample needs a 2-D SNConv with strides 1 and 'SAME' padding, got "
                         f"kernel_size {kernel_size}, strides {strides}, padding {self.padding!r}.")
      from jaxgan import ops  # pylint: disable=import-outside-toplevel
      y = ops.resampled_conv2d(x, kernel, self.resample, impl=self.conv_impl,
                               precision=self.precision)
    if bias is not None:
      y = y + bias
    return y.reshape(batch_shape + y.shape[1:])


class SNConv(_SNConvBase):
  r"""Spectrally normalised ``nn.Conv`` (channels last): ``conv(x, W / sigma(W)) + b`` [SNGAN].

  ``'params'``: ``kernel`` [*kernel_size, in, features] and ``bias`` [features], as ``nn.Conv``.
  ``'spectral'``: ``u`` [features] and ``sigma`` []. ``sigma`` estimates :math:`\sigma_1` of the
  kernel reshaped to [features, in * prod(kernel_size)] (:func:`reshape_kernel`, ``'conv'``), as
  [SNGAN] and PyTorch do; this is not the operator norm of the convolution
  (:func:`conv_operator_norm`).

  Inputs are [*batch, *spatial, in] (no batch axis is also accepted). Supported: ``strides`` and
  ``padding`` ('SAME', 'SAME_LOWER', 'VALID', int, pairs); not supported: dilation, feature groups,
  masks, 'CIRCULAR'/'CAUSAL' padding.

  Attributes:
    features: number of output channels.
    kernel_size: int or tuple of spatial kernel sizes (an int means one spatial dimension, as in
      ``nn.Conv``).
    strides: int or one int per spatial dimension.
    padding: see above.
    use_bias, dtype, param_dtype, precision, kernel_init, bias_init, num_iters, eps: as
      :class:`SNDense`.
    conv_impl: ``'xla'`` (``lax`` convolutions), ``'im2col'`` (:mod:`jaxgan.ops`, fast on CPU)
      or ``'winograd'`` (the same with Winograd's F(2x2, 2x2) for 4x4 stride-2 layers); the result
      is the same up to float rounding.
    resample: None, or ``'up'`` / ``'down'`` (2-D, strides 1, 'SAME'): a 2x nearest upsampling
      of the input before the convolution / a 2x2 mean pooling of its output, computed with the
      normalised kernel at the low resolution (:func:`jaxgan.ops.resampled_conv2d`).
  """

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool) -> jax.Array:
    """Applies the layer; ``update_stats`` as in :meth:`SNDense.__call__`."""
    return self._forward(x, update_stats)


class SNConvTranspose(_SNConvBase):
  r"""Spectrally normalised ``nn.ConvTranspose`` (``transpose_kernel=False``, channels last).

  ``'params'``: ``kernel`` [*kernel_size, in, features] and ``bias`` [features], as
  ``nn.ConvTranspose``. ``'spectral'``: ``u`` [features] and ``sigma`` [].

  Normalised by OUTPUT channels: ``sigma`` estimates :math:`\sigma_1` of the kernel reshaped to
  [features, in * prod(kernel_size)] (:func:`reshape_kernel`, ``'conv_transpose'``), matching
  ``torch.nn.utils.parametrizations.spectral_norm``, which uses ``dim=1`` for ``ConvTranspose``
  weights [in, out, kh, kw] (pytorch issue #7865). Supports 1 to 3 spatial dimensions; same padding
  options as :class:`SNConv`, passed to ``lax.conv_transpose`` as ``nn.ConvTranspose`` does.

  Attributes:
    See :class:`SNConv`.
  """

  _transpose = True

  @nn.compact
  def __call__(self, x: jax.Array, *, update_stats: bool) -> jax.Array:
    """Applies the layer; ``update_stats`` as in :meth:`SNDense.__call__`."""
    return self._forward(x, update_stats)

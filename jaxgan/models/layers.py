"""Layer factories that switch between plain and spectrally normalised layers.

Every factory returns a callable ``f(x, update_stats)`` so that models are written once: plain layers
ignore ``update_stats``; spectral-norm layers (``jaxgan.spectral``) update their power-iteration vector
``u`` in the ``'spectral'`` collection only when it is True.

``conv_impl`` chooses how convolutions are computed, never what they compute or their parameters:
``'xla'`` is ``lax.conv_general_dilated`` / ``lax.conv_transpose``; ``'im2col'`` is
:mod:`jaxgan.ops` (slices + one matrix product: 4-8x faster training steps on XLA's CPU backend,
whose weight-gradient convolutions are slow); ``'winograd'`` is ``'im2col'`` with the critics'
4x4 stride-2 layers by Winograd's F(2x2, 2x2) (9 products where im2col makes 16: faster CPU
steps, longer cold compiles; :func:`jaxgan.ops.conv2d`); ``'auto'`` (configs' default) is
``'im2col'`` on CPU and ``'xla'`` on GPU/TPU (:func:`resolve_conv_impl`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import flax.linen as nn
from flax.linen import dtypes as flax_dtypes
import jax
import jax.numpy as jnp

from jaxgan import config as config_lib
from jaxgan import ops

CONV_IMPLS = config_lib.CONV_IMPLS  # ("auto", "xla", "im2col", "winograd")
OPS_IMPLS = ("im2col", "winograd")  # the conv_impls computed by jaxgan.ops


def resolve_conv_impl(conv_impl: str, backend: str | None = None) -> str:
  """'auto' -> 'im2col' on the CPU backend, 'xla' elsewhere; the others unchanged."""
  if conv_impl not in CONV_IMPLS:
    raise ValueError(f"conv_impl must be one of {', '.join(CONV_IMPLS)}; got {conv_impl!r}")
  if conv_impl != "auto":
    return conv_impl
  return "im2col" if (backend or jax.default_backend()) == "cpu" else "xla"


def conv_general_dilated_fn(conv_impl: str):
  """The ``conv_general_dilated`` a ``nn.Conv`` should use (None: flax's default, XLA's)."""
  impl = resolve_conv_impl(conv_impl)
  if impl == "winograd":
    return functools.partial(ops.conv_general_dilated, winograd=True)
  if impl == "im2col":
    return ops.conv_general_dilated
  return None


def _plain(layer: nn.Module) -> Callable[[Any, bool], Any]:
  return lambda x, update_stats: layer(x)


def dense(features: int, spectral_norm: bool, name: str, **kwargs) -> Callable[[Any, bool], Any]:
  if spectral_norm:
    from jaxgan import spectral  # pylint: disable=import-outside-toplevel
    layer = spectral.SNDense(features, name=name, **kwargs)
    return lambda x, update_stats: layer(x, update_stats=update_stats)
  return _plain(nn.Dense(features, name=name, **kwargs))


def conv(features: int, kernel_size, strides, spectral_norm: bool, name: str,
         conv_impl: str = "xla", resample: str | None = None,
         **kwargs) -> Callable[[Any, bool], Any]:
  """A convolution, spectrally normalised or not; ``resample='down'`` pools its output 2x2
  (:class:`ResampledConv`: stride 1 'SAME' only, its products at the low resolution)."""
  if spectral_norm:
    from jaxgan import spectral  # pylint: disable=import-outside-toplevel
    layer = spectral.SNConv(features, kernel_size, strides=strides, name=name,
                            conv_impl=resolve_conv_impl(conv_impl), resample=resample, **kwargs)
    return lambda x, update_stats: layer(x, update_stats=update_stats)
  if resample is not None:
    if tuple(strides) != (1, 1):
      raise ValueError(f"a resampled convolution has strides (1, 1), got {strides}")
    return _plain(ResampledConv(features, tuple(kernel_size), resample, conv_impl, name=name,
                                **kwargs))
  return _plain(plain_conv(features, kernel_size, conv_impl, strides=strides, name=name, **kwargs))


def plain_conv(features: int, kernel_size, conv_impl: str = "xla", **kwargs) -> nn.Conv:
  """``nn.Conv`` computed by ``conv_impl`` (generators: no spectral norm, no ``update_stats``)."""
  return nn.Conv(features, kernel_size, conv_general_dilated=conv_general_dilated_fn(conv_impl),
                 **kwargs)


class ConvTranspose(nn.Module):
  """``nn.ConvTranspose`` (2-D, channels last, ``transpose_kernel=False``) computed by
  :func:`jaxgan.ops.conv_transpose2d`: same parameters (``kernel`` [kh, kw, in, features], ``bias``),
  same initialisers and the same output up to float rounding."""
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: Any = "SAME"
  use_bias: bool = True
  kernel_init: Any = nn.linear.default_kernel_init
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param("kernel", self.kernel_init,
                        tuple(self.kernel_size) + (x.shape[-1], self.features), jnp.float32)
    y = ops.conv_transpose2d(x, kernel.astype(x.dtype), tuple(self.strides), self.padding)
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32).astype(y.dtype)
    return y


class ResampledConv(nn.Module):
  """``nn.Conv`` (stride 1, 'SAME') with a 2x nearest-neighbour upsampling of its input
  (``resample='up'``) or a 2x2 mean pooling of its output (``'down'``): the same parameters
  (``kernel`` [kh, kw, in, features], ``bias``) and, up to float rounding, the same output as
  ``nn.Conv`` after ``upsample`` / before ``avg_pool``, with a quarter / 4/9 of the
  multiplications (all at the low resolution: :func:`jaxgan.ops.resampled_conv2d`)."""
  features: int
  kernel_size: Sequence[int]
  resample: str
  conv_impl: str = "xla"  # how, not what, it computes (resolve_conv_impl)
  use_bias: bool = True
  kernel_init: Any = nn.linear.default_kernel_init
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param("kernel", self.kernel_init,
                        tuple(self.kernel_size) + (x.shape[-1], self.features), jnp.float32)
    bias = (self.param("bias", self.bias_init, (self.features,), jnp.float32)
            if self.use_bias else None)
    x, kernel, bias = flax_dtypes.promote_dtype(x, kernel, bias)
    y = ops.resampled_conv2d(x, kernel, self.resample, impl=resolve_conv_impl(self.conv_impl))
    return y if bias is None else y + bias


def conv_transpose(features: int, kernel_size, strides, conv_impl: str = "xla",
                   **kwargs) -> nn.Module:
  """A transposed convolution computed by ``conv_impl``: ``nn.ConvTranspose`` ('xla') or
  :class:`ConvTranspose` ('im2col'); the two have the same parameters."""
  if resolve_conv_impl(conv_impl) in OPS_IMPLS:
    return ConvTranspose(features, tuple(kernel_size), strides=tuple(strides), **kwargs)
  return nn.ConvTranspose(features, kernel_size, strides=strides, **kwargs)


def batch_norm(train: bool, axis_name: str | None, name: str, *, momentum: float = 0.9,
               epsilon: float = 1e-5) -> nn.BatchNorm:
  """Generator batch norm: with ``train`` it normalises by the batch's statistics and updates the
  running ones (``running = momentum * running + (1 - momentum) * batch``, collection
  ``'batch_stats'``); without, it normalises by the running statistics. With ``axis_name`` (pmap)
  the batch statistics are those of the global batch, averaged over devices."""
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=epsilon,
                      axis_name=axis_name if train else None, name=name)


def maxout(h: jax.Array, pieces: int) -> jax.Array:
  r"""Maxout over groups of ``pieces`` consecutive features (Goodfellow et al. 2013):
  :math:`y_j = \max_{k < p} h_{j p + k}`, [..., F * p] -> [..., F] (the grouping of Blocks'
  ``Maxout`` brick, which PacGAN's ``LinearMaxout`` uses). 1-Lipschitz in the L2 norm, so a
  spectrally normalised linear map followed by maxout stays 1-Lipschitz."""
  if h.shape[-1] % pieces:
    raise ValueError(f"maxout: {h.shape[-1]} features are not a multiple of {pieces} pieces")
  return jnp.max(h.reshape(h.shape[:-1] + (h.shape[-1] // pieces, pieces)), axis=-1)


def maxout_dense(features: int, pieces: int, spectral_norm: bool, name: str,
                 **kwargs) -> Callable[[Any, bool], Any]:
  r"""Linear maxout layer: :math:`y_j = \max_{k < p} (x W + b)_{j p + k}`, ``W`` [in, F * p].

  One dense layer of ``features * pieces`` outputs (spectrally normalised as a whole when
  ``spectral_norm``: :math:`\sigma(W) = 1` and maxout make the layer 1-Lipschitz) followed by
  :func:`maxout`; called as ``f(x, update_stats)`` like :func:`dense`.
  """
  layer = dense(features * pieces, spectral_norm, name, **kwargs)
  return lambda x, update_stats: maxout(layer(x, update_stats), pieces)

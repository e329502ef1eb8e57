"""Layer factories that switch between plain and spectrally normalised layers.

Every factory returns a callable ``f(x, update_stats)`` so that models are written once: plain layers
ignore ``update_stats``; spectral-norm layers (``jaxgan.spectral``) update their power-iteration vector
``u`` in the ``'spectral'`` collection only when it is True.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn


def _plain(layer: nn.Module) -> Callable[[Any, bool], Any]:
  return lambda x, update_stats: layer(x)


def dense(features: int, spectral_norm: bool, name: str, **kwargs) -> Callable[[Any, bool], Any]:
  if spectral_norm:
    from jaxgan import spectral  # pylint: disable=import-outside-toplevel
    layer = spectral.SNDense(features, name=name, **kwargs)
    return lambda x, update_stats: layer(x, update_stats=update_stats)
  return _plain(nn.Dense(features, name=name, **kwargs))


def conv(features: int, kernel_size, strides, spectral_norm: bool, name: str,
         **kwargs) -> Callable[[Any, bool], Any]:
  if spectral_norm:
    from jaxgan import spectral  # pylint: disable=import-outside-toplevel
    layer = spectral.SNConv(features, kernel_size, strides=strides, name=name, **kwargs)
    return lambda x, update_stats: layer(x, update_stats=update_stats)
  return _plain(nn.Conv(features, kernel_size, strides=strides, name=name, **kwargs))


def batch_norm(train: bool, axis_name: str | None, name: str) -> nn.BatchNorm:
  """Generator batch norm (momentum 0.9); with ``axis_name`` (pmap) its batch statistics are those of
  the global batch, averaged over devices."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                      axis_name=axis_name if train else None, name=name)

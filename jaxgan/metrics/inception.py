"""The FID InceptionV3 (the 2015 TensorFlow Inception graph) in Flax linen, and its weight loading.

FID [FID] and the Inception Score [IS] are defined on one specific network: the TensorFlow
``inception-2015-12-05`` graph (1008 output classes), not torchvision's or Keras' ImageNet
InceptionV3. pytorch-fid [pytorch-fid] ports it to PyTorch as torchvision's ``Inception3``
[InceptionV3] with ``num_classes=1008``, no auxiliary head and patched blocks, and jax-fid
[jax-fid] ports that to Flax. This module builds the same network; its parameter names are
pytorch-fid's ``state_dict`` keys, so the pytorch-fid weights file maps onto it one to one.

Architecture (NHWC; sizes at the 299 x 299 input). Every convolution is a ``BasicConv2d``: conv
without bias -> BatchNorm (``eps = 1e-3``, running statistics) -> ReLU::

    Conv2d_1a_3x3 (32, 3x3, stride 2)      149   Mixed_5b/5c/5d: InceptionA (pool 32/64/64)   35
    Conv2d_2a_3x3 (32, 3x3)                147   Mixed_6a: InceptionB (reduction)             17
    Conv2d_2b_3x3 (64, 3x3, pad 1)         147   Mixed_6b..6e: InceptionC (c7 128/160/160/192) 17
    max pool 3x3 stride 2                   73   Mixed_7a: InceptionD (reduction)              8
    Conv2d_3b_1x1 (80)                      73   Mixed_7b: InceptionE, avg pool branch         8
    Conv2d_4a_3x3 (192, 3x3)                71   Mixed_7c: InceptionE, *max* pool branch       8
    max pool 3x3 stride 2                   35   global average pool -> pool3 [N, 2048]
                                                 fc 2048 -> 1008 -> logits

The differences from torchvision's Inception3, as patched by pytorch-fid (``FIDInceptionA``,
``FIDInceptionC``, ``FIDInceptionE_1``, ``FIDInceptionE_2``):

* the 3x3 stride-1 average pools of the A, C and E blocks exclude the zero padding from the
  average (TensorFlow's ``avg_pool`` semantics; PyTorch ``count_include_pad=False``);
* the pool branch of the last block, Mixed_7c, is a 3x3 stride-1 *max* pool (padding 1) instead of
  an average pool (a quirk of the TF graph that FID inherited);
* 1008 classes.

Input pipeline (pytorch-fid's ``InceptionV3.forward``): images in [-1, 1] (pytorch-fid takes
[0, 1] and applies ``2x - 1`` after resizing; the two orders agree because bilinear resizing is
linear and preserves constants) are resized to 299 x 299 with bilinear interpolation, half-pixel
centres and no antialiasing (PyTorch ``F.interpolate(mode='bilinear', align_corners=False)``;
here ``jax.image.resize(..., 'bilinear', antialias=False)``, identical for up- and downsampling).
Grayscale ``[N, H, W, 1]`` images are repeated to three channels. The original TF1 FID code resizes
with TF1's ``tf.image.resize_bilinear`` (no half-pixel centres) and feeds uint8 images; those
differences move FID slightly, which is why the resizer is part of :class:`Protocol`.

Outputs (:class:`InceptionOutputs`): ``pool3`` (the 2048-d global average pool, the FID / KID
features), ``logits`` (``fc(pool3)``) and ``logits_unbiased`` (``pool3 @ W`` without the fc bias,
which is what the authors' Inception Score code and torch-fidelity's default IS feature use).

Weights. ``load_inception_params(path)`` reads pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth`` (a PyTorch ``state_dict``; reading it needs ``torch``) or
an ``.npz`` made from it by ``convert_pytorch_fid_weights(pth, out_npz)`` (loads without torch).
What is verified:

* ``.pth``: the SHA-256 of the whole file must equal :data:`PYTORCH_FID_SHA256`
  (``6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2``; 95,628,359 bytes). Its
  first 8 hex digits, ``6726825d``, are the hash prefix torch hub writes into the file name; the
  full value was not computed by jaxgan's authors (their machines could not download the file) but
  is taken from public code that pins it for this exact release URL (a genforce-derived
  ``inception.py``, ``_MODEL_URL_SHA256['tf_inception_v3']``), together with the file size; it is
  consistent with the prefix. A file whose hash
  does not start with ``6726825d`` is refused as "not the expected weights file"; one that starts
  with it but differs later is refused too. When the file name carries a torch-hub hash suffix
  (``name-<hex>.pth``, at least 8 hex digits with a letter), the content hash must also start
  with that suffix (checked even with ``expected_sha256=None``).
* every key and shape: exactly the 94 conv weights, 94 x 4 BatchNorm tensors and the 2 fc tensors
  of the network (``num_batches_tracked`` entries are allowed and ignored); a missing,
  unexpected or misshapen tensor is refused.
* ``.npz``: it records the source file's SHA-256 (``__source_sha256__``) and a SHA-256 over its own
  tensors (``__content_sha256__``: the sorted keys, shapes, dtypes and float32 bytes); both are
  re-checked on load, then keys and shapes as above. The ``.npz`` bytes themselves are not hashed
  (zip metadata is not reproducible).

References:
  [InceptionV3] Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
                CVPR 2016.
  [FID]         Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
                Nash Equilibrium", NeurIPS 2017; github.com/bioinf-jku/TTUR.
  [IS]          Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016.
  [pytorch-fid] Seitzer, "pytorch-fid: FID Score for PyTorch", github.com/mseitzer/pytorch-fid
                (``src/pytorch_fid/inception.py``).
  [jax-fid]     Wright, "jax-fid", github.com/matthias-wright/jax-fid (``jax_fid/inception.py``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import Any, Callable, Mapping, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "INPUT_SIZE",
    "MIN_INPUT_SIZE",
    "NUM_CLASSES",
    "POOL3_DIM",
    "PYTORCH_FID_FILENAME",
    "PYTORCH_FID_SHA256",
    "PYTORCH_FID_SHA256_PREFIX",
    "InceptionOutputs",
    "InceptionV3",
    "init_inception_params",
    "variables_to_state_dict",
    "state_dict_to_variables",
    "file_sha256",
    "load_inception_params",
    "convert_pytorch_fid_weights",
    "inception_features",
]

INPUT_SIZE = 299
"""Input resolution of the FID InceptionV3."""

MIN_INPUT_SIZE = 75
"""Smallest input the network accepts (Mixed_7a's stride-2 3x3 convolution needs a 3x3 map)."""

NUM_CLASSES = 1008
"""Output classes of the 2015 TF Inception graph (torchvision's ImageNet InceptionV3 has 1000)."""

POOL3_DIM = 2048
"""Dimension of the pool3 (final global average pool) features."""

PYTORCH_FID_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
"""pytorch-fid's weights file (release ``fid_weights`` of github.com/mseitzer/pytorch-fid)."""

PYTORCH_FID_SHA256_PREFIX = "6726825d"
"""The hash in :data:`PYTORCH_FID_FILENAME`: the first 8 hex digits of its SHA-256 (torch hub)."""

PYTORCH_FID_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
"""Full SHA-256 of :data:`PYTORCH_FID_FILENAME` (95,628,359 bytes), as pinned by public projects
for pytorch-fid's release URL; not recomputed here (see the module docstring)."""

_BN_EPS = 1e-3
_SOURCE_KEY = "__source_sha256__"
_CONTENT_KEY = "__content_sha256__"
_IGNORED_SUFFIX = ".num_batches_tracked"

Pad = tuple[int, int]


class InceptionOutputs(NamedTuple):
  """What :class:`InceptionV3` returns (float32)."""

  pool3: jax.Array
  """[N, 2048] global-average-pooled features (the FID / KID features)."""
  logits: jax.Array
  """[N, 1008] ``pool3 @ W + b``."""
  logits_unbiased: jax.Array
  """[N, 1008] ``pool3 @ W`` (the Inception Score code's logits, without the fc bias)."""


# ----------------------------------------------------------------------------------------------------
# Network
# ----------------------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
  """Conv (no bias) -> BatchNorm(eps=1e-3, running statistics) -> ReLU; torch names conv / bn."""

  features: int
  kernel_size: tuple[int, int]
  strides: tuple[int, int] = (1, 1)
  padding: Pad = (0, 0)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    ph, pw = self.padding
    x = nn.Conv(self.features, self.kernel_size, strides=self.strides,
                padding=((ph, ph), (pw, pw)), use_bias=False, name="conv")(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=_BN_EPS, name="bn")(x)
    return nn.relu(x)


def _conv(name: str, features: int, kernel: int | tuple[int, int], *, stride: int = 1,
          padding: int | Pad = 0) -> BasicConv2d:
  k = (kernel, kernel) if isinstance(kernel, int) else kernel
  p = (padding, padding) if isinstance(padding, int) else padding
  return BasicConv2d(features, k, (stride, stride), p, name=name)


def _avg_pool_3x3_same(x: jax.Array) -> jax.Array:
  """3x3 stride-1 average pool, padding 1, padded zeros excluded from the mean (TF semantics)."""
  return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3_same(x: jax.Array) -> jax.Array:
  """3x3 stride-1 max pool, padding 1 (the Mixed_7c quirk)."""
  return nn.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))


def _max_pool_3x3_s2(x: jax.Array) -> jax.Array:
  return nn.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")


class InceptionA(nn.Module):
  """35x35 block (pytorch-fid ``FIDInceptionA``): 64 + 64 + 96 + pool_features channels."""

  pool_features: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b1 = _conv("branch1x1", 64, 1)(x)
    b5 = _conv("branch5x5_1", 48, 1)(x)
    b5 = _conv("branch5x5_2", 64, 5, padding=2)(b5)
    b3 = _conv("branch3x3dbl_1", 64, 1)(x)
    b3 = _conv("branch3x3dbl_2", 96, 3, padding=1)(b3)
    b3 = _conv("branch3x3dbl_3", 96, 3, padding=1)(b3)
    bp = _conv("branch_pool", self.pool_features, 1)(_avg_pool_3x3_same(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  """35 -> 17 reduction (torchvision ``InceptionB``, unpatched): 384 + 96 + C_in channels."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = _conv("branch3x3", 384, 3, stride=2)(x)
    bd = _conv("branch3x3dbl_1", 64, 1)(x)
    bd = _conv("branch3x3dbl_2", 96, 3, padding=1)(bd)
    bd = _conv("branch3x3dbl_3", 96, 3, stride=2)(bd)
    return jnp.concatenate([b3, bd, _max_pool_3x3_s2(x)], axis=-1)


class InceptionC(nn.Module):
  """17x17 block with factorised 7x7 convolutions (``FIDInceptionC``): 4 x 192 channels."""

  channels_7x7: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c7 = self.channels_7x7
    b1 = _conv("branch1x1", 192, 1)(x)
    b7 = _conv("branch7x7_1", c7, 1)(x)
    b7 = _conv("branch7x7_2", c7, (1, 7), padding=(0, 3))(b7)
    b7 = _conv("branch7x7_3", 192, (7, 1), padding=(3, 0))(b7)
    bd = _conv("branch7x7dbl_1", c7, 1)(x)
    bd = _conv("branch7x7dbl_2", c7, (7, 1), padding=(3, 0))(bd)
    bd = _conv("branch7x7dbl_3", c7, (1, 7), padding=(0, 3))(bd)
    bd = _conv("branch7x7dbl_4", c7, (7, 1), padding=(3, 0))(bd)
    bd = _conv("branch7x7dbl_5", 192, (1, 7), padding=(0, 3))(bd)
    bp = _conv("branch_pool", 192, 1)(_avg_pool_3x3_same(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  """17 -> 8 reduction (torchvision ``InceptionD``, unpatched): 320 + 192 + C_in channels."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = _conv("branch3x3_1", 192, 1)(x)
    b3 = _conv("branch3x3_2", 320, 3, stride=2)(b3)
    b7 = _conv("branch7x7x3_1", 192, 1)(x)
    b7 = _conv("branch7x7x3_2", 192, (1, 7), padding=(0, 3))(b7)
    b7 = _conv("branch7x7x3_3", 192, (7, 1), padding=(3, 0))(b7)
    b7 = _conv("branch7x7x3_4", 192, 3, stride=2)(b7)
    return jnp.concatenate([b3, b7, _max_pool_3x3_s2(x)], axis=-1)


class InceptionE(nn.Module):
  """8x8 block with expanded 3x3 branches: 320 + 768 + 768 + 192 = 2048 channels.

  ``max_pool=False`` is ``FIDInceptionE_1`` (Mixed_7b, average pool excluding padding);
  ``max_pool=True`` is ``FIDInceptionE_2`` (Mixed_7c, max pool).
  """

  max_pool: bool

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b1 = _conv("branch1x1", 320, 1)(x)
    b3 = _conv("branch3x3_1", 384, 1)(x)
    b3 = jnp.concatenate([_conv("branch3x3_2a", 384, (1, 3), padding=(0, 1))(b3),
                          _conv("branch3x3_2b", 384, (3, 1), padding=(1, 0))(b3)], axis=-1)
    bd = _conv("branch3x3dbl_1", 448, 1)(x)
    bd = _conv("branch3x3dbl_2", 384, 3, padding=1)(bd)
    bd = jnp.concatenate([_conv("branch3x3dbl_3a", 384, (1, 3), padding=(0, 1))(bd),
                          _conv("branch3x3dbl_3b", 384, (3, 1), padding=(1, 0))(bd)], axis=-1)
    pooled = _max_pool_3x3_same(x) if self.max_pool else _avg_pool_3x3_same(x)
    bp = _conv("branch_pool", 192, 1)(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


def resize_images(images: jax.Array, size: int) -> jax.Array:
  """Bilinear resize of ``[N, H, W, C]`` to ``[N, size, size, C]`` like PyTorch's
  ``F.interpolate(mode='bilinear', align_corners=False)`` (half-pixel centres, no antialias)."""
  n, h, w, c = images.shape
  if (h, w) == (size, size):
    return images
  return jax.image.resize(images, (n, size, size, c), method="bilinear", antialias=False)


class InceptionV3(nn.Module):
  """The FID InceptionV3 (inference only; BatchNorm uses its running statistics).

  Attributes:
    resize_to: images are bilinearly resized to ``resize_to x resize_to`` first (299 for FID / IS;
      a smaller value, >= 75, is only for cheap tests); ``None`` feeds them as they are.
  """

  resize_to: int | None = INPUT_SIZE

  @nn.compact
  def __call__(self, images: jax.Array) -> InceptionOutputs:
    """Maps images to :class:`InceptionOutputs`.

    Args:
      images: ``[N, H, W, 3]`` RGB or ``[N, H, W, 1]`` grayscale, values in [-1, 1].

    Returns:
      ``InceptionOutputs(pool3 [N, 2048], logits [N, 1008], logits_unbiased [N, 1008])``.
    """
    x = jnp.asarray(images, jnp.float32)
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
      raise ValueError(f"images must have shape [N, H, W, 3] or [N, H, W, 1], got {x.shape}.")
    if x.shape[-1] == 1:
      x = jnp.repeat(x, 3, axis=-1)
    if self.resize_to is not None:
      if self.resize_to < MIN_INPUT_SIZE:
        raise ValueError(f"resize_to must be >= {MIN_INPUT_SIZE}, got {self.resize_to}.")
      x = resize_images(x, self.resize_to)
    if min(x.shape[1:3]) < MIN_INPUT_SIZE:
      raise ValueError(f"InceptionV3 needs inputs of at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}, "
                       f"got {x.shape[1]}x{x.shape[2]}; set resize_to.")

    x = _conv("Conv2d_1a_3x3", 32, 3, stride=2)(x)
    x = _conv("Conv2d_2a_3x3", 32, 3)(x)
    x = _conv("Conv2d_2b_3x3", 64, 3, padding=1)(x)
    x = _max_pool_3x3_s2(x)
    x = _conv("Conv2d_3b_1x1", 80, 1)(x)
    x = _conv("Conv2d_4a_3x3", 192, 3)(x)
    x = _max_pool_3x3_s2(x)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    x = InceptionC(128, name="Mixed_6b")(x)
    x = InceptionC(160, name="Mixed_6c")(x)
    x = InceptionC(160, name="Mixed_6d")(x)
    x = InceptionC(192, name="Mixed_6e")(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE(max_pool=False, name="Mixed_7b")(x)
    x = InceptionE(max_pool=True, name="Mixed_7c")(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    fc = nn.Dense(NUM_CLASSES, name="fc")
    logits = fc(pool3)
    logits_unbiased = pool3 @ fc.variables["params"]["kernel"]
    return InceptionOutputs(pool3, logits, logits_unbiased)


def init_inception_params(seed: int = 0) -> dict[str, Any]:
  """Random (untrained) variables ``{'params', 'batch_stats'}``, for tests and plumbing only.

  Drawn with NumPy (no forward pass, unlike ``InceptionV3().init``, which is slow to compile on a
  CPU): conv kernels He-normal ``N(0, 2 / fan_in)`` so activations keep their scale through the
  ReLUs, fc kernel ``N(0, 1 / 2048)``, and identity BatchNorm (scale 1, bias 0, mean 0, var 1).
  """
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    names = tuple(k.key for k in path)
    shape = leaf.shape
    if names[-1] == "kernel":
      fan_in = int(np.prod(shape[:-1]))
      gain = 1.0 if names[-2] == "fc" else 2.0
      return jnp.asarray(rng.normal(0.0, np.sqrt(gain / fan_in), shape).astype(np.float32))
    fill = 1.0 if names[-1] in ("scale", "var") else 0.0
    return jnp.full(shape, fill, jnp.float32)

  return jax.tree_util.tree_map_with_path(draw, _variable_shapes())


@functools.lru_cache(maxsize=1)
def _variable_shapes() -> dict[str, Any]:
  """The variable tree as ``jax.ShapeDtypeStruct`` leaves (traced once, no computation)."""
  model = InceptionV3(resize_to=None)
  dummy = jax.ShapeDtypeStruct((1, MIN_INPUT_SIZE, MIN_INPUT_SIZE, 3), jnp.float32)
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), dummy)
  return {k: shapes[k] for k in ("params", "batch_stats")}


# ----------------------------------------------------------------------------------------------------
# Flax variables <-> pytorch-fid state_dict
# ----------------------------------------------------------------------------------------------------

# (collection, leaf name) -> (torch suffix, Flax -> torch layout, torch -> Flax layout).
_Layout = Callable[[np.ndarray], np.ndarray]
_LEAVES: dict[tuple[str, str, str], tuple[str, _Layout, _Layout]] = {
    # Conv kernels: Flax [kh, kw, in, out] <-> torch [out, in, kh, kw].
    ("params", "conv", "kernel"): ("weight", lambda a: a.transpose(3, 2, 0, 1),
                                   lambda a: a.transpose(2, 3, 1, 0)),
    ("params", "bn", "scale"): ("weight", lambda a: a, lambda a: a),
    ("params", "bn", "bias"): ("bias", lambda a: a, lambda a: a),
    ("batch_stats", "bn", "mean"): ("running_mean", lambda a: a, lambda a: a),
    ("batch_stats", "bn", "var"): ("running_var", lambda a: a, lambda a: a),
    # Dense: Flax [in, out] <-> torch Linear [out, in].
    ("params", "fc", "kernel"): ("weight", lambda a: a.T, lambda a: a.T),
    ("params", "fc", "bias"): ("bias", lambda a: a, lambda a: a),
}


def _flat_leaves(variables: Mapping[str, Any]):
  """Yields ``(torch_key, collection, path, leaf_spec)`` for every Flax leaf."""
  for collection in ("params", "batch_stats"):
    flat = jax.tree_util.tree_flatten_with_path(dict(variables.get(collection, {})))[0]
    for key_path, leaf in flat:
      path = tuple(k.key for k in key_path)
      spec = _LEAVES.get((collection, path[-2], path[-1]))
      if spec is None:
        raise ValueError(f"unexpected Flax variable {collection}/{'/'.join(path)}.")
      torch_key = ".".join(path[:-1] + (spec[0],))
      yield torch_key, collection, path, spec, leaf


def variables_to_state_dict(variables: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """Flax ``{'params', 'batch_stats'}`` -> pytorch-fid ``state_dict`` names and layouts (NumPy)."""
  return {key: np.ascontiguousarray(spec[1](np.asarray(leaf, np.float32)))
          for key, _, _, spec, leaf in _flat_leaves(variables)}


def _set_in(tree: dict, path: tuple[str, ...], value: Any) -> None:
  for k in path[:-1]:
    tree = tree.setdefault(k, {})
  tree[path[-1]] = value


def state_dict_to_variables(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """pytorch-fid ``state_dict`` (NumPy or torch tensors) -> Flax ``{'params', 'batch_stats'}``.

  Every tensor of the network must be present with its exact shape; ``*.num_batches_tracked``
  entries are ignored; anything else raises a one-line ``ValueError``.
  """
  if not isinstance(state_dict, Mapping):
    raise ValueError(f"expected a state_dict mapping names to tensors, got "
                     f"{type(state_dict).__name__}.")
  given = {k: v for k, v in state_dict.items() if not str(k).endswith(_IGNORED_SUFFIX)}
  expected = {key: (collection, path, spec, leaf.shape)
              for key, collection, path, spec, leaf in _flat_leaves(_variable_shapes())}
  missing = sorted(set(expected) - set(given))
  unexpected = sorted(set(given) - set(expected))
  if missing or unexpected:
    raise ValueError(f"not a pytorch-fid InceptionV3 state_dict: {len(missing)} missing keys "
                     f"{missing[:3]}, {len(unexpected)} unexpected keys {unexpected[:3]}.")
  variables: dict[str, Any] = {"params": {}, "batch_stats": {}}
  for key, (collection, path, spec, flax_shape) in expected.items():
    value = given[key]
    if hasattr(value, "detach"):  # a torch tensor
      value = value.detach().cpu().float().numpy()
    value = np.asarray(value, dtype=np.float32)
    torch_shape = spec[1](np.empty(flax_shape, np.float32)).shape
    if value.shape != torch_shape:
      raise ValueError(f"not a pytorch-fid InceptionV3 state_dict: {key} has shape "
                       f"{tuple(value.shape)}, expected {tuple(torch_shape)}.")
    if not np.all(np.isfinite(value)):
      raise ValueError(f"not a usable InceptionV3 state_dict: {key} has non-finite values.")
    _set_in(variables[collection], path, jnp.asarray(spec[2](value)))
  return variables


# ----------------------------------------------------------------------------------------------------
# Weight files
# ----------------------------------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike) -> str:
  """Hex SHA-256 of a file, read in 1 MiB chunks."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def _content_sha256(tensors: Mapping[str, np.ndarray]) -> str:
  """SHA-256 over sorted keys, shapes, dtypes and C-order little-endian float32 bytes."""
  h = hashlib.sha256()
  for key in sorted(tensors):
    a = np.ascontiguousarray(tensors[key], dtype="<f4")
    h.update(f"{key}\0{a.shape}\0{a.dtype.str}\0".encode())
    h.update(a.tobytes())
  return h.hexdigest()


def _check_pth_hash(path: str, expected_sha256: str | None) -> str:
  digest = file_sha256(path)
  name = os.path.basename(path)
  # A torch-hub name ``stem-<hex prefix>.ext``; an all-digit group (a date) is not taken for one.
  match = re.search(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$", name)
  if match and re.search("[a-f]", match.group(1)) and not digest.startswith(match.group(1)):
    raise ValueError(f"{name}: SHA-256 {digest[:8]}... does not match the hash prefix "
                     f"{match.group(1)} in its file name (corrupt or renamed file).")
  if expected_sha256 is not None:
    expected_sha256 = expected_sha256.lower()
    if not digest.startswith(expected_sha256[:8]):
      raise ValueError(f"{name} is not the expected weights file: SHA-256 starts with "
                       f"{digest[:8]}, expected {expected_sha256[:8]} ({PYTORCH_FID_FILENAME} "
                       "from pytorch-fid).")
    if digest != expected_sha256:
      raise ValueError(f"{name}: SHA-256 {digest} differs from the expected {expected_sha256} "
                       f"(same {expected_sha256[:8]} prefix; refusing the file).")
  return digest


def _read_pth(path: str) -> dict[str, np.ndarray]:
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(f"reading the PyTorch weights file {os.path.basename(path)} needs torch "
                      "(pip install torch); alternatively run "
                      "jaxgan.metrics.inception.convert_pytorch_fid_weights(pth, out_npz) once "
                      "where torch is installed and load the .npz, which needs no torch.") from e
  try:
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{os.path.basename(path)} is not a readable PyTorch state_dict: "
                     f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
  if not isinstance(state_dict, Mapping) or not all(
      isinstance(v, torch.Tensor) for v in state_dict.values()):
    raise ValueError(f"{os.path.basename(path)} does not hold a state_dict of tensors.")
  return {str(k): v.detach().cpu().float().numpy() for k, v in state_dict.items()
          if not str(k).endswith(_IGNORED_SUFFIX)}


def _read_npz(path: str, expected_sha256: str | None) -> dict[str, np.ndarray]:
  name = os.path.basename(path)
  try:
    with np.load(path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{name} is not a readable .npz file: {type(e).__name__}.") from e
  if _SOURCE_KEY not in arrays or _CONTENT_KEY not in arrays:
    raise ValueError(f"{name} was not written by convert_pytorch_fid_weights (no "
                     f"{_SOURCE_KEY} / {_CONTENT_KEY} entries).")
  source = str(arrays.pop(_SOURCE_KEY))
  content = str(arrays.pop(_CONTENT_KEY))
  if _content_sha256(arrays) != content:
    raise ValueError(f"{name}: its tensors do not match their recorded SHA-256 (modified file).")
  if expected_sha256 is not None and source != expected_sha256.lower():
    raise ValueError(f"{name} was converted from a file with SHA-256 {source[:8]}..., expected "
                     f"{expected_sha256[:8]}... ({PYTORCH_FID_FILENAME}).")
  return arrays


def load_inception_params(path: str | os.PathLike, *,
                          expected_sha256: str | None = PYTORCH_FID_SHA256) -> dict[str, Any]:
  """Loads the FID InceptionV3 weights from a local file into Flax variables.

  Args:
    path: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (needs ``torch`` to read), or an
      ``.npz`` written by :func:`convert_pytorch_fid_weights` (no torch needed).
    expected_sha256: the SHA-256 the ``.pth`` file (or, for an ``.npz``, the file it was
      converted from) must have; :data:`PYTORCH_FID_SHA256` by default. ``None`` skips the hash
      check (only for your own weights: FID values are then not comparable with published ones).

  Returns:
    ``{'params': ..., 'batch_stats': ...}`` for ``InceptionV3().apply``.

  Raises:
    FileNotFoundError: no such file.
    ValueError: wrong hash, unreadable file, or wrong keys / shapes (a one-line message).
    ImportError: a ``.pth`` file and no torch installed (the message says ``pip install torch``).
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no weights file at {path!r} (download {PYTORCH_FID_FILENAME} from "
                            "github.com/mseitzer/pytorch-fid/releases/tag/fid_weights).")
  if path.endswith(".npz"):
    return state_dict_to_variables(_read_npz(path, expected_sha256))
  _check_pth_hash(path, expected_sha256)
  return state_dict_to_variables(_read_pth(path))


def convert_pytorch_fid_weights(pth: str | os.PathLike, out_npz: str | os.PathLike, *,
                                expected_sha256: str | None = PYTORCH_FID_SHA256) -> str:
  """Converts pytorch-fid's ``.pth`` (checked as in :func:`load_inception_params`) to an ``.npz``.

  The ``.npz`` holds every tensor under its ``state_dict`` name in PyTorch layout (float32), plus
  ``__source_sha256__`` (the ``.pth`` file's SHA-256) and ``__content_sha256__`` (a SHA-256 over
  the tensors) that :func:`load_inception_params` re-checks. Needs torch; the result does not.

  Args:
    pth: path of the ``.pth`` file.
    out_npz: output path (should end in ``.npz``).
    expected_sha256: as in :func:`load_inception_params`.

  Returns:
    The SHA-256 of the source ``.pth`` file.
  """
  pth = os.fspath(pth)
  out_npz = os.fspath(out_npz)
  if not out_npz.endswith(".npz"):
    raise ValueError(f"out_npz must end in .npz, got {out_npz!r}.")
  if not os.path.isfile(pth):
    raise FileNotFoundError(f"no weights file at {pth!r}.")
  digest = _check_pth_hash(pth, expected_sha256)
  tensors = _read_pth(pth)
  state_dict_to_variables(tensors)  # Validates keys and shapes before writing anything.
  np.savez(out_npz, **tensors, **{_SOURCE_KEY: np.array(digest),
                                  _CONTENT_KEY: np.array(_content_sha256(tensors))})
  return digest


# ----------------------------------------------------------------------------------------------------
# Batched feature extraction
# ----------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _jitted_apply(resize_to: int | None) -> Callable[..., InceptionOutputs]:
  return jax.jit(InceptionV3(resize_to=resize_to).apply)


def inception_features(variables: Mapping[str, Any], images: Any, *, batch_size: int = 50,
                       resize_to: int | None = INPUT_SIZE) -> InceptionOutputs:
  """Runs the network over ``images`` in jitted batches and returns NumPy float32 outputs.

  The last batch is zero-padded to ``batch_size`` (one compilation) and the padding dropped.

  Args:
    variables: from :func:`load_inception_params`.
    images: ``[N, H, W, 3]`` or ``[N, H, W, 1]`` in [-1, 1].
    batch_size: images per forward pass.
    resize_to: see :class:`InceptionV3`.

  Returns:
    :class:`InceptionOutputs` of NumPy arrays with N rows.
  """
  images = np.asarray(images, np.float32)
  if images.ndim != 4 or images.shape[0] < 1:
    raise ValueError(f"images must have shape [N, H, W, C] with N >= 1, got {images.shape}.")
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
  apply = _jitted_apply(resize_to)
  n = images.shape[0]
  batch_size = min(batch_size, n)
  outputs = []
  for start in range(0, n, batch_size):
    batch = images[start:start + batch_size]
    count = batch.shape[0]
    if count < batch_size:
      batch = np.concatenate([batch, np.zeros((batch_size - count,) + batch.shape[1:],
                                              np.float32)])
    out = apply(variables, batch)
    outputs.append([np.asarray(o)[:count] for o in out])
  return InceptionOutputs(*(np.concatenate(parts) for parts in zip(*outputs)))

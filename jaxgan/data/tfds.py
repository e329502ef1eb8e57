"""Image datasets read by random access from prepared TFDS (TensorFlow Datasets) array_record files.

Datasets (``name``: TFDS name, train split, ``sample_shape``, preprocessing):
  * ``mnist``: ``mnist``, 60,000 images, ``(32, 32, 1)``. The 28x28 digits are zero-padded by 2
    pixels on every side (black, i.e. -1 after scaling) to 32x32, the usual way of feeding MNIST to
    power-of-two DCGAN-style critics.
  * ``cifar10``: ``cifar10``, 50,000 images, ``(32, 32, 3)``, unchanged.
  * ``celeb_a_64``, ``celeb_a_128``: ``celeb_a`` (aligned 218x178 JPEGs), 162,770 images,
    ``(64, 64, 3)`` and ``(128, 128, 3)``. A 108x108 center crop (rows 55..162, columns 35..142: the
    ``center_crop`` of github.com/carpedm20/DCGAN-tensorflow, ``--input_height=108 --crop``, which
    the DCGAN-era CelebA-64 results use) resized with PIL's bicubic filter (antialiased when
    shrinking). The reference resized with ``scipy.misc.imresize`` (PIL bilinear), so pixels differ
    slightly. For 128 the 108x108 crop is *upsampled*: it holds no detail beyond 108 pixels.
  * ``lsun_bedroom_64``: ``lsun/bedroom``, 3,033,042 images of varying size (shorter side 256),
    ``(64, 64, 3)``: the largest centered square (offsets ``(h - s) // 2``, ``(w - s) // 2``)
    resized to 64x64 with PIL's bicubic filter.

Pixels: uint8 ``x`` becomes float32 ``x / 127.5 - 1`` in [-1, 1]. Images are converted to the
dataset's mode with PIL (grayscale repeated to RGB; RGBA loses its alpha). Examples that arrive
decoded (see below) get the same treatment in NumPy: gray repeated, a fourth channel dropped.

Order: like :mod:`jaxgan.data.digits`, the global example ``g`` (see :mod:`jaxgan.data.toy`) is the
row ``permutation_e[g % N]`` of the split, ``e = g // N``, with
``permutation_e = np.random.default_rng([seed, e]).permutation(N)``; ``batch`` reads exactly the
rows it returns (one batched ``__getitems__`` gather, duplicates read once), and with
``process_count > 1`` only this process's rows. ``sample(n, seed)`` concatenates permutations of the
stream ``[seed, EVAL_STREAM]``.

Reading without TensorFlow: ``tfds.data_source(name, split='train', data_dir=..., download=False)``
returns an ``ArrayRecordDataSource`` (TensorFlow is never imported). Its own default decoding
(``DESERIALIZE_AND_DECODE``) works without TensorFlow: it parses each record with TFDS's
pure-protobuf ``tf.train.Example`` copy (``ExampleParserNp``) and decodes the PNG/JPEG bytes in
``tfds.features.Image.decode_example_np`` with OpenCV if installed, else PIL. This module reads
underneath it instead: one batched gather of the serialized records from the array_record source
the TFDS data source wraps (its ``data_source`` attribute), each parsed with
``tensorflow_datasets.proto.tf_example_pb2.Example`` (protobuf only), and the ``image`` bytes
decoded by PIL and converted to ``RGB`` or ``L`` (so CMYK or palette files come out right). That
skips TFDS's per-feature Python decoding of the other features (``celeb_a`` has 51 attribute,
landmark and identity features, which cost TFDS about as much as the JPEG decode). A source
whose gather returns decoded examples (dicts with ``'image'``, as under ``tfds.testing.mock_data``)
is used as it is.
(``decoders={'image': tfds.decode.SkipDecoding()}`` would be the public way to get the bytes, but
then ``tfds.testing.mock_data`` needs TensorFlow to encode its fake images, and
``tfds.decode.PartialDecoding`` is not supported by data sources in tensorflow-datasets 4.9.10.)

Preparing the data needs TensorFlow, on a machine with internet (``pip install 'jaxgan[tf]'``, i.e.
``tensorflow``); copy the resulting ``DATA_DIR/<name>/`` folder to the training machine::

  tfds build mnist --data_dir DATA_DIR --file_format array_record
  tfds build cifar10 --data_dir DATA_DIR --file_format array_record
  tfds build celeb_a --data_dir DATA_DIR --file_format array_record
  tfds build lsun/bedroom --data_dir DATA_DIR --file_format array_record  # also: tensorflow-io

``--file_format array_record`` is required: the default, tfrecord, has no random access and
``tfds.data_source`` refuses it. What needs TensorFlow (tensorflow-datasets 4.9.10):
  * the ``tfds`` command itself: ``tfds.scripts.cli.main`` imports ``convert_format_utils``, which
    touches ``tf.train.Example`` at import, so ``tfds build --help`` already fails without it
    (calling ``tfds.builder(name, data_dir=..., file_format='array_record').download_and_prepare()``
    from Python avoids only this);
  * ``download_and_prepare`` of all four: archive extraction and iteration in
    ``tfds.core.download.extractor`` write and open files with ``tf.io.gfile`` (MNIST's ``.gz``
    files, CIFAR-10's ``.tar.gz``, CelebA's ``img_align_celeba.zip``);
  * ``mnist`` and ``cifar10``: the builders read the extracted files with ``tf.io.gfile.GFile`` and
    yield NumPy images, which ``tfds.features.Image`` encodes to PNG with ``tf.image.encode_png``;
  * ``celeb_a`` and ``lsun/bedroom``: above 1 GB of examples the shuffler spills to bucket files
    written with ``tf.io.gfile``; CelebA also downloads from Google Drive, which often refuses
    automated downloads (then place the files in ``DATA_DIR/downloads/manual``);
  * ``lsun/bedroom``: the builder reads the LMDB inside ``tf.Graph()`` with
    ``tensorflow_io.IODataset.from_lmdb`` (``pip install tensorflow-io``) and downloads ~43 GB.
  The TFDS core itself (``GeneratorBasedBuilder.download_and_prepare`` writing array_record files
  and ``dataset_info.json``) runs without TensorFlow for a builder that downloads nothing and
  yields encoded image bytes (the tests build their fixtures that way), and reading
  (``tfds.data_source``) never needs it.

A dataset missing from ``data_dir`` raises ``FileNotFoundError`` with a one-line message naming the
dataset, the directory and the ``tfds build`` command above; one prepared only as tfrecord raises
``ValueError`` saying to rebuild with ``--file_format array_record``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pathlib
from typing import Any

import numpy as np
import PIL.Image

from jaxgan.data.shuffled import ShuffledImages, shuffled_indices, to_float

__all__ = [
    "TFDS_DATASETS",
    "TFDS_SHAPES",
    "ShuffledImages",
    "TfdsImages",
    "center_crop_resize",
    "decode_example_image",
    "shuffled_indices",
    "to_float",
]

_RESAMPLE = PIL.Image.Resampling.BICUBIC


@dataclasses.dataclass(frozen=True)
class _Spec:
  """How one jaxgan dataset reads and preprocesses its TFDS dataset."""

  tfds_name: str
  sample_shape: tuple[int, int, int]
  pad: int = 0            # zero padding on every side (mnist)
  crop: int | None = None  # center crop side; None with resize: the largest centered square
  resize: bool = False     # center-crop then resize to sample_shape[:2] with PIL bicubic


_SPECS: dict[str, _Spec] = {
    "mnist": _Spec("mnist", (32, 32, 1), pad=2),
    "cifar10": _Spec("cifar10", (32, 32, 3)),
    "celeb_a_64": _Spec("celeb_a", (64, 64, 3), crop=108, resize=True),
    "celeb_a_128": _Spec("celeb_a", (128, 128, 3), crop=108, resize=True),
    "lsun_bedroom_64": _Spec("lsun/bedroom", (64, 64, 3), resize=True),
}

TFDS_DATASETS: tuple[str, ...] = tuple(_SPECS)
"""The names of the TFDS-backed datasets."""

TFDS_SHAPES: dict[str, tuple[int, int, int]] = {k: v.sample_shape for k, v in _SPECS.items()}
"""``sample_shape`` of every TFDS-backed dataset."""

_EXTRA_PREP = {"lsun/bedroom": " and tensorflow-io"}


def _build_command(tfds_name: str, data_dir: str) -> str:
  return f"tfds build {tfds_name} --data_dir {data_dir} --file_format array_record"


def _open_source(name: str, tfds_name: str, data_dir: str) -> Any:
  """``tfds.data_source(tfds_name, split='train')`` from ``data_dir``, or a one-line error."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow import, lazily)

  try:
    source = tfds.data_source(tfds_name, split="train", data_dir=data_dir, download=False)
    if len(source):
      source[0]  # pylint: disable=pointless-statement  (opens the files: fail here, not mid-run)
    return source
  except Exception as err:  # pylint: disable=broad-except  (diagnosed from the files below)
    root = pathlib.Path(data_dir, *tfds_name.split("/"))
    infos = sorted(root.glob("*/dataset_info.json"))
    arrays = sorted(root.glob("*/*.array_record-*"))
    extra = _EXTRA_PREP.get(tfds_name, "")
    if not infos:
      raise FileNotFoundError(
          f"dataset {name!r}: TFDS dataset {tfds_name!r} is not prepared in data_dir {data_dir!r} "
          f"(no {root}/<version>/dataset_info.json); prepare it on a machine with internet and "
          f"TensorFlow{extra} (pip install 'jaxgan[tf]'): {_build_command(tfds_name, data_dir)}"
      ) from err
    if not arrays:
      raise ValueError(
          f"dataset {name!r}: TFDS dataset {tfds_name!r} in data_dir {data_dir!r} has no "
          f"array_record files (random access needs them; tfds build writes tfrecord by default); "
          f"rebuild it with TensorFlow{extra}: {_build_command(tfds_name, data_dir)}") from err
    raise


def _channels(image: np.ndarray, channels: int, where: str) -> np.ndarray:
  """``image`` as uint8 ``[H, W, channels]`` (gray repeated to RGB, a 4th channel dropped)."""
  image = np.asarray(image)
  if image.dtype != np.uint8:
    raise ValueError(f"{where}: expected a uint8 image, got {image.dtype}.")
  if image.ndim == 2:
    image = image[..., None]
  if image.ndim != 3:
    raise ValueError(f"{where}: expected an image [H, W, C], got shape {image.shape}.")
  have = image.shape[-1]
  if have == channels:
    return image
  if channels == 3 and have == 1:
    return np.repeat(image, 3, axis=-1)
  if channels == 3 and have == 4:
    return image[..., :3]
  raise ValueError(f"{where}: an image of shape {image.shape} cannot give {channels} channels.")


def center_crop_resize(image: np.ndarray, size: int, crop: int | None = None) -> np.ndarray:
  """Center crop (side ``crop``, default the shorter side) and bicubic resize to ``size``.

  The crop's top-left corner is ``((h - s) // 2, (w - s) // 2)``; the resize uses PIL's bicubic
  filter (antialiased when shrinking) and is skipped when the crop already has side ``size``.

  Args:
    image: uint8 ``[H, W, C]`` with ``C`` 1 or 3.
    size: the output side.
    crop: the crop side, at most ``min(H, W)``; ``None`` for ``min(H, W)``.

  Returns:
    uint8 ``[size, size, C]``.
  """
  h, w, c = image.shape
  s = min(h, w) if crop is None else crop
  if s > min(h, w):
    raise ValueError(f"cannot center-crop {s}x{s} from an image of {h}x{w}.")
  top, left = (h - s) // 2, (w - s) // 2
  image = image[top:top + s, left:left + s]
  if s == size:
    return np.ascontiguousarray(image)
  pil = PIL.Image.fromarray(image[..., 0] if c == 1 else image)
  out = np.asarray(pil.resize((size, size), _RESAMPLE), dtype=np.uint8)
  return out[..., None] if c == 1 else out


def decode_example_image(record: bytes | bytearray | memoryview, channels: int,
                         where: str = "record") -> np.ndarray:
  """The ``image`` feature of a serialized TFDS ``tf.train.Example``, decoded by PIL (no TF).

  Args:
    record: the serialized example, as stored in a TFDS array_record file.
    channels: 3 to convert the image to ``RGB``, 1 for ``L``.
    where: names the record in error messages.

  Returns:
    uint8 ``[H, W, channels]``.
  """
  from tensorflow_datasets.proto import tf_example_pb2  # pylint: disable=g-import-not-at-top

  example = tf_example_pb2.Example.FromString(bytes(record))
  feature = example.features.feature.get("image")
  if feature is None or len(feature.bytes_list.value) != 1:
    raise ValueError(f"{where}: no single encoded 'image' in the example.")
  mode = "RGB" if channels == 3 else "L"
  with PIL.Image.open(io.BytesIO(feature.bytes_list.value[0])) as image:
    if image.mode != mode:
      image = image.convert(mode)
    array = np.asarray(image, dtype=np.uint8)
  return array[..., None] if array.ndim == 2 else array


class TfdsImages(ShuffledImages):
  """One of ``TFDS_DATASETS``, read from ``tfds.data_source``; see the module docstring.

  Attributes:
    tfds_name: the TFDS dataset name (``'lsun/bedroom'`` for ``lsun_bedroom_64``).
    data_dir: the TFDS data directory.
    source: the ``tfds.data_source`` of the train split (random access by row).
    size: the number of training images.
  """

  def __init__(self, name: str, seed: int, data_dir: str | os.PathLike[str],
               source: Any = None) -> None:
    """Opens the dataset.

    Args:
      name: one of ``TFDS_DATASETS``.
      seed: the non-negative seed of the shuffling.
      data_dir: the TFDS data directory holding the prepared dataset.
      source: a ready data source to use instead of ``tfds.data_source`` (tests, custom splits):
        a TFDS data source, or a sequence of example dicts with a uint8 ``'image'`` (with or
        without a batched ``__getitems__``).

    Raises:
      ValueError: unknown ``name``, an empty split, or a dataset prepared without array_record.
      FileNotFoundError: the dataset is not prepared in ``data_dir``.
    """
    super().__init__(seed)
    if name not in _SPECS:
      raise ValueError(f"TFDS dataset must be one of {', '.join(TFDS_DATASETS)}, got {name!r}")
    self.name = name
    self._spec = _SPECS[name]
    self.sample_shape = self._spec.sample_shape
    self.tfds_name = self._spec.tfds_name
    self.data_dir = os.path.expanduser(os.fspath(data_dir))
    self.source = (_open_source(name, self.tfds_name, self.data_dir)
                   if source is None else source)
    self.size = len(self.source)
    if self.size == 0:
      raise ValueError(f"dataset {name!r}: the train split of {self.tfds_name!r} in "
                       f"{self.data_dir!r} is empty.")

  def _prepare(self, image: np.ndarray, row: int) -> np.ndarray:
    spec = self._spec
    where = f"dataset {self.name!r}, row {row}"
    image = _channels(image, spec.sample_shape[-1], where)
    if spec.pad:
      p = spec.pad
      image = np.pad(image, ((p, p), (p, p), (0, 0)))
    if spec.resize:
      image = center_crop_resize(image, spec.sample_shape[0], spec.crop)
    if image.shape != spec.sample_shape:
      raise ValueError(f"{where}: image of shape {image.shape} after preprocessing, expected "
                       f"{spec.sample_shape}.")
    return image

  def _load(self, rows: np.ndarray) -> np.ndarray:
    keys = [int(r) for r in rows]
    # One batched gather (array_record reads in parallel): serialized records from the array_record
    # source under a TFDS data source, else whatever the source's own gather returns.
    inner = getattr(self.source, "data_source", None)
    if inner is not None and hasattr(inner, "__getitems__"):
      records = inner.__getitems__(keys)
    elif hasattr(self.source, "__getitems__"):
      records = self.source.__getitems__(keys)
    else:
      records = [self.source[k] for k in keys]
    if len(records) != len(keys):
      raise IndexError(f"dataset {self.name!r}: asked for {len(keys)} rows, got {len(records)}.")
    return np.stack([self._prepare(self._image(record, row), row)
                     for record, row in zip(records, keys)])

  def _image(self, record: Any, row: int) -> np.ndarray:
    """The image of one record: serialized ``tf.train.Example`` bytes, or a decoded example."""
    if isinstance(record, (bytes, bytearray, memoryview)):
      where = f"dataset {self.name!r}, row {row}"
      return decode_example_image(record, self.sample_shape[-1], where)
    return record["image"]

  def __repr__(self) -> str:
    return f"TfdsImages(name={self.name!r}, seed={self.seed}, data_dir={self.data_dir!r})"

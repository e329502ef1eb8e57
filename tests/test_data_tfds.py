"""Tests of the file-backed datasets: jaxgan.data.tfds (TFDS array_record) and image_folder.

No dataset is downloaded. Two kinds of TFDS fixtures:
  * ``tfds.testing.mock_data`` (``MockPolicy.USE_CODE``): random examples with the real feature
    specs of ``mnist``, ``cifar10``, ``celeb_a`` (218x178x3) and ``lsun/bedroom`` (random sizes),
    served through the real ``tfds.data_source`` -> ``ArrayRecordDataSource`` code (the mocked
    array_record source returns decoded examples, so jaxgan's decoded-example path runs).
    tensorflow-datasets 4.9.10's mock assigns ``__getitems__`` to a ``MagicMock`` instance as a
    ``functools.partial`` that expects the data source as first argument, which ``MagicMock`` does
    not bind for a non-standard dunder, so every batched gather raises ``TypeError``;
    ``_BatchedSourceMock`` binds it. Nothing else of the mock is changed.
  * tiny real datasets prepared in ``tmp_path`` without TensorFlow: the registered builders are
    subclassed (same ``name``, config and version) to yield a few encoded PNG/JPEG images from
    memory instead of downloading, and ``download_and_prepare`` writes array_record files. Reading
    them checks the real path (serialized records, protobuf parse, PIL decode) and that TensorFlow
    is not imported.
"""

from __future__ import annotations

import contextlib
import functools
import io
import pathlib
import sys

from etils import epath
import numpy as np
import PIL.Image
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.datasets.celeb_a import celeb_a_dataset_builder as celeb_a_lib
from tensorflow_datasets.image import lsun as lsun_lib
from tensorflow_datasets.image_classification import cifar as cifar_lib
from tensorflow_datasets.image_classification import mnist as mnist_lib
from tensorflow_datasets.proto import tf_example_pb2
from tensorflow_datasets.testing import mocking

from jaxgan.data import (ALL_DATASETS, DATASET_SHAPES, DATASETS, FILE_DATASETS, TFDS_DATASETS,
                         ImageFolder, TfdsImages, make_dataset)
from jaxgan.data.tfds import decode_example_image
from jaxgan.data.toy import global_rows

TFDS_NAMES = {"mnist": "mnist", "cifar10": "cifar10", "celeb_a_64": "celeb_a",
              "celeb_a_128": "celeb_a", "lsun_bedroom_64": "lsun/bedroom"}
N = 37  # Examples of every mocked split: not a multiple of the batch sizes, so batches straddle.
BICUBIC = PIL.Image.Resampling.BICUBIC


class _BatchedSourceMock(mocking.PickableDataSourceMock):
  """``PickableDataSourceMock`` whose ``__getitems__`` works (binds the mock as ``self``)."""

  def __setattr__(self, name, value):
    if name == "__getitems__" and isinstance(value, functools.partial):
      value = functools.partial(value, self)
    super().__setattr__(name, value)


@contextlib.contextmanager
def _mocked(num_examples: int = N):
  with tfds.testing.mock_data(num_examples=num_examples, policy=tfds.testing.MockPolicy.USE_CODE,
                              mock_array_record_data_source=_BatchedSourceMock()):
    yield


class _Recorder:
  """Wraps a data source and records the keys of every batched gather."""

  def __init__(self, source):
    self.source = source
    self.calls: list[list[int]] = []

  def __len__(self):
    return len(self.source)

  def __getitem__(self, key):
    return self.source[key]

  def __getitems__(self, keys):
    self.calls.append(list(keys))
    return self.source.__getitems__(keys)


def _expected_uint8(name: str, raw: np.ndarray) -> np.ndarray:
  """The module's preprocessing, written out independently."""
  if name == "mnist":
    return np.pad(raw, ((2, 2), (2, 2), (0, 0)))
  if name == "cifar10":
    return raw
  h, w = raw.shape[:2]
  if name.startswith("celeb_a"):
    assert (h, w) == (218, 178)
    crop = raw[55:163, 35:143]  # carpedm20 center_crop(108): round((218-108)/2), round((178-108)/2)
  else:  # lsun_bedroom_64: largest centered square.
    s = min(h, w)
    crop = raw[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
  size = DATASET_SHAPES[name][0]
  return np.asarray(PIL.Image.fromarray(crop).resize((size, size), BICUBIC))


def _one_line(err: BaseException) -> str:
  message = str(err)
  assert "\n" not in message, message
  return message


# --- make_dataset and the name tables.


def test_names_and_shapes():
  assert ALL_DATASETS[:len(DATASETS)] == DATASETS
  assert FILE_DATASETS == ("mnist", "cifar10", "celeb_a_64", "celeb_a_128", "lsun_bedroom_64",
                           "image_folder")
  assert ALL_DATASETS == DATASETS + FILE_DATASETS
  assert set(DATASET_SHAPES) == set(ALL_DATASETS)
  assert DATASET_SHAPES["mnist"] == (32, 32, 1) and DATASET_SHAPES["cifar10"] == (32, 32, 3)
  assert DATASET_SHAPES["celeb_a_64"] == (64, 64, 3)
  assert DATASET_SHAPES["celeb_a_128"] == (128, 128, 3)
  assert DATASET_SHAPES["lsun_bedroom_64"] == (64, 64, 3)
  assert DATASET_SHAPES["image_folder"] is None
  for name in DATASETS:
    assert make_dataset(name, 0).sample_shape == DATASET_SHAPES[name]


def test_make_dataset_errors(tmp_path):
  with pytest.raises(ValueError, match=r"^dataset must be one of .*got 'imagenet'$") as info:
    make_dataset("imagenet", 0, data_dir=str(tmp_path))
  for name in ALL_DATASETS:
    assert name in _one_line(info.value)
  with pytest.raises(ValueError, match=r"^dataset must be one of .*got 'cifar10'.*data_dir"):
    make_dataset("cifar10", 0)
  with pytest.raises(ValueError, match="image_size"):
    make_dataset("image_folder", 0, data_dir=str(tmp_path))


@pytest.mark.parametrize("name", ["ring8", "digits", "twentyfive_gaussians", "swiss_roll"])
def test_process_shards_of_in_memory_datasets(name):
  ds = make_dataset(name, 4)
  full = ds.batch(3, 2, 12)
  parts = [ds.batch(3, 2, 12, process_index=p, process_count=3) for p in range(3)]
  assert all(part.shape == (2, 4) + ds.sample_shape for part in parts)
  np.testing.assert_array_equal(np.concatenate(parts, axis=1), full)
  np.testing.assert_array_equal(ds.batch(3, 2, 12, 0, 1), full)
  with pytest.raises(ValueError, match="multiple of process_count"):
    ds.batch(3, 2, 12, process_index=0, process_count=5)
  with pytest.raises(ValueError, match="process_index"):
    ds.batch(3, 2, 12, process_index=3, process_count=3)


# --- TFDS datasets on tfds.testing.mock_data.


@pytest.mark.parametrize("name", TFDS_DATASETS)
def test_mock_batches(name, tmp_path):
  with _mocked():
    ds = make_dataset(name, 7, data_dir=str(tmp_path))
    assert isinstance(ds, TfdsImages) and ds.name == name and ds.modes is None
    assert ds.size == N and ds.sample_shape == DATASET_SHAPES[name]
    b = ds.batch(2, 3, 8)  # global examples 48 .. 71: epochs 1 and 2 of 37.
    assert b.shape == (3, 8) + ds.sample_shape and b.dtype == np.float32
    assert b.min() >= -1.0 and b.max() <= 1.0 and b.min() < -0.9 and b.max() > 0.9
    rows = ds.batch_indices(2, 3, 8)
    np.testing.assert_array_equal(rows, ds.rows_of(48 + np.arange(24).reshape(3, 8)))
    # Pixels: the decoded example of each row, preprocessed, scaled by x / 127.5 - 1.
    for k, i in [(0, 0), (1, 5), (2, 7)]:
      raw = ds.source[int(rows[k, i])]["image"]
      expected = _expected_uint8(name, raw).reshape(ds.sample_shape)
      np.testing.assert_allclose(b[k, i], expected.astype(np.float32) / 127.5 - 1.0, atol=1e-6)
    # Stateless and seeded: same arguments, same batch, from any instance; other steps/seeds differ.
    np.testing.assert_array_equal(make_dataset(name, 7, data_dir=str(tmp_path)).batch(2, 3, 8), b)
    assert not np.array_equal(ds.batch(3, 3, 8), b)
    assert not np.array_equal(make_dataset(name, 8, data_dir=str(tmp_path)).batch(2, 3, 8), b)
    s = ds.sample(5, seed=1)
    assert s.shape == (5,) + ds.sample_shape and s.dtype == np.float32
    np.testing.assert_array_equal(ds.sample(5, seed=1), s)
    assert ds.sample(0, seed=1).shape == (0,) + ds.sample_shape


def test_mock_epochs_cover_every_row_once(tmp_path):
  with _mocked():
    ds = make_dataset("cifar10", 3, data_dir=str(tmp_path))
    # batch_size 10, n_critic 2: 20 examples a step; steps 0..5 cover g = 0..119 (3 epochs of 37
    # and 9 more), with batches straddling the epoch boundaries at 37, 74 and 111.
    idx = np.concatenate([ds.batch_indices(s, 2, 10).ravel() for s in range(6)])
    for e in range(3):
      epoch = idx[e * N:(e + 1) * N]
      np.testing.assert_array_equal(np.sort(epoch), np.arange(N))
      np.testing.assert_array_equal(epoch, np.random.default_rng([3, e]).permutation(N))
    assert not np.array_equal(idx[:N], idx[N:2 * N])
    # A straddling batch holds the rows its indices name, and reads each distinct row once.
    ds.source = _Recorder(ds.source)
    b = ds.batch(1, 2, 10)
    np.testing.assert_array_equal(b, ds.read(ds.batch_indices(1, 2, 10)))
    first_call = ds.source.calls[0]
    assert first_call == sorted(set(first_call))
    assert set(first_call) == set(ds.batch_indices(1, 2, 10).ravel().tolist())
    # Evaluation sample: no repeat before all N rows appeared.
    s = ds.sample(N, seed=0).reshape(N, -1)
    assert len(np.unique(s, axis=0)) == N


@pytest.mark.parametrize("name", ["mnist", "lsun_bedroom_64"])
def test_mock_process_shards(name, tmp_path):
  with _mocked():
    ds = make_dataset(name, 5, data_dir=str(tmp_path))
    full = ds.batch(4, 2, 12)
    full_rows = ds.batch_indices(4, 2, 12)
    ds.source = _Recorder(ds.source)
    parts, shard_rows = [], []
    for p in range(4):
      ds.source.calls.clear()
      part = ds.batch(4, 2, 12, process_index=p, process_count=4)
      rows = ds.batch_indices(4, 2, 12, process_index=p, process_count=4)
      assert part.shape == (2, 3) + ds.sample_shape and rows.shape == (2, 3)
      # Only this process's rows are read, in one gather.
      assert len(ds.source.calls) == 1
      assert set(ds.source.calls[0]) == set(rows.ravel().tolist())
      parts.append(part)
      shard_rows.append(rows)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), full)
    np.testing.assert_array_equal(np.concatenate(shard_rows, axis=1), full_rows)
    # The shares of global examples are disjoint and make up the step's 24 examples.
    shares = np.concatenate([global_rows(4, 2, 12, p, 4).ravel() for p in range(4)])
    np.testing.assert_array_equal(np.sort(shares), 4 * 24 + np.arange(24))


@pytest.mark.parametrize("name", TFDS_DATASETS)
def test_missing_dataset_error(name, tmp_path):
  data_dir = str(tmp_path / "tfds")
  with pytest.raises(FileNotFoundError) as info:
    make_dataset(name, 0, data_dir=data_dir)
  message = _one_line(info.value)
  tfds_name = TFDS_NAMES[name]
  assert f"dataset {name!r}" in message and repr(data_dir) in message
  assert f"tfds build {tfds_name} --data_dir {data_dir} --file_format array_record" in message
  assert "TensorFlow" in message and "jaxgan[tf]" in message
  assert not (tmp_path / "tfds" / tfds_name.split("/")[0]).exists()  # Nothing downloaded/created.


# --- Tiny real array_record datasets, prepared without TensorFlow.


def _encode(image: np.ndarray, fmt: str) -> bytes:
  buf = io.BytesIO()
  PIL.Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, format=fmt)
  return buf.getvalue()


def _images(shape, count, seed):
  return np.random.default_rng(seed).integers(0, 256, (count,) + shape, dtype=np.uint8)


_MNIST = _images((28, 28, 1), 10, 0)  # label i identifies image i.
_CIFAR = _images((32, 32, 3), 9, 1)
_CELEB_A = [_encode(x, "JPEG") for x in _images((218, 178, 3), 5, 2)]
_LSUN = [_encode(_images(shape, 1, 3 + i)[0], "JPEG")
         for i, shape in enumerate([(48, 64, 3), (64, 40, 3), (50, 50, 3), (70, 66, 3)])]


class _TinyMnist(mnist_lib.MNIST, skip_registration=True):
  name = "mnist"

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples()}

  def _generate_examples(self):  # pylint: disable=arguments-differ
    for i, image in enumerate(_MNIST):
      yield i, {"image": _encode(image, "PNG"), "label": i}


class _TinyCifar10(cifar_lib.Cifar10, skip_registration=True):
  name = "cifar10"

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples()}

  def _generate_examples(self):  # pylint: disable=arguments-differ
    for i, image in enumerate(_CIFAR):
      yield i, {"id": f"train_{i:05d}", "image": _encode(image, "PNG"), "label": i % 10}


class _TinyCelebA(celeb_a_lib.Builder, skip_registration=True):
  name = "celeb_a"
  pkg_dir_path = epath.Path(celeb_a_lib.__file__).parent  # Its README/CITATIONS metadata.

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples()}

  def _generate_examples(self):  # pylint: disable=arguments-differ
    for i, jpeg in enumerate(_CELEB_A):
      yield f"{i:06d}.jpg", {
          "image": jpeg,
          "landmarks": {k: 0 for k in celeb_a_lib.LANDMARK_HEADINGS},
          "attributes": {k: False for k in celeb_a_lib.ATTR_HEADINGS},
          "identity": {k: i for k in celeb_a_lib.IDENTITY_HEADINGS},
      }


class _TinyLsun(lsun_lib.Lsun, skip_registration=True):
  name = "lsun"

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples()}

  def _generate_examples(self):  # pylint: disable=arguments-differ
    for i, jpeg in enumerate(_LSUN):
      yield i, {"id": f"{i:040d}", "image": jpeg}


@pytest.fixture(scope="module")
def real_data_dir(tmp_path_factory) -> pathlib.Path:
  data_dir = tmp_path_factory.mktemp("tfds_data")
  config = tfds.download.DownloadConfig(compute_stats=tfds.download.ComputeStatsMode.SKIP)
  for builder in (_TinyMnist(data_dir=data_dir, file_format="array_record"),
                  _TinyCifar10(data_dir=data_dir, file_format="array_record"),
                  _TinyCelebA(data_dir=data_dir, file_format="array_record"),
                  _TinyLsun(config="bedroom", data_dir=data_dir, file_format="array_record")):
    builder.download_and_prepare(download_config=config)
  assert "tensorflow" not in sys.modules
  return data_dir


def _generation_order(ds, key) -> np.ndarray:
  """``order[row]``: the generated example stored at ``row`` (TFDS shuffles when it writes)."""
  order = np.array([key(ds.source[row]) for row in range(ds.size)])
  np.testing.assert_array_equal(np.sort(order), np.arange(ds.size))
  return order


def test_real_array_record_datasets_without_tensorflow(real_data_dir):
  data_dir = str(real_data_dir)
  mnist = make_dataset("mnist", 0, data_dir=data_dir)
  assert mnist.size == len(_MNIST)
  # The raw path: the array_record source under the TFDS data source serves serialized examples.
  assert isinstance(mnist.source.data_source.__getitems__([0])[0], bytes)
  order = _generation_order(mnist, lambda ex: int(ex["label"]))
  rows = mnist.batch_indices(1, 2, 4)
  expected = np.pad(_MNIST[order[rows]], ((0, 0), (0, 0), (2, 2), (2, 2), (0, 0)))
  np.testing.assert_array_equal(mnist.batch(1, 2, 4), expected / np.float32(127.5) - 1)

  cifar = make_dataset("cifar10", 0, data_dir=data_dir)
  assert cifar.size == len(_CIFAR)
  order = _generation_order(cifar, lambda ex: int(ex["id"].decode()[len("train_"):]))
  rows = cifar.batch_indices(0, 1, 9)
  np.testing.assert_array_equal(np.sort(rows.ravel()), np.arange(9))  # One epoch, every row once.
  np.testing.assert_array_equal(cifar.batch(0, 1, 9), _CIFAR[order[rows]] / np.float32(127.5) - 1)
  parts = [cifar.batch(0, 1, 9, process_index=p, process_count=3) for p in range(3)]
  np.testing.assert_array_equal(np.concatenate(parts, axis=1), cifar.batch(0, 1, 9))

  for name, jpegs, key in [
      ("celeb_a_64", _CELEB_A, lambda ex: int(ex["identity"]["Identity_No"])),
      ("celeb_a_128", _CELEB_A, lambda ex: int(ex["identity"]["Identity_No"])),
      ("lsun_bedroom_64", _LSUN, lambda ex: int(ex["id"].decode()))]:
    ds = make_dataset(name, 1, data_dir=data_dir)
    assert ds.size == len(jpegs)
    order = _generation_order(ds, key)
    rows = ds.batch_indices(0, 1, len(jpegs))[0]
    b = ds.batch(0, 1, len(jpegs))[0]
    for i, row in enumerate(rows):
      # The JPEG bytes, decoded by PIL as TFDS does, then preprocessed.
      raw = np.asarray(PIL.Image.open(io.BytesIO(jpegs[order[row]])))
      np.testing.assert_array_equal(b[i], _expected_uint8(name, raw) / np.float32(127.5) - 1)
  assert "tensorflow" not in sys.modules


def _serialized_example(image_bytes: bytes) -> bytes:
  example = tf_example_pb2.Example()
  example.features.feature["image"].bytes_list.value.append(image_bytes)
  return example.SerializeToString()


def test_decode_example_image_converts_modes():
  rgb = _images((8, 8, 3), 1, 0)[0]
  gray = _images((8, 8, 1), 1, 1)[0]
  png = _serialized_example(_encode(rgb, "PNG"))
  np.testing.assert_array_equal(decode_example_image(png, 3), rgb)
  # A grayscale file in an RGB dataset: repeated to three channels.
  gray_png = _serialized_example(_encode(gray, "PNG"))
  np.testing.assert_array_equal(decode_example_image(gray_png, 3), np.repeat(gray, 3, axis=-1))
  np.testing.assert_array_equal(decode_example_image(gray_png, 1), gray)
  # CMYK JPEG and palette PNG: converted by PIL, as PIL converts them to RGB.
  for pil in (PIL.Image.fromarray(rgb).convert("CMYK"),
              PIL.Image.fromarray(rgb).convert("P", palette=PIL.Image.Palette.ADAPTIVE)):
    buf = io.BytesIO()
    pil.save(buf, format="JPEG" if pil.mode == "CMYK" else "PNG")
    expected = np.asarray(PIL.Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    np.testing.assert_array_equal(decode_example_image(_serialized_example(buf.getvalue()), 3),
                                  expected)
  with pytest.raises(ValueError, match="no single encoded 'image'"):
    decode_example_image(tf_example_pb2.Example().SerializeToString(), 3)


def test_custom_source_of_decoded_examples():
  # A plain list of example dicts (no batched gather): gray 32x32 images in an RGB dataset.
  images = _images((32, 32, 1), 6, 5)
  ds = TfdsImages("cifar10", 0, data_dir="unused", source=[{"image": x} for x in images])
  assert ds.size == 6
  rows = ds.batch_indices(0, 1, 6)
  np.testing.assert_array_equal(ds.batch(0, 1, 6),
                                np.repeat(images[rows], 3, axis=-1) / np.float32(127.5) - 1)


def test_not_array_record_error(real_data_dir, tmp_path):
  # A prepared dataset without array_record files (e.g. the default tfrecord format).
  data_dir = tmp_path / "copy"
  src = real_data_dir / "mnist"
  for path in src.rglob("*"):
    if path.is_file() and ".array_record" not in path.name:
      dest = data_dir / "mnist" / path.relative_to(src)
      dest.parent.mkdir(parents=True, exist_ok=True)
      dest.write_bytes(path.read_bytes())
  with pytest.raises(ValueError) as info:
    make_dataset("mnist", 0, data_dir=str(data_dir))
  message = _one_line(info.value)
  assert "array_record" in message and repr(str(data_dir)) in message
  assert f"tfds build mnist --data_dir {data_dir} --file_format array_record" in message


# --- image_folder.


def _write(path: pathlib.Path, image: np.ndarray, fmt: str = "PNG") -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  PIL.Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path, format=fmt)


@pytest.fixture()
def folder(tmp_path):
  """10 RGB 16x16 PNGs in nested folders (sorted order b/..., c/..., top), plus a non-image file."""
  root = tmp_path / "images"
  images = _images((16, 16, 3), 10, 7)
  names = ["b/00.png", "b/01.PNG", "b/x/02.png", "c/03.png", "c/04.png", "c/05.png", "c/06.png",
           "d07.png", "d08.png", "d09.png"]
  for name, image in zip(names, images):
    _write(root / name, image)
  (root / "notes.txt").write_text("not an image")
  return root, images


def test_image_folder_batches(folder):
  root, images = folder
  ds = make_dataset("image_folder", 2, data_dir=str(root), image_size=16)
  assert isinstance(ds, ImageFolder) and ds.name == "image_folder" and ds.modes is None
  assert ds.size == 10 and ds.sample_shape == (16, 16, 3)
  assert [p.relative_to(root).as_posix() for p in ds.paths][:3] == ["b/00.png", "b/01.PNG",
                                                                    "b/x/02.png"]
  np.testing.assert_array_equal(ds.read(np.arange(10)), images / np.float32(127.5) - 1)
  b = ds.batch(1, 2, 4)  # global examples 8 .. 15: straddles epochs 0 and 1.
  assert b.shape == (2, 4, 16, 16, 3) and b.dtype == np.float32
  assert b.min() >= -1 and b.max() <= 1
  rows = ds.batch_indices(1, 2, 4)
  np.testing.assert_array_equal(b, images[rows] / np.float32(127.5) - 1)
  np.testing.assert_array_equal(
      make_dataset("image_folder", 2, data_dir=str(root), image_size=16).batch(1, 2, 4), b)
  assert not np.array_equal(ds.batch(2, 2, 4), b)
  idx = np.concatenate([ds.batch_indices(s, 2, 5).ravel() for s in range(3)])  # 3 epochs of 10.
  for e in range(3):
    np.testing.assert_array_equal(idx[10 * e:10 * (e + 1)],
                                  np.random.default_rng([2, e]).permutation(10))
  parts = [ds.batch(1, 2, 4, process_index=p, process_count=2) for p in range(2)]
  np.testing.assert_array_equal(np.concatenate(parts, axis=1), b)
  assert ds.sample(10, seed=0).shape == (10, 16, 16, 3)


def test_image_folder_resize_gray_jpeg_and_cache(tmp_path):
  root = tmp_path / "gray"
  images = _images((32, 32, 1), 6, 9)
  for i, image in enumerate(images):
    _write(root / f"{i}.png", image)
  _write(root / "6.jpg", images[0], fmt="JPEG")
  ds = ImageFolder(0, root, image_size=16, cache_size=100)
  assert ds.sample_shape == (16, 16, 1) and ds.size == 7
  decoded = []
  original = ds._decode
  ds._decode = lambda row: decoded.append(row) or original(row)
  x = ds.read(np.arange(7))
  for i in range(6):
    expected = np.asarray(PIL.Image.fromarray(images[i][..., 0]).resize((16, 16), BICUBIC))
    np.testing.assert_array_equal(x[i, ..., 0], expected / np.float32(127.5) - 1)
  jpeg = np.asarray(PIL.Image.open(root / "6.jpg").resize((16, 16), BICUBIC))
  np.testing.assert_array_equal(x[6, ..., 0], jpeg / np.float32(127.5) - 1)
  assert sorted(decoded) == list(range(7))
  ds.batch(0, 3, 7)  # Three epochs: all cached, nothing decoded again.
  assert sorted(decoded) == list(range(7))
  small = ImageFolder(0, root, image_size=16, cache_size=2)
  small.read(np.arange(7))
  assert len(small._cache) == 2


def _error(root: pathlib.Path, image_size: int = 16) -> str:
  with pytest.raises((ValueError, FileNotFoundError)) as info:
    make_dataset("image_folder", 0, data_dir=str(root), image_size=image_size)
  return _one_line(info.value)


def test_image_folder_refuses_bad_folders(folder, tmp_path):
  root, _ = folder
  _write(root / "c" / "wide.png", _images((16, 20, 3), 1, 0)[0])
  message = _error(root)
  assert "wide.png" in message and "20x16" in message and "not square" in message
  (root / "c" / "wide.png").unlink()

  _write(root / "c" / "gray.png", _images((16, 16, 1), 1, 0)[0])
  message = _error(root)
  assert "gray.png" in message and "same channel count" in message and "00.png" in message
  (root / "c" / "gray.png").unlink()

  PIL.Image.fromarray(_images((16, 16, 4), 1, 0)[0], mode="RGBA").save(root / "alpha.png")
  message = _error(root)
  assert "alpha.png" in message and "RGBA" in message and "RGB or L" in message
  (root / "alpha.png").unlink()

  (root / "broken.png").write_bytes(b"not a png")
  message = _error(root)
  assert "broken.png" in message and "cannot read" in message
  (root / "broken.png").unlink()

  message = _error(root, image_size=32)
  assert "smaller than image_size 32" in message

  empty = tmp_path / "empty"
  (empty / "sub").mkdir(parents=True)
  message = _error(empty)
  assert repr(str(empty)) in message and "no .png/.jpg/.jpeg file" in message

  message = _error(tmp_path / "missing")
  assert "missing" in message and "not a directory" in message

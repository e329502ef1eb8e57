"""``image_folder``: every PNG/JPEG file under a directory as a per-epoch-shuffled GAN dataset.

The files are those under ``data_dir`` (recursively) whose suffix is ``.png``, ``.jpg`` or ``.jpeg``
(any case), in the order of their sorted relative POSIX paths; row ``i`` is the ``i``-th file. The
order of examples is that of :mod:`jaxgan.data.tfds` and :mod:`jaxgan.data.digits`: the global
example ``g`` is row ``permutation_e[g % N]``, ``e = g // N``,
``permutation_e = np.random.default_rng([seed, e]).permutation(N)``.

The folder is strict, checked when the dataset is built: every image is decoded once then (so a file
whose body is corrupt, e.g. a JPEG truncated after its header, is refused at start rather than at
the step whose batch holds it), and every image must be square, of mode ``RGB`` or ``L`` (8-bit grayscale), all of one
channel count, with side at least ``image_size``. Images of side ``image_size`` are used as they
are, larger ones are resized to ``image_size`` with PIL's bicubic filter (antialiased). Nothing is
cropped, padded, upsampled or converted: a folder that breaks a rule raises ``ValueError`` with one
line naming the file (or the folder), what it is and what is allowed. ``sample_shape`` is
``(image_size, image_size, C)`` with ``C`` 3 for RGB and 1 for L.

Pixels are decoded lazily, only for the rows a batch needs, and the last ``cache_size`` decoded
images are kept (an LRU cache), so a folder no larger than the cache is decoded once.
"""

from __future__ import annotations

import collections
import os
import pathlib
import threading

import numpy as np
import PIL.Image

from jaxgan.data.shuffled import ShuffledImages
from jaxgan.data.toy import _check_int

__all__ = ["IMAGE_EXTENSIONS", "ImageFolder", "list_images"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
"""File suffixes (compared in lower case) that ``image_folder`` reads."""

_MODES = {"RGB": 3, "L": 1}
_RESAMPLE = PIL.Image.Resampling.BICUBIC
_ALLOWED = "square RGB or L (8-bit grayscale) PNG/JPEG images, all with the same channel count"


def list_images(folder: str | os.PathLike[str]) -> list[pathlib.Path]:
  """The PNG/JPEG files under ``folder`` (recursive), sorted by relative POSIX path."""
  root = pathlib.Path(folder)
  found = [p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
  return sorted(found, key=lambda p: p.relative_to(root).as_posix())


class ImageFolder(ShuffledImages):
  """The images of a folder; see the module docstring.

  Attributes:
    folder: the directory (``data_dir``, user-expanded).
    paths: the image files, row ``i`` is ``paths[i]``.
    image_size: the side of every returned image.
    size: the number of images.
  """

  name = "image_folder"

  def __init__(self, seed: int, data_dir: str | os.PathLike[str], image_size: int,
               cache_size: int = 1024) -> None:
    """Lists and checks the folder (every image decoded once).

    Args:
      seed: the non-negative seed of the shuffling.
      data_dir: the directory holding the images (searched recursively).
      image_size: the output side; every image must be square with side ``>= image_size``.
      cache_size: decoded images kept in memory (least recently used dropped first; 0: none).

    Raises:
      FileNotFoundError: ``data_dir`` is not a directory.
      ValueError: no image in the folder, or an image breaks the rules of the module docstring.
    """
    super().__init__(seed)
    self.image_size = _check_int(image_size, "image_size", 1)
    self._cache_size = _check_int(cache_size, "cache_size", 0)
    self.folder = pathlib.Path(os.path.expanduser(os.fspath(data_dir)))
    if not self.folder.is_dir():
      raise FileNotFoundError(f"image_folder: data_dir {str(self.folder)!r} is not a directory.")
    paths = list_images(self.folder)
    if not paths:
      raise ValueError(f"image_folder: no .png/.jpg/.jpeg file under {str(self.folder)!r}; the "
                       f"folder must hold {_ALLOWED}.")
    channels = None
    first = None
    for path in paths:
      mode, (w, h) = self._header(path)
      c = self._check(path, mode, w, h)
      if channels is None:
        channels, first = c, (path, mode)
      elif c != channels:
        raise ValueError(f"image_folder: {str(path)!r} is {mode} ({c} channel(s)) but "
                         f"{str(first[0])!r} is {first[1]} ({channels}); all images must have "
                         f"the same channel count.")
    self.paths = tuple(paths)
    self.size = len(paths)
    self.sample_shape = (self.image_size, self.image_size, channels)
    self._cache: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
    self._cache_lock = threading.Lock()

  @staticmethod
  def _header(path: pathlib.Path) -> tuple[str, tuple[int, int]]:
    try:
      with PIL.Image.open(path) as im:
        im.load()  # decode the body too: a truncated or corrupt file fails here, at start
        return im.mode, im.size
    except (OSError, ValueError) as err:  # PIL.UnidentifiedImageError is an OSError.
      raise ValueError(f"image_folder: cannot read {str(path)!r} as an image "
                       f"({type(err).__name__}: {err}); the folder must hold {_ALLOWED}.") from err

  def _check(self, path: pathlib.Path, mode: str, w: int, h: int) -> int:
    """The channel count of an image of ``mode`` and size ``w x h``, or a ValueError."""
    what = f"image_folder: {str(path)!r} is {w}x{h} {mode}"
    if mode not in _MODES:
      raise ValueError(f"{what}: mode {mode} is not allowed; images must be {_ALLOWED}.")
    if w != h:
      raise ValueError(f"{what}: not square; images must be {_ALLOWED}, of side >= image_size "
                       f"{self.image_size}.")
    if w < self.image_size:
      raise ValueError(f"{what}: smaller than image_size {self.image_size} (images are not "
                       f"upsampled); use a smaller image_size or larger images.")
    return _MODES[mode]

  def _decode(self, row: int) -> np.ndarray:
    path = self.paths[row]
    try:
      with PIL.Image.open(path) as im:
        im.load()
        mode, (w, h) = im.mode, im.size
        self._check(path, mode, w, h)
        if _MODES[mode] != self.sample_shape[-1]:
          raise ValueError(f"image_folder: {str(path)!r} changed to mode {mode} since the folder "
                           f"was listed.")
        if w != self.image_size:
          im = im.resize((self.image_size, self.image_size), _RESAMPLE)
        image = np.asarray(im, dtype=np.uint8)
    except OSError as err:
      raise OSError(f"image_folder: cannot read {str(path)!r}: {err}") from err
    if image.ndim == 2:
      image = image[..., None]
    image.flags.writeable = False
    return image

  def _load(self, rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(rows),) + self.sample_shape, np.uint8)
    for i, row in enumerate(int(r) for r in rows):
      with self._cache_lock:
        image = self._cache.get(row)
        if image is not None:
          self._cache.move_to_end(row)
      if image is None:
        image = self._decode(row)
        if self._cache_size:
          with self._cache_lock:
            self._cache[row] = image
            while len(self._cache) > self._cache_size:
              self._cache.popitem(last=False)
      out[i] = image
    return out

  def __repr__(self) -> str:
    return (f"ImageFolder(seed={self.seed}, data_dir={str(self.folder)!r}, "
            f"image_size={self.image_size}, size={self.size})")

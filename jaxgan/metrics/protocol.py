"""The evaluation protocol of a metric value, and a guard against comparing across protocols.

A Fréchet distance or KID number is only comparable to another one computed under the same
protocol. The FID estimator is biased, with a bias that depends on the sample count [KID], and
the value also changes with the reference split, the image resizer (the bilinear resizes of TF1,
PyTorch and PIL differ and can change FID noticeably [CleanFID]), the feature extractor and its
exact weights, and whether the evaluated generator is the exponential moving average of the
weights or the raw trained weights. :class:`Protocol` records these fields next to the value;
:func:`compare` refuses (or warns about) a comparison of records whose protocols differ, naming
every differing field.

References:
  [KID]      Bińkowski, Sutherland, Arbel, Gretton, "Demystifying MMD GANs", ICLR 2018.
  [CleanFID] Parmar, Zhang, Zhu, "On Aliased Resizing and Surprising Subtleties in GAN Evaluation",
             CVPR 2022.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Mapping

__all__ = ["GENERATORS", "Protocol", "compare"]

GENERATORS = ("ema", "raw")
"""Which generator weights were evaluated: the EMA of the weights, or the raw trained weights."""


@dataclasses.dataclass(frozen=True)
class Protocol:
  """How a metric value was computed.

  Attributes:
    metric: metric name, e.g. ``"fid"``, ``"kid"``, ``"is"``, ``"digits_fd"``, ``"w1"``.
    num_real: number of reference (real) samples the statistics use.
    num_fake: number of generated samples.
    reference_split: which real data the reference statistics come from, e.g. ``"digits/test"``.
    resizer: how images reach the feature extractor's input size, e.g.
      ``"jax.image.resize bilinear antialias=False 299"``, or ``"none"``.
    feature_extractor: e.g. ``"inception_v3_fid_pool3"`` or ``"digits_mlp_hidden128"``.
    weights_sha256: SHA-256 of the feature extractor's weights file (``None`` when the extractor
      has no weights file, e.g. the digits classifier trained deterministically in-process).
    generator: ``"ema"`` or ``"raw"``.
  """

  metric: str
  num_real: int
  num_fake: int
  reference_split: str
  resizer: str
  feature_extractor: str
  weights_sha256: str | None
  generator: str

  def __post_init__(self) -> None:
    if self.generator not in GENERATORS:
      raise ValueError(f"generator must be one of {GENERATORS}, got {self.generator!r}.")
    for name in ("num_real", "num_fake"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}.")
    for name in ("metric", "reference_split", "resizer", "feature_extractor"):
      if not isinstance(getattr(self, name), str) or not getattr(self, name):
        raise ValueError(f"{name} must be a non-empty string, got {getattr(self, name)!r}.")
    if self.weights_sha256 is not None:
      h = self.weights_sha256
      if not isinstance(h, str) or len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        raise ValueError(f"weights_sha256 must be None or 64 lowercase hex digits, got {h!r}.")

  def to_dict(self) -> dict[str, Any]:
    """The fields as a plain JSON-serialisable dict (field order preserved)."""
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "Protocol":
    """Inverse of :meth:`to_dict`; unknown or missing keys raise ``ValueError``."""
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(d) - set(names))
    missing = [n for n in names if n not in d]
    if unknown or missing:
      raise ValueError(f"not a Protocol dict: unknown keys {unknown}, missing keys {missing}.")
    return cls(**{n: d[n] for n in names})


def _protocol_of(record: Any, name: str) -> Protocol:
  """A Protocol, a Protocol dict, or a metric record ``{"protocol": ..., ...}`` -> Protocol."""
  if isinstance(record, Protocol):
    return record
  if isinstance(record, Mapping):
    if "protocol" in record:
      return _protocol_of(record["protocol"], name)
    return Protocol.from_dict(record)
  raise ValueError(f"{name} must be a Protocol, a Protocol dict or a metric record with a "
                   f"'protocol' entry, got {type(record).__name__}.")


def compare(a: Any, b: Any, *, warn: bool = False) -> list[str]:
  """Checks that two metric records were computed under the same protocol.

  Args:
    a: a :class:`Protocol`, its ``to_dict()``, or a metric record dict holding one under
      ``"protocol"``.
    b: likewise.
    warn: if true, emit a ``UserWarning`` instead of raising when the protocols differ.

  Returns:
    The names of the differing fields, in field order (empty when the protocols agree).

  Raises:
    ValueError: when the protocols differ and ``warn`` is false; the message names every
      differing field with both values.
  """
  pa, pb = _protocol_of(a, "a"), _protocol_of(b, "b")
  diffs = [f.name for f in dataclasses.fields(Protocol)
           if getattr(pa, f.name) != getattr(pb, f.name)]
  if diffs:
    detail = ", ".join(f"{n} ({getattr(pa, n)!r} vs {getattr(pb, n)!r})" for n in diffs)
    message = f"metric records are not comparable: their protocols differ in {detail}."
    if warn:
      warnings.warn(message, UserWarning, stacklevel=2)
    else:
      raise ValueError(message)
  return diffs

"""Tests of jaxgan.metrics.protocol: a metric's protocol round-trips, is validated, and two
protocols that differ are named field by field."""

from __future__ import annotations

import pytest

from jaxgan.metrics import inception as inc
from jaxgan.metrics import protocol as protolib


# --------------------------------------------------------------------------------------------------
# Protocol
# --------------------------------------------------------------------------------------------------


def _protocol(**overrides):
  fields = dict(metric="fid", num_real=10000, num_fake=10000, reference_split="digits/test",
                resizer="jax.image.resize bilinear antialias=False 299",
                feature_extractor="inception_v3_fid_pool3", weights_sha256=inc.PYTORCH_FID_SHA256,
                generator="ema")
  fields.update(overrides)
  return protolib.Protocol(**fields)


def test_protocol_round_trip_and_validation():
  p = _protocol()
  assert protolib.Protocol.from_dict(p.to_dict()) == p
  assert list(p.to_dict()) == ["metric", "num_real", "num_fake", "reference_split", "resizer",
                               "feature_extractor", "weights_sha256", "generator"]
  with pytest.raises(ValueError, match="generator"):
    _protocol(generator="swa")
  with pytest.raises(ValueError, match="weights_sha256"):
    _protocol(weights_sha256="6726825d")
  with pytest.raises(ValueError, match="missing keys"):
    protolib.Protocol.from_dict({"metric": "fid"})


def test_compare_names_the_differing_fields():
  a, b = _protocol(), _protocol(num_fake=50000, generator="raw")
  assert protolib.compare(a, _protocol()) == []
  expected = r"num_fake \(10000 vs 50000\), generator \('ema' vs 'raw'\)"
  with pytest.raises(ValueError, match=expected):
    protolib.compare({"fid": 3.2, "protocol": a.to_dict()}, {"fid": 2.9, "protocol": b})
  with pytest.warns(UserWarning, match="num_fake"):
    assert protolib.compare(a, b.to_dict(), warn=True) == ["num_fake", "generator"]

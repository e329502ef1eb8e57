"""The image metrics of an evaluation, each written with its protocol.

* Inception metrics (FID, KID, IS) when the config names the Inception weights file
  (``inception_weights``): reference statistics of the real data are computed once, cached in the
  workdir (``reference_<dataset>_<n>.npz``) with the protocol they were made with, and refused when a
  later evaluation asks for a different protocol or dataset.
* The digits Fréchet distance: the Fréchet distance between generated and real digits in the hidden
  layer of the digits classifier (``jaxgan.metrics.digits``), for the 8x8 digits where Inception does
  not apply.

Every value is returned as ``{name: value, name + "_protocol": Protocol.to_dict()}``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from jaxgan.metrics import fid as fid_lib
from jaxgan.metrics import protocol as protocol_lib


def digits_metrics(real: np.ndarray, fake: np.ndarray, generator: str) -> dict[str, Any]:
  """The digits Fréchet distance between ``fake`` and ``real`` ([N, 8, 8, 1] in [-1, 1])."""
  value = fid_lib.digits_frechet_distance(real, fake)
  proto = protocol_lib.Protocol(
      metric="digits_fd", num_real=int(real.shape[0]), num_fake=int(fake.shape[0]),
      reference_split="digits/all (evaluation stream of the seed)", resizer="none",
      feature_extractor="digits_mlp_hidden128", weights_sha256=None, generator=generator)
  return {"digits_fd": float(value), "digits_fd_protocol": proto.to_dict()}


def inception_metrics(workdir: str, dataset: str, weights_path: str, real_fn, fake: np.ndarray,
                      generator: str, *, num_real: int) -> dict[str, Any]:
  """FID, KID (mean, std over subsets) and IS (10 splits) of ``fake`` [N, H, W, C] in [-1, 1].

  ``real_fn(n)`` returns n real images; it is called only when the reference cache is missing.
  """
  from jaxgan.metrics import inception  # pylint: disable=import-outside-toplevel
  weights_path = os.path.expanduser(weights_path)
  variables = inception.load_inception_params(weights_path)
  sha = inception.file_sha256(weights_path)
  resizer = f"jax.image.resize bilinear antialias=False {inception.INPUT_SIZE}"
  common = dict(num_real=num_real, num_fake=int(fake.shape[0]), reference_split=f"{dataset}/train",
                resizer=resizer, feature_extractor="inception_v3_fid_pool3", weights_sha256=sha,
                generator=generator)
  cache = os.path.join(workdir, f"reference_{dataset}_{num_real}.npz")
  fid_protocol = protocol_lib.Protocol(metric="fid", **common)
  if os.path.exists(cache):
    with np.load(cache) as z:
      saved = json.loads(str(z["protocol"]))
      mu_r, sigma_r, pool_r = z["mu"], z["sigma"], z["pool3"]
    mismatch = {k: (saved.get(k), v) for k, v in fid_protocol.to_dict().items()
                if k not in ("num_fake", "generator") and saved.get(k) != v}
    if mismatch:
      raise ValueError(f"reference statistics {cache} were made with a different protocol "
                       f"{mismatch}; delete the file to recompute them")
  else:
    real = real_fn(num_real)
    pool_r = inception.inception_features(variables, real).pool3
    mu_r, sigma_r = fid_lib.feature_statistics(pool_r)
    np.savez(cache, mu=mu_r, sigma=sigma_r, pool3=pool_r,
             protocol=json.dumps(fid_protocol.to_dict()))
  out = inception.inception_features(variables, fake)
  mu_f, sigma_f = fid_lib.feature_statistics(out.pool3)
  subset = min(1000, fake.shape[0], pool_r.shape[0])
  kid_mean, kid_std = fid_lib.kernel_inception_distance(pool_r, out.pool3, subset_size=subset)
  is_mean, is_std = fid_lib.inception_score(out.logits_unbiased, from_logits=True)
  return {
      "fid": float(fid_lib.frechet_distance(mu_r, sigma_r, mu_f, sigma_f)),
      "fid_protocol": fid_protocol.to_dict(),
      "kid": float(kid_mean), "kid_std": float(kid_std),
      "kid_protocol": protocol_lib.Protocol(metric="kid", **common).to_dict(),
      "inception_score": float(is_mean), "inception_score_std": float(is_std),
      "inception_score_protocol": protocol_lib.Protocol(
          metric="is", **{**common, "num_real": 0, "reference_split": "none"}).to_dict(),
  }

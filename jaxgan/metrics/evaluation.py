"""The image metrics of an evaluation, each written with its protocol.

* Inception metrics (FID, KID, IS) when the config names the Inception weights file
  (``inception_weights``): reference statistics of the real data are computed once, cached in the
  workdir (``reference_<dataset>_<n>.npz``) with the protocol they were made with, and refused when a
  later evaluation asks for a different protocol or dataset.
* The digits Fréchet distance: the Fréchet distance between generated and real digits in the hidden
  layer of the digits classifier (``jaxgan.metrics.digits``), for the 8x8 digits where Inception does
  not apply.

Every value is returned as ``{name: value, name + "_protocol": Protocol.to_dict()}``.

Each image metric comes with its real-vs-real baseline (:func:`real_baseline`), so that a value can
be read: the same metric between two disjoint sets of real images, each as large as the evaluation's
(``digits_fd_real``, ``swd_real_mean_x1e3``, and ``fid_real`` / ``kid_real`` with the Inception
metrics, kept in their reference cache). The first set is the evaluation's own reference (the
first rows of the evaluation stream ``sample(n, seed)``), the second the rows after it; both are
capped at half the dataset so that they stay disjoint (1,797 digits: at most 898 each). The baseline
is a pure function of the dataset, the seed and the sample count, computed once per run and resolution
and kept on the run.

:func:`evaluate` is the whole evaluation of a train state (the record the trainer logs and
``jaxgan evaluate`` prints), and :func:`spectral_audit` the check of every spectrally normalised
critic layer.
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
                      generator: str, *, num_real: int, second_real_fn=None) -> dict[str, Any]:
  """FID, KID (mean, std over subsets) and IS (10 splits) of ``fake`` [N, H, W, C] in [-1, 1].

  ``real_fn(n)`` returns n real images; it is called only when the reference cache is missing.
  With ``second_real_fn`` (returning real images disjoint from ``real_fn(num_real)``, at most
  ``num_real`` of them: the second set of :func:`real_halves`), the real-vs-real baselines
  ``fid_real`` and ``kid_real`` are added: FID and KID between those images and as many of the
  reference's. They are computed once and kept in the reference cache.
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
  baseline: dict[str, Any] = {}
  write = not os.path.exists(cache)
  if not write:
    with np.load(cache) as z:
      saved = json.loads(str(z["protocol"]))
      mu_r, sigma_r, pool_r = z["mu"], z["sigma"], z["pool3"]
      if "fid_real" in z:
        baseline = {k: float(z[k]) for k in ("fid_real", "kid_real")}
        baseline["fid_real_num"] = int(z["fid_real_num"])
    mismatch = {k: (saved.get(k), v) for k, v in fid_protocol.to_dict().items()
                if k not in ("num_fake", "generator") and saved.get(k) != v}
    if mismatch:
      raise ValueError(f"reference statistics {cache} were made with a different protocol "
                       f"{mismatch}; delete the file to recompute them")
  else:
    real = real_fn(num_real)
    pool_r = inception.inception_features(variables, real).pool3
    mu_r, sigma_r = fid_lib.feature_statistics(pool_r)
    saved = fid_protocol.to_dict()
  if second_real_fn is not None and not baseline:
    pool_b = inception.inception_features(variables, second_real_fn()).pool3
    pool_a = pool_r[:len(pool_b)]
    sub = min(1000, len(pool_b))
    baseline = {"fid_real": float(fid_lib.frechet_distance(*fid_lib.feature_statistics(pool_a),
                                                           *fid_lib.feature_statistics(pool_b))),
                "kid_real": float(fid_lib.kernel_inception_distance(pool_a, pool_b,
                                                                    subset_size=sub)[0]),
                "fid_real_num": len(pool_b)}
    write = True
  if write:
    np.savez(cache, mu=mu_r, sigma=sigma_r, pool3=pool_r, protocol=json.dumps(saved),
             **{k: np.asarray(v) for k, v in baseline.items()})
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
      **baseline,
  }


# ----------------------------------------------------------------------------------------------------
# Real-vs-real baselines
# ----------------------------------------------------------------------------------------------------
SWD_MAX_SAMPLES = 512
"""Images per set of the evaluation's sliced Wasserstein distance (at most; fewer when
``eval_samples`` is smaller)."""


def real_halves(dataset, num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Rows of two disjoint real sets of ``n = min(num, dataset.size // 2)`` images each.

  The first set is ``dataset.sample_rows(n, seed)``, the evaluation's reference set; the second the
  next ``n`` rows of the same stream. Both lie in the stream's first permutation (``2 n <= size``),
  so no row is in both.
  """
  half = min(int(num), dataset.size // 2)
  if half < 2:
    raise ValueError(f"a real-vs-real baseline needs at least 2 images per set, got {half} "
                     f"(num {num}, dataset size {dataset.size})")
  rows = dataset.sample_rows(2 * half, seed)
  return rows[:half], rows[half:]


def real_baseline(run, resolution: int) -> dict[str, Any]:
  """The real-vs-real values of the image metrics an evaluation at ``resolution`` reports.

  ``swd_real_x1e3`` / ``swd_real_mean_x1e3`` (per level / mean, with ``swd_real_num`` images per
  set; side >= 7), and for the digits at full resolution ``digits_fd_real`` with its protocol:
  each between the two disjoint sets of :func:`real_halves` (the evaluation's sample count,
  capped at half the dataset). Computed once per run and resolution (cached on ``run``), deterministic in
  (dataset, ``config.seed``, ``config.eval_samples``).
  """
  from jaxgan import ops  # pylint: disable=import-outside-toplevel
  from jaxgan.metrics import swd  # pylint: disable=import-outside-toplevel
  cache = run.__dict__.setdefault("_real_baselines", {})
  if resolution in cache:
    return cache[resolution]
  config, dataset = run.config, run.dataset
  out: dict[str, Any] = {}
  if resolution >= 7:
    a, b = real_halves(dataset, min(config.eval_samples, SWD_MAX_SAMPLES), config.seed)
    result = swd.sliced_wasserstein_distance(ops.downscale_to(dataset.read(a), resolution),
                                             ops.downscale_to(dataset.read(b), resolution),
                                             seed=config.seed)
    out.update({"swd_real_x1e3": [float(v) for v in result["per_level"]],
                "swd_real_mean_x1e3": float(result["mean"]), "swd_real_num": len(a)})
  if config.dataset == "digits" and resolution == run.sample_shape[0]:
    a, b = real_halves(dataset, config.eval_samples, config.seed)
    out["digits_fd_real"] = float(fid_lib.digits_frechet_distance(dataset.read(a),
                                                                  dataset.read(b)))
    out["digits_fd_real_protocol"] = {
        "metric": "digits_fd", "num_real": len(a), "num_fake": len(b),
        "reference_split": "digits/all: two disjoint sets, the evaluation stream's first "
                           f"{len(a)} rows (the evaluation's reference) and the {len(b)} after",
        "feature_extractor": "digits_mlp_hidden128", "generator": "none (real vs real)"}
  cache[resolution] = out
  return out


# ----------------------------------------------------------------------------------------------------
# The evaluation the trainer and `jaxgan evaluate` run
# ----------------------------------------------------------------------------------------------------
def evaluate(run, state, tag: str | None = None) -> dict[str, Any]:
  """The config's metrics for ``state`` and a picture in ``<workdir>/samples/``; returns the record.

  ``run`` is a :class:`jaxgan.train.Run` (config, networks, dataset, workdir). 2-D data: PacGAN mode
  coverage, exact W1 and the samples over the critic's value contour; images: SWD (side >= 7),
  Inception metrics when configured, the digits FD and class coverage for digits, the real-vs-real
  baseline of each (:func:`real_baseline`), and a grid of samples beside a panel of real ones;
  with spectral normalisation, the audit of every critic layer (:func:`spectral_audit`).
  """
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  from jaxgan import ops  # pylint: disable=import-outside-toplevel
  from jaxgan import plots  # pylint: disable=import-outside-toplevel
  from jaxgan import step as step_lib  # pylint: disable=import-outside-toplevel
  from jaxgan.metrics import digits as digit_metrics  # pylint: disable=import-outside-toplevel
  from jaxgan.metrics import modes as mode_metrics  # pylint: disable=import-outside-toplevel

  config = run.config
  step = int(state.step)
  tag = tag or f"{step:07d}"
  fake = run.samples(state, config.eval_samples, seed=config.seed + 1)
  record: dict[str, Any] = {"kind": "eval", "step": step, "num_samples": int(fake.shape[0]),
                            "generator": "ema" if state.g_ema else "raw"}
  sample_dir = os.path.join(run.workdir, "samples")
  if run.sample_shape == (2,):
    real = run.dataset.sample(config.eval_samples, config.seed)
    modes = run.dataset.modes
    if modes is not None:
      m = mode_metrics.mode_metrics(fake, modes.centers, modes.std)
      record.update({k: m[k] for k in ("modes_captured", "num_modes", "high_quality_fraction",
                                       "kl_to_uniform")})
      record["protocol"] = ("PacGAN: high quality = within 3 std of the nearest mode; a mode is "
                            "captured by >= 1 high-quality sample")
    from jaxgan.metrics import w1  # pylint: disable=import-outside-toplevel
    n = min(1000, len(fake), len(real))
    if np.all(np.isfinite(fake[:n])):
      record["w1"] = float(w1.exact_w1(fake[:n], real[:n]))
      record["w1_protocol"] = {"metric": "w1", "num_real": n, "num_fake": n,
                               "solver": "POT ot.emd2" if w1.pot_available() else
                               "scipy linear_sum_assignment", "generator": record["generator"]}
    extent = plots.toy_extent(real, None if modes is None else modes.centers)
    xs, ys, points = plots.critic_grid(extent, n=100)
    values = np.asarray(step_lib.critic_scores(run.critic, state, jnp.asarray(points)))
    path = plots.plot_toy(os.path.join(sample_dir, f"{tag}.png"), fake[:1000], real[:1000],
                          critic=(xs, ys, values.reshape(len(ys), len(xs))),
                          centers=None if modes is None else modes.centers,
                          title=f"{config.name} step {step}")
  else:
    stage, alpha = run.stage_of(state)
    if stage is not None:
      record.update({"stage": stage, "alpha": alpha,
                     "resolution": run.schedule.resolutions[stage]})
    resolution = fake.shape[1]
    if resolution >= 7:
      from jaxgan.metrics import swd  # pylint: disable=import-outside-toplevel
      n = min(config.eval_samples, SWD_MAX_SAMPLES)
      real = run.real_samples(n, resolution)
      result = swd.sliced_wasserstein_distance(real, fake[:n], seed=config.seed)
      record["swd_x1e3"] = [float(v) for v in result["per_level"]]
      record["swd_resolutions"] = [int(r) for r in result["resolutions"]]
      record["swd_mean_x1e3"] = float(result["mean"])
    record.update(real_baseline(run, resolution))
    generator = record["generator"]
    if config.inception_weights and fake.shape[-1] in (1, 3):
      _, second = real_halves(run.dataset, config.eval_samples, config.seed)
      record.update(inception_metrics(
          run.workdir, config.dataset, config.inception_weights,
          lambda n: run.real_samples(n, resolution), fake, generator,
          num_real=config.eval_samples,
          second_real_fn=lambda: ops.downscale_to(run.dataset.read(second), resolution)))
    if config.dataset == "digits" and fake.shape[1:] == run.sample_shape:
      record.update(digits_metrics(run.dataset.sample(config.eval_samples, config.seed), fake,
                                   generator))
      m = digit_metrics.digit_metrics(fake)
      record.update({"digits_covered": m["digits_covered"],
                     "class_histogram": [int(c) for c in m["class_histogram"]],
                     "max_class_fraction": m["max_class_fraction"],
                     "kl_to_uniform": m["kl_to_uniform"]})
    # A panel of real samples at the same resolution beside the generated grid, to judge against.
    path = plots.save_image_grid(os.path.join(sample_dir, f"{tag}.png"), fake[:100],
                                 title=f"{config.name} step {step}",
                                 real=run.real_samples(min(len(fake), 100), resolution))
  record["picture"] = os.path.relpath(path, run.workdir)
  if config.spectral_norm:
    record["spectral_audit"] = spectral_audit(run, state)
  return record


def _conv_specs(critic, state, sample_shape) -> dict[str, dict[str, Any]]:
  """Input shape, strides and padding of each spectrally normalised convolution of the critic, read
  by intercepting its calls during a shape-only trace (no compile, no FLOPs)."""
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  from jaxgan import spectral  # pylint: disable=import-outside-toplevel
  from jaxgan import step as step_lib  # pylint: disable=import-outside-toplevel
  specs = {}

  def interceptor(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name == "__call__" and isinstance(module, (spectral.SNConv,
                                                                 spectral.SNConvTranspose)):
      kind = "conv" if isinstance(module, spectral.SNConv) else "conv_transpose"
      specs["/".join(module.path)] = dict(input_shape=tuple(args[0].shape[1:]),
                                          strides=module.strides, padding=module.padding, kind=kind)
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(interceptor):
    jax.eval_shape(lambda x: step_lib.critic_scores(critic, state, x),
                   jax.ShapeDtypeStruct((1, *sample_shape), jnp.float32))
  return specs


def spectral_audit(run, state) -> dict[str, dict[str, float]]:
  """Per spectrally normalised critic layer: the running sigma estimate, the exact largest singular
  value of the reshaped kernel (SVD), and for convolutions the true operator norm of the strided,
  padded convolution (power iteration on the convolution and its transpose)."""
  from jaxgan import spectral  # pylint: disable=import-outside-toplevel
  return spectral.spectral_audit(state.d_params, state.d_state.get("spectral", {}),
                                 _conv_specs(run.critic, state, run.sample_shape))

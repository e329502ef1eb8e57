"""Input-pipeline throughput per host, against what the train step consumes; checkpoint save time.

  python benchmarks/io_throughput.py [--images 2000] [--celeba-images 600] [--batch 64]
      [--rounds 3] [--seconds 3] [--skip-step] [--skip-checkpoint] [--json out.json]

1. Builds two TFDS array_record datasets locally, without TensorFlow or downloads: CIFAR-10-shaped
   (random 32x32x3 PNGs, the ``cifar10`` builder) and CelebA-64-shaped (smooth random 218x178
   JPEGs of ~CelebA's file size, the ``celeb_a`` builder; read as ``celeb_a_64``: 108x108 center crop,
   bicubic resize to 64x64). Then times this process's batches [n_critic=5, B, ...] the way the
   trainer reads them (``jaxgan.data.pipeline``: shuffled rows, random access), in images/s per
   host, for:
     * ``direct``: ``StepReader`` called in a loop on one thread, no cache (the single-thread rate);
     * ``workers=0``: grain prefetch on threads of this process; ``workers=1``, ``workers=2``: grain
       worker processes (``mp_prefetch``);
   each uncached (every image decoded at every read: the cold rate) and cached (the decoded uint8
   images in memory, ``data_cache_mb`` large enough, warmed by one pass). The configurations run
   interleaved, ``--rounds`` times, each for ``--seconds`` after its first batch (worker start-up is
   reported apart), so ratios come from side-by-side runs; medians are reported.
2. Optionally (no ``--skip-step``) times the compiled step of the CIFAR WGAN-GP ResNet config (batch
   B) here and compares what it consumes (B * n_critic per step) with the pipeline's rate.
3. Optionally (no ``--skip-checkpoint``) saves the full SNGAN CIFAR ResNet train state with the
   trainer's orbax checkpointing and reports the save time and size on disk.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

N_CRITIC = 5


def _tfds_config():
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  return tfds.download.DownloadConfig(compute_stats=tfds.download.ComputeStatsMode.SKIP)


def _encode(image: np.ndarray, fmt: str, **kw) -> bytes:
  import PIL.Image  # pylint: disable=import-outside-toplevel
  buf = io.BytesIO()
  PIL.Image.fromarray(image).save(buf, fmt, **kw)
  return buf.getvalue()


def build_cifar_like(data_dir: str, num_images: int) -> None:
  """``cifar10`` in ``data_dir``: ``num_images`` random 32x32x3 PNGs (array_record)."""
  from tensorflow_datasets.image_classification import cifar as cifar_lib  # pylint: disable=import-outside-toplevel

  rng = np.random.default_rng(0)

  class CifarLike(cifar_lib.Cifar10, skip_registration=True):
    name = "cifar10"

    def _split_generators(self, dl_manager):
      del dl_manager
      return {"train": self._generate_examples()}

    def _generate_examples(self):  # pylint: disable=arguments-differ
      for i in range(num_images):
        png = _encode(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "PNG")
        yield i, {"id": f"train_{i:05d}", "image": png, "label": i % 10}

  CifarLike(data_dir=data_dir, file_format="array_record").download_and_prepare(
      download_config=_tfds_config())


def _smooth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """A face-sized smooth random picture (low-frequency colour field + mild noise)."""
  import PIL.Image  # pylint: disable=import-outside-toplevel
  coarse = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
  field = np.asarray(PIL.Image.fromarray(coarse).resize((w, h), PIL.Image.Resampling.BICUBIC))
  noise = rng.normal(0, 6, (h, w, 3))
  return np.clip(field + noise, 0, 255).astype(np.uint8)


def build_celeba_like(data_dir: str, num_images: int) -> None:
  """``celeb_a`` in ``data_dir``: ``num_images`` 218x178 JPEGs (quality 90) with every feature."""
  from etils import epath  # pylint: disable=import-outside-toplevel
  from tensorflow_datasets.datasets.celeb_a import celeb_a_dataset_builder as celeb_a_lib  # pylint: disable=import-outside-toplevel

  rng = np.random.default_rng(1)

  class CelebALike(celeb_a_lib.Builder, skip_registration=True):
    name = "celeb_a"
    pkg_dir_path = epath.Path(celeb_a_lib.__file__).parent

    def _split_generators(self, dl_manager):
      del dl_manager
      return {"train": self._generate_examples()}

    def _generate_examples(self):  # pylint: disable=arguments-differ
      for i in range(num_images):
        jpeg = _encode(_smooth_image(rng, 218, 178), "JPEG", quality=90)
        yield f"{i:06d}.jpg", {
            "image": jpeg,
            "landmarks": {k: 0 for k in celeb_a_lib.LANDMARK_HEADINGS},
            "attributes": {k: False for k in celeb_a_lib.ATTR_HEADINGS},
            "identity": {k: i for k in celeb_a_lib.IDENTITY_HEADINGS},
        }

  CelebALike(data_dir=data_dir, file_format="array_record").download_and_prepare(
      download_config=_tfds_config())


def _rate_direct(dataset, batch: int, seconds: float) -> dict[str, float]:
  """The single-thread rate: ``StepReader`` (no cache) called in a loop."""
  from jaxgan.data import pipeline as pl  # pylint: disable=import-outside-toplevel
  reader = pl.StepReader(dataset, N_CRITIC, batch)
  reader(0)
  step, images, t0 = 1, 0, time.perf_counter()
  while time.perf_counter() - t0 < seconds:
    images += int(np.prod(reader(step).shape[:2]))
    step += 1
  return {"images_per_s": images / (time.perf_counter() - t0), "startup_s": 0.0}


def _rate_pipeline(dataset, batch: int, seconds: float, workers: int, cached: bool,
                   prefetch: int = 2) -> dict[str, float]:
  """images/s of ``HostBatches`` (grain) after its first batch; the first batch's time apart."""
  from jaxgan.data import pipeline as pl  # pylint: disable=import-outside-toplevel
  cache = pl.DecodedCache(dataset, (dataset.decoded_nbytes + 1) if cached else 0,
                          shared=workers > 0)
  if cached:
    cache.read(np.arange(dataset.size))  # warm: every image decoded once
  host = pl.HostBatches(pl.StepReader(dataset, N_CRITIC, batch, cache=cache), 10**9,
                        workers=workers, prefetch=prefetch)
  try:
    t = time.perf_counter()
    host.get(0)
    startup = time.perf_counter() - t
    warm = 2 * max(workers, 1)  # every worker has started and delivered before the clock runs
    for step in range(1, warm):
      host.get(step)
    step, images, t0 = warm, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
      x, _ = host.get(step)
      images += x.shape[0] * x.shape[1]
      step += 1
    rate = images / (time.perf_counter() - t0)
  finally:
    host.close()
    cache.close()
  return {"images_per_s": rate, "startup_s": startup}


def _decode_loop(png: bytes, seconds: float) -> int:
  """PNG decodes done in ``seconds`` (one process's share of the machine)."""
  import PIL.Image  # pylint: disable=import-outside-toplevel
  n, t0 = 0, time.perf_counter()
  while time.perf_counter() - t0 < seconds:
    with PIL.Image.open(io.BytesIO(png)) as im:
      np.asarray(im)
    n += 1
  return n


def process_scaling(seconds: float) -> float:
  """How much faster 2 processes decode PNGs than 1 on this machine right now (ideal: 2.0).

  The ceiling of any 2-worker speed-up measured in the same round: on a machine whose cores are
  busy with other jobs it falls well below 2.
  """
  import concurrent.futures  # pylint: disable=import-outside-toplevel
  import multiprocessing  # pylint: disable=import-outside-toplevel
  png = _encode(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8), "PNG")
  with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(
      "spawn")) as pool:
    list(pool.map(_decode_loop, [png, png], [0.2, 0.2]))  # start both processes
    one = pool.submit(_decode_loop, png, seconds).result()
    two = sum(pool.map(_decode_loop, [png, png], [seconds, seconds]))
  return two / one


CASES = [("direct", None, False)] + [(f"workers={w}", w, c) for c in (False, True)
                                      for w in (0, 1, 2)]


def measure(dataset, batch: int, rounds: int, seconds: float) -> dict[str, dict]:
  """Every case of ``CASES`` ``rounds`` times, interleaved; medians and per-round values."""
  runs: dict[str, list[dict]] = {}
  scaling = []
  for r in range(rounds):
    scaling.append(process_scaling(seconds))
    print(f"  round {r + 1}: machine: 2 processes decode {scaling[-1]:.2f}x as fast as 1",
          flush=True)
    for label, workers, cached in CASES:
      key = f"{label}/{'cached' if cached else 'uncached'}"
      if workers is None:
        out = _rate_direct(dataset, batch, seconds)
      else:
        out = _rate_pipeline(dataset, batch, seconds, workers, cached)
      runs.setdefault(key, []).append(out)
      print(f"  round {r + 1}: {dataset.name:10s} {key:20s} {out['images_per_s']:9,.0f} images/s"
            f"  (first batch {out['startup_s']:.2f} s)", flush=True)
  result = {}
  direct = [o["images_per_s"] for o in runs["direct/uncached"]]
  for key, outs in runs.items():
    rates = [o["images_per_s"] for o in outs]
    result[key] = {"median_images_per_s": statistics.median(rates), "images_per_s": rates,
                   "median_startup_s": statistics.median(o["startup_s"] for o in outs),
                   "over_direct_per_round": [a / b for a, b in zip(rates, direct)]}
    result[key]["median_over_direct"] = statistics.median(result[key]["over_direct_per_round"])
  result["machine_2_process_scaling"] = {"per_round": scaling,
                                         "median": statistics.median(scaling)}
  return result


def _dir_size(path: str) -> int:
  return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", type=int, default=2000, help="CIFAR-10-shaped images")
  parser.add_argument("--celeba-images", type=int, default=600, help="CelebA-shaped images")
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per case and round")
  parser.add_argument("--steps", type=int, default=3, help="timed train steps (after a warm-up)")
  parser.add_argument("--skip-step", action="store_true", help="do not time the ResNet train step")
  parser.add_argument("--skip-checkpoint", action="store_true", help="do not time a checkpoint")
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)

  from jaxgan import data  # pylint: disable=import-outside-toplevel

  results: dict = {"batch": args.batch, "n_critic": N_CRITIC, "cpu_count": os.cpu_count(),
                   "load_average_start": os.getloadavg()}
  with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    build_cifar_like(tmp, args.images)
    build_celeba_like(tmp, args.celeba_images)
    results["build_s"] = time.perf_counter() - t
    datasets = {"cifar10": data.make_dataset("cifar10", 0, data_dir=tmp),
                "celeb_a_64": data.make_dataset("celeb_a_64", 0, data_dir=tmp),
                "digits": data.make_dataset("digits", 0)}
    for name, ds in datasets.items():
      print(f"{name}: {ds.size} images of {ds.sample_shape}", flush=True)
      if name == "digits":
        results[name] = {"workers=0/cached": {"median_images_per_s": _rate_pipeline(
            ds, args.batch, args.seconds, 0, True)["images_per_s"]}}
        continue
      results[name] = measure(ds, args.batch, args.rounds, args.seconds)
    results["load_average_end"] = os.getloadavg()

    if not args.skip_step:
      import jax  # pylint: disable=import-outside-toplevel
      from jaxgan import config as config_lib, input_pipeline, train  # pylint: disable=import-outside-toplevel
      config = config_lib.load_config("cifar10_wgan_gp_resnet")
      config.data_dir, config.batch_size = tmp, args.batch
      run = train.Run(config, os.path.join(tmp, "run"))
      pipeline = input_pipeline.InputPipeline(config, run.dataset, None, run.parallel)
      state = run.parallel.put_state(run.fresh_state())
      fn = train.compile_train_step(run, state, pipeline)
      batch = pipeline.batch(0)
      state, m = fn(state, batch)
      jax.block_until_ready(m)
      times = []
      for _ in range(args.steps):
        t = time.perf_counter()
        state, m = fn(state, batch)
        jax.block_until_ready(m)
        times.append(time.perf_counter() - t)
      pipeline.close()
      step_s = float(np.median(times))
      results["resnet_wgan_gp_step_s"] = step_s
      results["step_consumes_images_per_s"] = args.batch * config.n_critic / step_s

    if not args.skip_checkpoint:
      from jaxgan import config as config_lib, train  # pylint: disable=import-outside-toplevel,reimported
      config = config_lib.load_config("cifar10_sngan_resnet")
      config.data_dir = tmp
      run = train.Run(config, os.path.join(tmp, "ckpt_run"))
      state = run.parallel.put_state(run.fresh_state())
      t = time.perf_counter()
      run.save(state)
      results["checkpoint_save_s"] = time.perf_counter() - t
      results["checkpoint_bytes"] = _dir_size(str(run.checkpoints.directory))

  print(f"\nimages/s per host, batch [{N_CRITIC}, {args.batch}], median of {args.rounds} rounds "
        f"(x: over the single-thread direct rate, same round); {os.cpu_count()} cores, load "
        f"average {results['load_average_start'][0]:.1f} -> {results['load_average_end'][0]:.1f}")
  print(f"{'case':22s} {'cifar10 (PNG)':>22s} {'celeb_a_64 (JPEG)':>22s}")
  for label, workers, cached in CASES:
    key = f"{label}/{'cached' if cached else 'uncached'}"
    cells = []
    for name in ("cifar10", "celeb_a_64"):
      r = results[name][key]
      cells.append(f"{r['median_images_per_s']:>12,.0f} ({r['median_over_direct']:.2f}x)")
    print(f"{key:22s} {cells[0]:>22s} {cells[1]:>22s}")
  print(f"digits (in memory), workers=0: {results['digits']['workers=0/cached']['median_images_per_s']:,.0f} "
        f"images/s")
  for name in ("cifar10", "celeb_a_64"):
    print(f"{name} rounds: 2 processes decode "
          f"{results[name]['machine_2_process_scaling']['median']:.2f}x as fast as 1 (median), the "
          f"ceiling of a 2-worker speed-up here")
  for name in ("cifar10", "celeb_a_64"):
    start = {k: v["median_startup_s"] for k, v in results[name].items() if "workers=" in k}
    print(f"{name} first batch (s): " + ", ".join(f"{k} {v:.2f}" for k, v in start.items()))
  if "step_consumes_images_per_s" in results:
    best = results["cifar10"]["workers=0/cached"]["median_images_per_s"]
    ratio = best / results["step_consumes_images_per_s"]
    results["pipeline_over_step"] = ratio
    print(f"WGAN-GP ResNet-32 step: {results['resnet_wgan_gp_step_s']:.3f} s, consumes "
          f"{results['step_consumes_images_per_s']:,.0f} real images/s -> the cached pipeline is "
          f"{ratio:.0f}x faster than the step needs")
  if "checkpoint_bytes" in results:
    print(f"checkpoint of the SNGAN CIFAR ResNet state: {results['checkpoint_bytes'] / 2**20:.1f} "
          f"MiB in {results['checkpoint_save_s']:.2f} s (write + SHA-256)")
  if args.json:
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())

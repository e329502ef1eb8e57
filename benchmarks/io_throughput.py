"""Input-pipeline throughput against the train step's consumption, and checkpoint save time and size.

  python benchmarks/io_throughput.py [--images 2000] [--batch 64] [--json out.json]

1. Builds a CIFAR-10-shaped TFDS dataset (random 32x32x3 PNGs, array_record, written locally without
   TensorFlow), then times ``jaxgan.data`` reading batches [n_critic=5, B, 32, 32, 3] from it the way
   training does (shuffled, random access), in images/s per host; the in-memory digits for reference.
2. Times the compiled step of the CIFAR WGAN-GP ResNet config (full width, batch B) on this machine and
   prints how many images/s it consumes (B * n_critic per step) next to the pipeline's rate: the
   pipeline must be faster so that the step never waits on data.
3. Saves the full train state of the SNGAN CIFAR ResNet (both nets, both Adam states, SN vectors, batch
   statistics) with the trainer's orbax checkpointing and reports the save time and size on disk.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time

import numpy as np


def _build_cifar_like(data_dir: str, num_images: int) -> None:
  import PIL.Image  # pylint: disable=import-outside-toplevel
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  from tensorflow_datasets.image_classification import cifar as cifar_lib  # pylint: disable=import-outside-toplevel

  rng = np.random.default_rng(0)

  class CifarLike(cifar_lib.Cifar10, skip_registration=True):
    name = "cifar10"

    def _split_generators(self, dl_manager):
      del dl_manager
      return {"train": self._generate_examples()}

    def _generate_examples(self):  # pylint: disable=arguments-differ
      for i in range(num_images):
        buf = io.BytesIO()
        PIL.Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, "PNG")
        yield i, {"id": f"train_{i:05d}", "image": buf.getvalue(), "label": i % 10}

  config = tfds.download.DownloadConfig(compute_stats=tfds.download.ComputeStatsMode.SKIP)
  CifarLike(data_dir=data_dir, file_format="array_record").download_and_prepare(
      download_config=config)


def _pipeline_rate(dataset, n_critic: int, batch: int, seconds: float = 5.0) -> float:
  step, images, t0 = 0, 0, time.perf_counter()
  while time.perf_counter() - t0 < seconds:
    x = dataset.batch(step, n_critic, batch)
    images += x.shape[0] * x.shape[1]
    step += 1
  return images / (time.perf_counter() - t0)


def _dir_size(path: str) -> int:
  return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", type=int, default=2000)
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--steps", type=int, default=3, help="timed train steps (after a warm-up)")
  parser.add_argument("--skip-step", action="store_true", help="do not time the ResNet train step")
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)

  import jax  # pylint: disable=import-outside-toplevel
  from jaxgan import config as config_lib, data, train  # pylint: disable=import-outside-toplevel

  results = {"backend": jax.default_backend(), "batch": args.batch}
  with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    _build_cifar_like(tmp, args.images)
    results["build_s"] = time.perf_counter() - t
    cifar = data.make_dataset("cifar10", 0, data_dir=tmp)
    results["pipeline_cifar10_images_per_s"] = _pipeline_rate(cifar, 5, args.batch)
    results["pipeline_digits_images_per_s"] = _pipeline_rate(data.make_dataset("digits", 0), 5,
                                                             args.batch)

    if not args.skip_step:
      config = config_lib.load_config("cifar10_wgan_gp_resnet")
      config.data_dir, config.batch_size = tmp, args.batch
      run = train.Run(config, os.path.join(tmp, "run"))
      state = run.parallel.put_state(run.fresh_state())
      fn = train.compile_train_step(run, state)
      batch = train.make_batch_fn(run)(0)
      state, m = fn(state, batch)
      jax.block_until_ready(m)
      times = []
      for _ in range(args.steps):
        t = time.perf_counter()
        state, m = fn(state, batch)
        jax.block_until_ready(m)
        times.append(time.perf_counter() - t)
      step_s = float(np.median(times))
      results["resnet_wgan_gp_step_s"] = step_s
      results["step_consumes_images_per_s"] = args.batch * config.n_critic / step_s

    config = config_lib.load_config("cifar10_sngan_resnet")
    config.data_dir = tmp
    run = train.Run(config, os.path.join(tmp, "ckpt_run"))
    state = run.parallel.put_state(run.fresh_state())
    t = time.perf_counter()
    run.save(state)
    results["checkpoint_save_s"] = time.perf_counter() - t
    results["checkpoint_bytes"] = _dir_size(os.path.join(run.workdir, "checkpoints"))

  print(f"backend {results['backend']}, batch {args.batch}")
  print(f"input pipeline, CIFAR-10-shaped TFDS (array_record, PNG decode): "
        f"{results['pipeline_cifar10_images_per_s']:,.0f} images/s per host")
  print(f"input pipeline, in-memory digits:                               "
        f"{results['pipeline_digits_images_per_s']:,.0f} images/s per host")
  if "step_consumes_images_per_s" in results:
    ratio = results["pipeline_cifar10_images_per_s"] / results["step_consumes_images_per_s"]
    results["pipeline_over_step"] = ratio
    print(f"WGAN-GP ResNet-32 step: {results['resnet_wgan_gp_step_s']:.3f} s, consumes "
          f"{results['step_consumes_images_per_s']:,.0f} real images/s -> pipeline is {ratio:.1f}x "
          f"faster than the step needs")
  print(f"checkpoint of the SNGAN CIFAR ResNet state: {results['checkpoint_bytes'] / 2**20:.1f} MiB "
        f"in {results['checkpoint_save_s']:.2f} s (write + SHA-256)")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())

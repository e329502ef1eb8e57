"""Every dataset name and the paper configs train a step end to end on data built here.

The TFDS datasets come from tiny array_record datasets written locally without TensorFlow (the
``real_data_dir`` fixture of test_data_tfds.py); nothing is downloaded. Networks are shrunk (width 2-4,
batch 4) so that each case compiles in seconds: these tests check the plumbing, not the learning.
"""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest

from jaxgan import config as config_lib
from jaxgan import train as train_lib
from test_data_tfds import real_data_dir  # pylint: disable=unused-import  # noqa: F401  (fixture)

SMALL = {"batch_size": 4, "n_critic": 1, "num_steps": 2, "latent_dim": 8, "eval_samples": 8,
         "log_every": 1, "eval_every": 0, "checkpoint_every": 100}


def _run(config, workdir):
  for k, v in SMALL.items():
    config[k] = v
  config_lib.validate(config)
  train_lib.train_and_evaluate(config, str(workdir))
  records = [json.loads(l) for l in open(workdir / "metrics.jsonl")]
  assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2]
  assert all(np.isfinite(r["critic_loss"]) and np.isfinite(r["g_loss"])
             for r in records if r["kind"] == "train")
  assert records[-1]["kind"] == "eval" and (workdir / records[-1]["picture"]).exists()
  return records


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["cifar10_sngan_resnet", "cifar10_sngan_cnn",
                                  "cifar10_wgan_gp_resnet", "cifar10_wgan_gp_dcgan", "mnist_wgan",
                                  "mnist_wgan_gp"])
def test_paper_configs_train_on_local_tfds_data(name, real_data_dir, tmp_path):
  config = config_lib.load_config(name)
  config.data_dir = str(real_data_dir)
  config.base_channels = 2
  records = _run(config, tmp_path)
  if config.spectral_norm:
    assert records[-1]["spectral_audit"]


@pytest.mark.e2e
@pytest.mark.parametrize("dataset", ["celeb_a_64", "lsun_bedroom_64"])
def test_64px_datasets_train_with_dcgan(dataset, real_data_dir, tmp_path):
  config = config_lib.load_config("celeb_a_64_wgan_gp")
  config.dataset = dataset
  config.data_dir = str(real_data_dir)
  config.base_channels = 2
  _run(config, tmp_path)


@pytest.mark.e2e
def test_image_folder_trains(tmp_path):
  folder = tmp_path / "images"
  folder.mkdir()
  rng = np.random.default_rng(0)
  for i in range(6):
    PIL.Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
  config = config_lib.load_config("digits_wgan_gp")
  config.dataset = "image_folder"
  config.data_dir = str(folder)
  config.image_size = 16
  config.base_channels = 2
  _run(config, tmp_path / "run")


def test_missing_tfds_dataset_is_a_one_line_error(tmp_path):
  config = config_lib.load_config("cifar10_wgan_gp_resnet")
  config.data_dir = str(tmp_path)
  with pytest.raises(config_lib.ConfigError, match="data_dir") as e:
    train_lib.Run(config, str(tmp_path / "w"))
  assert "\n" not in str(e.value)

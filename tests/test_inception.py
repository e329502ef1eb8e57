"""Tests of jaxgan.metrics.inception: the FID InceptionV3 in Flax, its weight files and its resize.

Sources of expected values:
  [pytorch-fid] github.com/mseitzer/pytorch-fid ``src/pytorch_fid/inception.py``: the FID
          InceptionV3 structure (FIDInceptionA/C/E_1/E_2, count_include_pad=False, Mixed_7c max
          pool, 1008 classes, bilinear align_corners=False resize), mirrored by
          ``_TorchFIDInception`` below, written in plain torch (no torchvision, no pytorch-fid).
"""

from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.metrics import inception as inc

try:
  import torch
  import torch.nn as tnn
  import torch.nn.functional as tF
except ImportError:  # pragma: no cover - torch is a reference-only dependency.
  torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


# --------------------------------------------------------------------------------------------------
# InceptionV3 [pytorch-fid]
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_variables():
  return inc.init_inception_params(seed=0)


def test_inception_shapes_at_299_with_grayscale_input(random_variables):
  images = np.random.default_rng(15).uniform(-1, 1, size=(2, 8, 8, 1)).astype(np.float32)
  out = inc.inception_features(random_variables, images, batch_size=2)  # resized to 299.
  assert out.pool3.shape == (2, 2048) and out.logits.shape == (2, 1008)
  assert out.logits_unbiased.shape == (2, 1008)
  assert np.all(np.isfinite(out.pool3)) and np.all(out.pool3 >= 0)  # mean of ReLU outputs.
  assert not np.allclose(out.pool3[0], out.pool3[1])
  bias = np.asarray(random_variables["params"]["fc"]["bias"])
  np.testing.assert_allclose(out.logits - out.logits_unbiased, np.broadcast_to(bias, (2, 1008)),
                             atol=1e-4)


def test_inception_refuses_inputs_below_75(random_variables):
  with pytest.raises(ValueError, match="at least 75x75"):
    inc.InceptionV3(resize_to=None).apply(random_variables, jnp.zeros((1, 64, 64, 3)))
  with pytest.raises(ValueError, match=">= 75"):
    inc.InceptionV3(resize_to=64).apply(random_variables, jnp.zeros((1, 8, 8, 3)))


def test_state_dict_round_trip_covers_every_flax_variable(random_variables):
  sd = inc.variables_to_state_dict(random_variables)
  # 94 BasicConv2d (conv.weight + 4 BatchNorm tensors each) and fc.weight / fc.bias [pytorch-fid].
  assert len(sd) == 94 * 5 + 2
  assert sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
  assert sd["Mixed_7c.branch3x3dbl_3b.bn.running_var"].shape == (384,)
  assert sd["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
  assert sd["fc.weight"].shape == (1008, 2048) and sd["fc.bias"].shape == (1008,)
  # Random tensors of the torch shapes map back onto every Flax leaf, with the right layout.
  rng = np.random.default_rng(16)
  random_sd = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in sd.items()}
  variables = inc.state_dict_to_variables(random_sd)
  assert (jax.tree_util.tree_structure(variables)
          == jax.tree_util.tree_structure(dict(random_variables)))
  back = inc.variables_to_state_dict(variables)
  assert back.keys() == random_sd.keys()
  for k in random_sd:
    np.testing.assert_array_equal(back[k], random_sd[k])
  np.testing.assert_array_equal(variables["params"]["Conv2d_1a_3x3"]["conv"]["kernel"],
                                random_sd["Conv2d_1a_3x3.conv.weight"].transpose(2, 3, 1, 0))


def test_state_dict_refuses_missing_and_misshapen_tensors(random_variables):
  sd = inc.variables_to_state_dict(random_variables)
  broken = dict(sd)
  del broken["Mixed_5b.branch_pool.bn.running_mean"]
  with pytest.raises(ValueError, match="1 missing keys"):
    inc.state_dict_to_variables(broken)
  broken = dict(sd, **{"fc.weight": np.zeros((1000, 2048), np.float32)})
  with pytest.raises(ValueError, match=r"fc.weight has shape \(1000, 2048\)"):
    inc.state_dict_to_variables(broken)
  broken = dict(sd, **{"AuxLogits.fc.weight": np.zeros((1008, 768), np.float32)})
  with pytest.raises(ValueError, match="1 unexpected keys"):
    inc.state_dict_to_variables(broken)


@needs_torch
def test_weight_files_are_checked_and_converted(random_variables, tmp_path, monkeypatch):
  sd = {k: torch.tensor(v) for k, v in inc.variables_to_state_dict(random_variables).items()}
  sd["Conv2d_1a_3x3.bn.num_batches_tracked"] = torch.tensor(0)  # present in real state_dicts.
  pth = str(tmp_path / "weights.pth")
  torch.save(sd, pth)
  digest = inc.file_sha256(pth)

  # The default expected hash is pytorch-fid's: this random file is refused by its hash prefix.
  with pytest.raises(ValueError, match="starts with .* expected 6726825d"):
    inc.load_inception_params(pth)
  loaded = inc.load_inception_params(pth, expected_sha256=digest)
  for a, b in zip(jax.tree_util.tree_leaves(loaded), jax.tree_util.tree_leaves(random_variables)):
    np.testing.assert_array_equal(a, b)

  # A torch-hub style name must match the content hash.
  misnamed = str(tmp_path / "pt_inception-2015-12-05-6726825d.pth")
  os.link(pth, misnamed)
  with pytest.raises(ValueError, match="does not match the hash prefix 6726825d"):
    inc.load_inception_params(misnamed, expected_sha256=None)

  # Right hash, wrong contents: refused by keys / shapes.
  del sd["fc.bias"]
  bad = str(tmp_path / "bad.pth")
  torch.save(sd, bad)
  with pytest.raises(ValueError, match="missing keys"):
    inc.load_inception_params(bad, expected_sha256=inc.file_sha256(bad))

  # Conversion to .npz, then loading without torch.
  npz = str(tmp_path / "weights.npz")
  assert inc.convert_pytorch_fid_weights(pth, npz, expected_sha256=digest) == digest
  monkeypatch.setitem(sys.modules, "torch", None)
  with pytest.raises(ImportError, match="pip install torch"):
    inc.load_inception_params(pth, expected_sha256=digest)
  from_npz = inc.load_inception_params(npz, expected_sha256=digest)
  for a, b in zip(jax.tree_util.tree_leaves(from_npz), jax.tree_util.tree_leaves(random_variables)):
    np.testing.assert_array_equal(a, b)
  with pytest.raises(ValueError, match="converted from a file with SHA-256"):
    inc.load_inception_params(npz)  # converted from a file that is not pytorch-fid's.
  with np.load(npz) as data:
    arrays = {k: data[k] for k in data.files}
  arrays["fc.bias"] = arrays["fc.bias"] + 1.0
  tampered = str(tmp_path / "tampered.npz")
  np.savez(tampered, **arrays)
  with pytest.raises(ValueError, match="do not match their recorded SHA-256"):
    inc.load_inception_params(tampered, expected_sha256=digest)


def test_missing_weights_file_is_reported(tmp_path):
  with pytest.raises(FileNotFoundError, match="pt_inception-2015-12-05-6726825d.pth"):
    inc.load_inception_params(tmp_path / "nothing.pth")


if torch is not None:

  class _Conv(tnn.Module):
    """BasicConv2d: conv (no bias), BatchNorm(eps=0.001), ReLU."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
      super().__init__()
      self.conv = tnn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
      self.bn = tnn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
      return tF.relu(self.bn(self.conv(x)))

  def _avg(x):  # TF average pool: padded zeros are not counted.
    return tF.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)

  class _A(tnn.Module):

    def __init__(self, cin, pool):
      super().__init__()
      self.branch1x1 = _Conv(cin, 64, 1)
      self.branch5x5_1, self.branch5x5_2 = _Conv(cin, 48, 1), _Conv(48, 64, 5, padding=2)
      self.branch3x3dbl_1 = _Conv(cin, 64, 1)
      self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
      self.branch3x3dbl_3 = _Conv(96, 96, 3, padding=1)
      self.branch_pool = _Conv(cin, pool, 1)

    def forward(self, x):
      return torch.cat([
          self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
          self.branch_pool(_avg(x))], 1)

  class _B(tnn.Module):

    def __init__(self, cin):
      super().__init__()
      self.branch3x3 = _Conv(cin, 384, 3, stride=2)
      self.branch3x3dbl_1 = _Conv(cin, 64, 1)
      self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
      self.branch3x3dbl_3 = _Conv(96, 96, 3, stride=2)

    def forward(self, x):
      return torch.cat([
          self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
          tF.max_pool2d(x, 3, stride=2)], 1)

  class _C(tnn.Module):

    def __init__(self, cin, c7):
      super().__init__()
      self.branch1x1 = _Conv(cin, 192, 1)
      self.branch7x7_1 = _Conv(cin, c7, 1)
      self.branch7x7_2 = _Conv(c7, c7, (1, 7), padding=(0, 3))
      self.branch7x7_3 = _Conv(c7, 192, (7, 1), padding=(3, 0))
      self.branch7x7dbl_1 = _Conv(cin, c7, 1)
      self.branch7x7dbl_2 = _Conv(c7, c7, (7, 1), padding=(3, 0))
      self.branch7x7dbl_3 = _Conv(c7, c7, (1, 7), padding=(0, 3))
      self.branch7x7dbl_4 = _Conv(c7, c7, (7, 1), padding=(3, 0))
      self.branch7x7dbl_5 = _Conv(c7, 192, (1, 7), padding=(0, 3))
      self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x):
      b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
      bd = x
      for i in range(1, 6):
        bd = getattr(self, f"branch7x7dbl_{i}")(bd)
      return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_avg(x))], 1)

  class _D(tnn.Module):

    def __init__(self, cin):
      super().__init__()
      self.branch3x3_1, self.branch3x3_2 = _Conv(cin, 192, 1), _Conv(192, 320, 3, stride=2)
      self.branch7x7x3_1 = _Conv(cin, 192, 1)
      self.branch7x7x3_2 = _Conv(192, 192, (1, 7), padding=(0, 3))
      self.branch7x7x3_3 = _Conv(192, 192, (7, 1), padding=(3, 0))
      self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x):
      b7 = x
      for i in range(1, 5):
        b7 = getattr(self, f"branch7x7x3_{i}")(b7)
      return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, tF.max_pool2d(x, 3, stride=2)],
                       1)

  class _E(tnn.Module):

    def __init__(self, cin, max_pool):
      super().__init__()
      self.max_pool = max_pool
      self.branch1x1 = _Conv(cin, 320, 1)
      self.branch3x3_1 = _Conv(cin, 384, 1)
      self.branch3x3_2a = _Conv(384, 384, (1, 3), padding=(0, 1))
      self.branch3x3_2b = _Conv(384, 384, (3, 1), padding=(1, 0))
      self.branch3x3dbl_1 = _Conv(cin, 448, 1)
      self.branch3x3dbl_2 = _Conv(448, 384, 3, padding=1)
      self.branch3x3dbl_3a = _Conv(384, 384, (1, 3), padding=(0, 1))
      self.branch3x3dbl_3b = _Conv(384, 384, (3, 1), padding=(1, 0))
      self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x):
      b3 = self.branch3x3_1(x)
      bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
      pooled = tF.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg(x)
      return torch.cat([self.branch1x1(x), self.branch3x3_2a(b3), self.branch3x3_2b(b3),
                        self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd),
                        self.branch_pool(pooled)], 1)

  class _TorchFIDInception(tnn.Module):
    """pytorch-fid's FID InceptionV3 (fid_inception_v3 with blocks 0-3 and the fc head)."""

    def __init__(self, size):
      super().__init__()
      self.size = size
      self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
      self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
      self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
      self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
      self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
      self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = _A(192, 32), _A(256, 64), _A(288, 64)
      self.Mixed_6a = _B(288)
      self.Mixed_6b, self.Mixed_6c = _C(768, 128), _C(768, 160)
      self.Mixed_6d, self.Mixed_6e = _C(768, 160), _C(768, 192)
      self.Mixed_7a = _D(768)
      self.Mixed_7b, self.Mixed_7c = _E(1280, max_pool=False), _E(2048, max_pool=True)
      self.fc = tnn.Linear(2048, 1008)

    def forward(self, x):  # x: [N, 3, H, W] in [-1, 1].
      x = tF.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
      x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
      x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(tF.max_pool2d(x, 3, stride=2)))
      x = tF.max_pool2d(x, 3, stride=2)
      for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
        x = getattr(self, f"Mixed_{name}")(x)
      pool3 = tF.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
      return pool3, self.fc(pool3)


@needs_torch
def test_flax_network_matches_a_pytorch_fid_structured_torch_network():
  size = 139  # 3x3 maps at Mixed_7: the padded pools see both border and interior positions.
  torch.manual_seed(0)
  net = _TorchFIDInception(size).double().eval()
  with torch.no_grad():
    for m in net.modules():
      if isinstance(m, tnn.Conv2d):  # He init keeps the activations O(1) through 94 layers.
        fan_in = m.weight[0].numel()
        m.weight.normal_(0.0, (2.0 / fan_in) ** 0.5)
      elif isinstance(m, tnn.BatchNorm2d):  # Non-trivial statistics exercise every BN tensor.
        m.weight.uniform_(0.5, 1.5)
        m.bias.normal_(0.0, 0.1)
        m.running_mean.normal_(0.0, 0.1)
        m.running_var.uniform_(0.5, 1.5)
  variables = inc.state_dict_to_variables(net.state_dict())
  images = np.random.default_rng(17).uniform(-1, 1, size=(2, 32, 32, 3)).astype(np.float32)
  with torch.no_grad():
    ref_pool3, ref_logits = net(torch.from_numpy(images).double().permute(0, 3, 1, 2))
  out = jax.jit(inc.InceptionV3(resize_to=size).apply)(variables, images)
  ref_pool3, ref_logits = ref_pool3.numpy(), ref_logits.numpy()
  # float32 (ours) vs float64 (reference): the observed max error is ~1e-6 of the largest value.
  # Counting the padding in the average pools (count_include_pad=True) moves pool3 by ~3e-4 of
  # it, an average instead of a max pool in Mixed_7c by ~3e-2: both fail this tolerance.
  assert np.abs(ref_pool3).max() > 0.1  # the signal survived the random network.
  np.testing.assert_allclose(out.pool3, ref_pool3, rtol=0, atol=1e-5 * np.abs(ref_pool3).max())
  np.testing.assert_allclose(out.logits, ref_logits, rtol=0, atol=1e-5 * np.abs(ref_logits).max())


@needs_torch
@pytest.mark.parametrize("size_in", [8, 32, 300, 450])
def test_resize_matches_torch_bilinear_align_corners_false(size_in):
  x = np.random.default_rng(18).normal(size=(1, size_in, size_in, 2)).astype(np.float32)
  ours = np.asarray(inc.resize_images(jnp.asarray(x), 299))
  ref = tF.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size=(299, 299), mode="bilinear",
                       align_corners=False).permute(0, 2, 3, 1).numpy()
  np.testing.assert_allclose(ours, ref, atol=1e-5)

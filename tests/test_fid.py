"""Tests of jaxgan.metrics.{fid, inception, w1, protocol}.

Sources of expected values:
  [FID]   Heusel et al., NeurIPS 2017: d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}); it is
          the squared 2-Wasserstein distance between Gaussians [DL], hence 0 for identical ones.
  [DL]    Dowson, Landau, "The Fréchet distance between multivariate normal distributions", J.
          Multivariate Anal. 1982: the symmetric form Tr((S1^{1/2} S2 S1^{1/2})^{1/2}) of the cross
          term (similar matrices have equal spectra), and for diagonal (commuting) covariances
          d^2 = ||mu1 - mu2||^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
  [TTUR]  pytorch-fid ``calculate_frechet_distance``: eps = 1e-6 added to both diagonals when the
          square root is not finite; imaginary diagonal tolerance 1e-3.
  [KID]   Bińkowski et al., ICLR 2018, code ``compute_scores.py``, torch-fidelity ``metric_kid.py``:
          k(x, y) = (x.y / d + 1)^3; MMD^2_u = sum_{i!=j} (k(x_i,x_j) + k(y_i,y_j)) / (m(m-1))
          - 2 sum_{i,j} k(x_i,y_j) / m^2; subsets drawn by RandomState(seed).choice(n, m, False),
          first set then second set; mean and population std over subsets.
  [IS]    Salimans et al., NeurIPS 2016, ``inception_score/model.py``: exp(mean_x KL(p(y|x)||p(y)))
          on contiguous splits; p(y|x) = p(y) gives KL = 0, IS = 1; one-hot predictions spread
          evenly over C classes give KL = log C, IS = C.
  [W1]    For y = x + v, W1 >= ||E y - E x|| = ||v|| (Kantorovich-Rubinstein with the 1-Lipschitz
          f(z) = v.z / ||v||) and the translation coupling attains ||v||, so W1 = ||v||.
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
import scipy.linalg

from jaxgan.metrics import fid as fidlib
from jaxgan.metrics import inception as inc
from jaxgan.metrics import protocol as protolib
from jaxgan.metrics import w1 as w1lib

try:
  import torch
  import torch.nn as tnn
  import torch.nn.functional as tF
except ImportError:  # pragma: no cover - torch is a reference-only dependency.
  torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
  a = rng.normal(size=(d, 2 * d))
  return a @ a.T / (2 * d) + 0.1 * np.eye(d)


# --------------------------------------------------------------------------------------------------
# Fréchet distance [FID; DL; TTUR]
# --------------------------------------------------------------------------------------------------


def _frechet_reference(mu1, s1, mu2, s2):
  """[DL] symmetric form with SciPy sqrtm of symmetric PSD matrices."""
  r1 = np.real(scipy.linalg.sqrtm(s1))
  cross = np.real(scipy.linalg.sqrtm(r1 @ s2 @ r1))
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(cross))


def test_frechet_identical_statistics_is_zero():
  rng = np.random.default_rng(0)
  mu, s = rng.normal(size=16), _random_spd(rng, 16)
  assert abs(fidlib.frechet_distance(mu, s, mu, s)) < 1e-8 * np.trace(s)  # [FID] d(P, P) = 0.


def test_frechet_matches_scipy_reference_on_random_statistics():
  rng = np.random.default_rng(1)
  for d in (1, 5, 32):
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    expected = _frechet_reference(mu1, s1, mu2, s2)  # [DL] symmetric form.
    assert fidlib.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_frechet_diagonal_closed_form():
  rng = np.random.default_rng(2)
  a, b = rng.uniform(0.1, 3.0, 10), rng.uniform(0.1, 3.0, 10)
  mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # [DL] diagonal.
  assert fidlib.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected,
                                                                                     rel=1e-12)


def test_frechet_adds_eps_when_the_square_root_is_not_finite(monkeypatch):
  rng = np.random.default_rng(3)
  mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
  s1, s2 = _random_spd(rng, 4), _random_spd(rng, 4)
  real_sqrtm, calls = scipy.linalg.sqrtm, []

  def flaky_sqrtm(a, *args, **kwargs):  # The first root "fails" like a singular product.
    calls.append(a)
    return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a, *args, **kwargs)

  monkeypatch.setattr(scipy.linalg, "sqrtm", flaky_sqrtm)
  got = fidlib.frechet_distance(mu1, s1, mu2, s2)
  eps = 1e-6  # [TTUR]
  np.testing.assert_allclose(calls[1], (s1 + eps * np.eye(4)) @ (s2 + eps * np.eye(4)))
  cross = np.trace(np.real(real_sqrtm((s1 + eps * np.eye(4)) @ (s2 + eps * np.eye(4)))))
  expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross
  assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_singular_covariances_are_finite():
  rng = np.random.default_rng(4)
  f1, f2 = rng.normal(size=(5, 12)), rng.normal(size=(5, 12)) + 1.0  # rank-4 covariances, D = 12.
  d = fidlib.frechet_distance_from_features(f1, f2)
  assert np.isfinite(d) and d > 0


def test_frechet_refuses_a_large_imaginary_part_and_bad_shapes():
  z = np.zeros(2)
  with pytest.raises(ValueError, match="imaginary"):  # sqrtm(-I) = i I: not PSD.
    fidlib.frechet_distance(z, -np.eye(2), z, np.eye(2))
  with pytest.raises(ValueError, match="same length"):
    fidlib.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
  with pytest.raises(ValueError, match="covariance"):
    fidlib.frechet_distance(z, np.eye(3), z, np.eye(2))
  with pytest.raises(ValueError, match="vector"):
    fidlib.frechet_distance(np.zeros((2, 1)), np.eye(2), z, np.eye(2))


def test_feature_statistics_matches_numpy():
  x = np.random.default_rng(5).normal(size=(50, 7)).astype(np.float32)
  mu, sigma = fidlib.feature_statistics(x)
  assert mu.dtype == np.float64 and sigma.shape == (7, 7)
  np.testing.assert_allclose(mu, x.astype(np.float64).mean(0), rtol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-12)
  with pytest.raises(ValueError, match="at least 2"):
    fidlib.feature_statistics(x[:1])
  with pytest.raises(ValueError, match=r"\[N, D\]"):
    fidlib.feature_statistics(x[0])


# --------------------------------------------------------------------------------------------------
# KID [KID]
# --------------------------------------------------------------------------------------------------


def _mmd2_unbiased_loops(x, y):
  """[KID] unbiased MMD^2 written from its definition, one kernel evaluation at a time."""
  d, m = x.shape[1], x.shape[0]
  k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3
  xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
  yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
  xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
  return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (m * m)


def test_kid_with_whole_sets_equals_the_reference_mmd():
  rng = np.random.default_rng(6)
  f1, f2 = rng.normal(size=(20, 4)), rng.normal(0.5, 1.2, size=(20, 4))
  mean, std = fidlib.kernel_inception_distance(f1, f2, num_subsets=3, subset_size=20)
  # subset_size = N: every subset is a permutation of the whole set, and MMD^2_u is permutation
  # invariant, so every subset gives the whole-set estimate.
  assert mean == pytest.approx(_mmd2_unbiased_loops(f1, f2), rel=1e-10)
  assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_subsets_follow_the_torch_fidelity_draws():
  rng = np.random.default_rng(7)
  f1, f2 = rng.normal(size=(30, 3)), rng.normal(0.3, 1.0, size=(25, 3))
  mean, std = fidlib.kernel_inception_distance(f1, f2, num_subsets=4, subset_size=8, seed=11)
  draws = np.random.RandomState(11)  # [KID] torch-fidelity's draw order.
  expected = []
  for _ in range(4):
    x = f1[draws.choice(30, 8, replace=False)]
    y = f2[draws.choice(25, 8, replace=False)]
    expected.append(_mmd2_unbiased_loops(x, y))
  assert mean == pytest.approx(np.mean(expected), rel=1e-10)
  assert std == pytest.approx(np.std(expected), rel=1e-8)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
  rng = np.random.default_rng(8)
  a, b, c = rng.normal(size=(400, 8)), rng.normal(size=(400, 8)), rng.normal(1.0, 1.0, (400, 8))
  same, _ = fidlib.kernel_inception_distance(a, b, num_subsets=10, subset_size=200)
  different, _ = fidlib.kernel_inception_distance(a, c, num_subsets=10, subset_size=200)
  assert abs(same) < 0.02 < different


def test_kid_refuses_bad_inputs():
  f = np.zeros((10, 3))
  with pytest.raises(ValueError, match="exceeds the number of samples"):
    fidlib.kernel_inception_distance(f, f, subset_size=11)
  with pytest.raises(ValueError, match="dimensions differ"):
    fidlib.kernel_inception_distance(f, np.zeros((10, 4)), subset_size=5)
  with pytest.raises(ValueError, match=">= 2"):
    fidlib.kernel_inception_distance(f, f, subset_size=1)
  with pytest.raises(ValueError, match=r"\[N, D\]"):
    fidlib.kernel_inception_distance(f[0], f, subset_size=2)


# --------------------------------------------------------------------------------------------------
# Inception Score [IS]
# --------------------------------------------------------------------------------------------------


def test_inception_score_of_uniform_predictions_is_one():
  mean, std = fidlib.inception_score(np.zeros((100, 1008)))  # uniform logits.
  assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)
  mean, _ = fidlib.inception_score(np.full((100, 10), 0.1), from_logits=False)
  assert mean == pytest.approx(1.0, abs=1e-12)


def test_inception_score_of_confident_evenly_spread_predictions_is_the_class_count():
  c, splits = 10, 5
  labels = np.arange(c * splits * 4) % c  # every split holds every class equally often.
  logits = 60.0 * np.eye(c)[labels]
  mean, std = fidlib.inception_score(logits, num_splits=splits)
  assert mean == pytest.approx(c, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)  # [IS] = C.
  mean, _ = fidlib.inception_score(np.eye(c)[labels], num_splits=splits)  # exact one-hot probs.
  assert mean == pytest.approx(c, rel=1e-12)


def test_inception_score_matches_the_authors_formula_on_random_logits():
  logits = np.random.default_rng(9).normal(0.0, 3.0, size=(53, 7))
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  scores = []
  for i in range(4):  # [IS] model.py: contiguous parts preds[i*N//s:(i+1)*N//s].
    part = p[i * 53 // 4:(i + 1) * 53 // 4]
    kl = part * (np.log(part) - np.log(np.mean(part, 0, keepdims=True)))
    scores.append(np.exp(np.mean(np.sum(kl, 1))))
  mean, std = fidlib.inception_score(logits, num_splits=4)
  assert mean == pytest.approx(np.mean(scores), rel=1e-10)
  assert std == pytest.approx(np.std(scores), rel=1e-8)
  assert fidlib.inception_score(p, num_splits=4)[0] == pytest.approx(np.mean(scores), rel=1e-10)


def test_inception_score_refuses_bad_inputs():
  with pytest.raises(ValueError, match="at least num_splits=10"):
    fidlib.inception_score(np.zeros((9, 5)))
  with pytest.raises(ValueError, match=r"\[N, C\]"):
    fidlib.inception_score(np.zeros(10))
  with pytest.raises(ValueError, match="not probability vectors"):
    fidlib.inception_score(np.ones((10, 5)), from_logits=False)


# --------------------------------------------------------------------------------------------------
# Exact W1 [W1]
# --------------------------------------------------------------------------------------------------

_BACKENDS = ["assignment", pytest.param("pot", marks=pytest.mark.skipif(
    not w1lib.pot_available(), reason="POT is not installed"))]


@pytest.mark.parametrize("backend", _BACKENDS)
def test_w1_of_a_shifted_point_set_is_the_shift_length(backend):
  rng = np.random.default_rng(10)
  x = rng.normal(size=(64, 3))
  v = np.array([1.0, -0.5, 2.0])
  assert w1lib.exact_w1(x, x + v, backend=backend) == pytest.approx(np.linalg.norm(v), rel=1e-9)
  assert w1lib.exact_w1(x, x, backend=backend) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.skipif(not w1lib.pot_available(), reason="POT is not installed")
def test_w1_backends_agree_and_pot_handles_unequal_sizes():
  rng = np.random.default_rng(11)
  x, y = rng.normal(size=(40, 2)), rng.normal(1.0, 2.0, size=(40, 2))
  assert w1lib.exact_w1(x, y, backend="pot") == pytest.approx(
      w1lib.exact_w1(x, y, backend="assignment"), rel=1e-9)
  # Duplicating every point leaves the uniform empirical measure unchanged: W1 = 0.
  assert w1lib.exact_w1(x, np.concatenate([x, x]), backend="pot") == pytest.approx(0.0, abs=1e-9)


def test_w1_without_pot_refuses_unequal_sizes():
  with pytest.raises(ValueError, match="needs POT"):
    w1lib.exact_w1(np.zeros((3, 2)), np.zeros((4, 2)), backend="assignment")
  with pytest.raises(ValueError, match="same dimension"):
    w1lib.exact_w1(np.zeros((3, 2)), np.zeros((3, 3)))


def test_w1_auto_backend_works_without_pot(monkeypatch):
  monkeypatch.setitem(sys.modules, "ot", None)  # makes ``import ot`` raise ImportError.
  assert not w1lib.pot_available()
  x = np.random.default_rng(12).normal(size=(16, 2))
  assert w1lib.exact_w1(x, x + np.array([3.0, 4.0])) == pytest.approx(5.0, rel=1e-9)
  with pytest.raises(ImportError, match="pip install POT"):
    w1lib.exact_w1(x, x, backend="pot")


# --------------------------------------------------------------------------------------------------
# Digits classifier features
# --------------------------------------------------------------------------------------------------


def test_digits_frechet_distance_separates_real_halves_from_noise():
  from jaxgan.data.digits import load_digits  # pylint: disable=import-outside-toplevel
  images, _ = load_digits()
  perm = np.random.default_rng(13).permutation(len(images))
  half = len(images) // 2
  a, b = images[perm[:half]], images[perm[half:2 * half]]  # disjoint halves of the real digits.
  noise = np.random.default_rng(14).uniform(-1.0, 1.0, size=a.shape).astype(np.float32)
  real_real = fidlib.digits_frechet_distance(a, b)
  real_noise = fidlib.digits_frechet_distance(a, noise)
  assert 0.0 < real_real < real_noise / 20.0


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

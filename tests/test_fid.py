"""Tests of jaxgan.metrics.fid: the Fréchet distance, KID, the Inception Score, and the digits
classifier's Fréchet distance (the InceptionV3 is in test_inception.py, W1 in test_w1.py, the
protocol in test_protocol.py).

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
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from jaxgan.metrics import fid as fidlib


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

"""Feature-statistics metrics for generated images: FID, KID and the Inception Score (host NumPy).

All functions take features or class scores that were already computed (by the InceptionV3 of
:mod:`jaxgan.metrics.inception`, or by any other embedding) and work in float64, except
``digits_frechet_distance``, which embeds 8x8 digits with the hidden layer of
:func:`jaxgan.metrics.digits.classifier` itself.

Fréchet distance [FID]. Fit a Gaussian to each feature set and take the squared 2-Wasserstein
distance between the two Gaussians::

    d^2 = ||mu_1 - mu_2||^2 + Tr(Sigma_1 + Sigma_2 - 2 (Sigma_1 Sigma_2)^{1/2}).

The matrix square root is ``scipy.linalg.sqrtm`` of the product, with the stabilisation of the
reference implementations (TTUR ``fid.py``, pytorch-fid ``calculate_frechet_distance``): if the
square root has a non-finite entry (the product is singular), ``eps * I`` (``eps = 1e-6``) is added
to both covariances and the root is taken again; a complex root whose imaginary part is tiny
(numerical noise from a nearly singular product) is replaced by its real part, and a large imaginary
part raises ``ValueError``.

Kernel Inception Distance [KID]. The unbiased estimate of the squared maximum mean discrepancy
with the cubic polynomial kernel ``k(x, y) = (gamma x.y + coef0)^degree``, ``gamma = 1/d``,
``coef0 = 1``, ``degree = 3``, on ``m`` points per set::

    MMD^2_u = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)] - 2/m^2 sum_{i, j} k(x_i, y_j).

(The cross term keeps its diagonal: this is the ``mmd_est='unbiased'`` estimator of the KID
authors' ``compute_scores.py`` and of torch-fidelity.) It is averaged over ``num_subsets`` random
subsets of ``subset_size`` points drawn without replacement from each set, and reported with the
standard deviation over the subsets. The subsets are drawn as torch-fidelity draws them:
``rng = np.random.RandomState(seed)``, then per subset ``rng.choice(n1, m, replace=False)`` for the
first set followed by ``rng.choice(n2, m, replace=False)`` for the second.

Inception Score [IS]. ``IS = exp(E_x KL(p(y|x) || p(y)))`` where ``p(y)`` is the mean of ``p(y|x)``
over the split; the samples are cut, in order and without shuffling, into ``num_splits`` contiguous
chunks ``[i N // s, (i + 1) N // s)`` as in the authors' ``inception_score/model.py``, and the mean
and (population) standard deviation of the per-chunk scores are returned. The authors (and
torch-fidelity's default ``logits_unbiased``) use the InceptionV3 logits *without* the final bias.

References:
  [FID] Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
        Equilibrium", NeurIPS 2017; code github.com/bioinf-jku/TTUR and
        github.com/mseitzer/pytorch-fid.
  [KID] Bińkowski, Sutherland, Arbel, Gretton, "Demystifying MMD GANs", ICLR 2018; code
        github.com/mbinkowski/MMD-GAN (``gan/compute_scores.py``), github.com/toshas/torch-fidelity.
  [IS]  Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016; code
        github.com/openai/improved-gan (``inception_score/model.py``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.special

__all__ = [
    "FID_EPS",
    "frechet_distance",
    "feature_statistics",
    "frechet_distance_from_features",
    "digits_frechet_distance",
    "kernel_inception_distance",
    "inception_score",
]

FID_EPS = 1e-6
"""Diagonal offset added to both covariances when ``sqrtm(Sigma_1 Sigma_2)`` is not finite."""

_IMAG_ATOL = 1e-3
"""Largest tolerated imaginary part on the diagonal of the square root (pytorch-fid's tolerance)."""


def _vector(x: Any, name: str) -> np.ndarray:
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 1:
    raise ValueError(f"{name} must be a vector [D], got shape {x.shape}.")
  return x


def _square(x: Any, name: str, d: int) -> np.ndarray:
  x = np.asarray(x, dtype=np.float64)
  if x.shape != (d, d):
    raise ValueError(f"{name} must be a [D, D] = [{d}, {d}] covariance, got shape {x.shape}.")
  return x


def _features(x: Any, name: str, min_rows: int = 1) -> np.ndarray:
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2:
    raise ValueError(f"{name} must be a feature matrix [N, D], got shape {x.shape}.")
  if x.shape[0] < min_rows:
    raise ValueError(f"{name} has {x.shape[0]} samples; at least {min_rows} are needed.")
  if x.shape[1] < 1:
    raise ValueError(f"{name} has no feature dimensions (shape {x.shape}).")
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} contains non-finite values.")
  return x


def _sqrtm(a: np.ndarray) -> np.ndarray:
  """``scipy.linalg.sqrtm(a)`` with its singularity warnings silenced (we check finiteness)."""
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    try:
      with np.errstate(all="ignore"):
        return scipy.linalg.sqrtm(a)
    except (ValueError, np.linalg.LinAlgError):
      return np.full_like(a, np.nan)


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, *,
                     eps: float = FID_EPS) -> float:
  r"""Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` [FID].

  ``d^2 = ||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2) - 2 Tr((sigma1 sigma2)^{1/2})``, with the
  TTUR / pytorch-fid stabilisation described in the module docstring.

  Args:
    mu1: mean of the first set, [D].
    sigma1: covariance of the first set, [D, D].
    mu2: mean of the second set, [D].
    sigma2: covariance of the second set, [D, D].
    eps: diagonal offset used when the product of the covariances is singular.

  Returns:
    The (squared) Fréchet distance as a Python float. It is what the literature calls FID when the
    statistics are InceptionV3 pool3 features.

  Raises:
    ValueError: on inconsistent shapes, non-finite inputs, or when the matrix square root keeps a
      significant imaginary part (> 1e-3 on its diagonal).
  """
  mu1 = _vector(mu1, "mu1")
  mu2 = _vector(mu2, "mu2")
  d = mu1.shape[0]
  if mu2.shape != (d,):
    raise ValueError(f"mu1 and mu2 must have the same length, got {mu1.shape} and {mu2.shape}.")
  sigma1 = _square(sigma1, "sigma1", d)
  sigma2 = _square(sigma2, "sigma2", d)
  for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
    if not np.all(np.isfinite(value)):
      raise ValueError(f"{name} contains non-finite values.")

  diff = mu1 - mu2
  covmean = _sqrtm(sigma1 @ sigma2)
  if not np.all(np.isfinite(covmean)):
    offset = eps * np.eye(d)
    covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if not np.all(np.isfinite(covmean)):
      raise ValueError("sqrtm(sigma1 sigma2) is not finite even after adding "
                       f"{eps:g} * I to both covariances.")
  if np.iscomplexobj(covmean):
    if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=_IMAG_ATOL):
      raise ValueError("sqrtm(sigma1 sigma2) has a significant imaginary component "
                       f"(max |imag| = {np.max(np.abs(covmean.imag)):.3g}); the covariances are "
                       "probably not positive semi-definite.")
    covmean = covmean.real
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
  """Mean and unbiased covariance of a feature matrix (``np.cov(features, rowvar=False)``).

  Args:
    features: [N, D] features, N >= 2.

  Returns:
    ``(mu, sigma)``: float64 [D] and [D, D].
  """
  x = _features(features, "features", min_rows=2)
  mu = x.mean(axis=0)
  sigma = np.atleast_2d(np.cov(x, rowvar=False))
  return mu, sigma


def frechet_distance_from_features(features1: Any, features2: Any) -> float:
  """``frechet_distance(*feature_statistics(features1), *feature_statistics(features2))``."""
  f1 = _features(features1, "features1", min_rows=2)
  f2 = _features(features2, "features2", min_rows=2)
  if f1.shape[1] != f2.shape[1]:
    raise ValueError(f"feature dimensions differ: {f1.shape[1]} vs {f2.shape[1]}.")
  return frechet_distance(*feature_statistics(f1), *feature_statistics(f2))


def digits_frechet_distance(images1: Any, images2: Any) -> float:
  """Fréchet distance between the digits classifier's hidden features of two image sets.

  The FID recipe [FID] with :func:`jaxgan.metrics.digits.classifier`'s 128-d hidden ReLU
  activations in place of InceptionV3 pool3 features (the classifier is trained deterministically
  in-process, so there is no weights file to pin). Only comparable across runs with the same
  sample counts (see :mod:`jaxgan.metrics.protocol`).

  Args:
    images1: [N1, 8, 8, 1] or [N1, 8, 8] images in [-1, 1], N1 >= 2.
    images2: likewise.

  Returns:
    The Fréchet distance as a Python float.
  """
  from jaxgan.metrics.digits import classifier  # pylint: disable=import-outside-toplevel
  model = classifier()
  return frechet_distance_from_features(model.features(images1), model.features(images2))


def _polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int, gamma: float,
                       coef0: float) -> np.ndarray:
  """``(gamma x y^T + coef0)^degree``, [n, m]."""
  return (gamma * (x @ y.T) + coef0) ** degree


def _unbiased_mmd2(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
  """The unbiased MMD^2 estimate from the three m x m kernel matrices [KID]."""
  m = k_xx.shape[0]
  off_xx = k_xx.sum() - np.trace(k_xx)
  off_yy = k_yy.sum() - np.trace(k_yy)
  return float((off_xx + off_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(features1: Any, features2: Any, *, num_subsets: int = 100,
                              subset_size: int = 1000, degree: int = 3,
                              gamma: float | None = None, coef0: float = 1.0,
                              seed: int = 0) -> tuple[float, float]:
  r"""Kernel Inception Distance: subset-averaged unbiased polynomial-kernel MMD^2 [KID].

  Args:
    features1: [N1, D] features of the first set (e.g. real images).
    features2: [N2, D] features of the second set (e.g. generated images).
    num_subsets: number of random subsets averaged over (100 in torch-fidelity and the KID code).
    subset_size: points per subset, drawn without replacement from each set (1000 by default);
      it must satisfy ``2 <= subset_size <= min(N1, N2)``.
    degree: polynomial kernel degree (3).
    gamma: kernel scale; ``None`` means ``1 / D``.
    coef0: kernel offset (1).
    seed: seed of the ``np.random.RandomState`` that draws the subsets.

  Returns:
    ``(mean, std)`` of the per-subset MMD^2 estimates (population std, as torch-fidelity). The
    unbiased estimate can be slightly negative when the two sets are alike.

  Raises:
    ValueError: on bad shapes, mismatched dimensions, ``num_subsets < 1``, ``subset_size < 2`` or
      ``subset_size`` larger than either set.
  """
  f1 = _features(features1, "features1")
  f2 = _features(features2, "features2")
  if f1.shape[1] != f2.shape[1]:
    raise ValueError(f"feature dimensions differ: {f1.shape[1]} vs {f2.shape[1]}.")
  if int(num_subsets) != num_subsets or num_subsets < 1:
    raise ValueError(f"num_subsets must be a positive integer, got {num_subsets}.")
  if int(subset_size) != subset_size or subset_size < 2:
    raise ValueError(f"subset_size must be an integer >= 2 (the unbiased estimate divides by "
                     f"m(m - 1)), got {subset_size}.")
  n1, n2 = f1.shape[0], f2.shape[0]
  if subset_size > min(n1, n2):
    raise ValueError(f"KID subset_size={subset_size} exceeds the number of samples "
                     f"(features1: {n1}, features2: {n2}); pass more samples or a smaller "
                     f"subset_size.")
  num_subsets, subset_size = int(num_subsets), int(subset_size)
  if gamma is None:
    gamma = 1.0 / f1.shape[1]
  rng = np.random.RandomState(seed)
  mmds = np.empty(num_subsets)
  for i in range(num_subsets):
    x = f1[rng.choice(n1, subset_size, replace=False)]
    y = f2[rng.choice(n2, subset_size, replace=False)]
    mmds[i] = _unbiased_mmd2(_polynomial_kernel(x, x, degree, gamma, coef0),
                             _polynomial_kernel(x, y, degree, gamma, coef0),
                             _polynomial_kernel(y, y, degree, gamma, coef0))
  return float(mmds.mean()), float(mmds.std())


def _looks_like_probabilities(x: np.ndarray) -> bool:
  return bool(np.all(x >= 0.0) and np.all(x <= 1.0)
              and np.allclose(x.sum(axis=1), 1.0, rtol=0.0, atol=1e-6))


def inception_score(logits_or_probs: Any, num_splits: int = 10, *,
                    from_logits: bool | None = None) -> tuple[float, float]:
  r"""Inception Score ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over splits [IS].

  Args:
    logits_or_probs: [N, C] class logits or class probabilities of N samples.
    num_splits: number of contiguous, unshuffled chunks (10 in [IS]); N >= num_splits.
    from_logits: ``True``: the input is logits (softmax is applied); ``False``: the input is
      probabilities (rows must be non-negative and sum to 1); ``None`` (default): probabilities when
      every entry lies in [0, 1] and every row sums to 1 within 1e-6, logits otherwise.

  Returns:
    ``(mean, std)`` of the per-split scores (population std, as [IS] and torch-fidelity). A score
    lies in ``[1, C]``.

  Raises:
    ValueError: on a non-matrix input, non-finite values, invalid probabilities, ``num_splits < 1``
      or fewer samples than splits.
  """
  x = np.asarray(logits_or_probs, dtype=np.float64)
  if x.ndim != 2 or x.shape[1] < 1:
    raise ValueError(f"logits_or_probs must have shape [N, C], got {x.shape}.")
  if not np.all(np.isfinite(x)):
    raise ValueError("logits_or_probs contains non-finite values.")
  if int(num_splits) != num_splits or num_splits < 1:
    raise ValueError(f"num_splits must be a positive integer, got {num_splits}.")
  num_splits = int(num_splits)
  n = x.shape[0]
  if n < num_splits:
    raise ValueError(f"inception_score needs at least num_splits={num_splits} samples, got {n}.")
  if from_logits is None:
    from_logits = not _looks_like_probabilities(x)
  if from_logits:
    log_p = scipy.special.log_softmax(x, axis=1)
    p = np.exp(log_p)
  else:
    if not _looks_like_probabilities(x):
      raise ValueError("from_logits=False but the rows are not probability vectors (entries in "
                       "[0, 1] summing to 1).")
    p = x
    log_p = None
  scores = np.empty(num_splits)
  for i in range(num_splits):
    lo, hi = i * n // num_splits, (i + 1) * n // num_splits
    p_split = p[lo:hi]
    with np.errstate(divide="ignore", invalid="ignore"):
      log_q = np.log(p_split.mean(axis=0, keepdims=True))
      log_ratio = (log_p[lo:hi] if log_p is not None else np.log(p_split)) - log_q
      # 0 log 0 = 0: a term with p(y|x) = 0 (possibly underflowed) contributes nothing; where
      # p(y|x) > 0 the split marginal p(y) is > 0 too.
      kl = np.where(p_split > 0.0, p_split * log_ratio, 0.0)
    scores[i] = np.exp(kl.sum(axis=1).mean())
  return float(scores.mean()), float(scores.std())

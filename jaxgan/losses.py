"""GAN losses and critic penalties as pure functions of arrays.

Every function returns an unweighted scalar batch mean; the caller (the train step, from the config)
applies the weights (lambda for the gradient penalty, epsilon_drift, gamma). Critic outputs may have
shape ``[B]`` or ``[B, 1]``. Penalties take a ``critic_fn`` closure mapping a batch ``[B, ...]`` to
``[B]`` or ``[B, 1]`` and, where they sample, an explicit PRNG key.

All functions are safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` (including the second-order
gradient the gradient penalty needs).

Conventions: "logits" are pre-sigmoid discriminator outputs (BCE family); "scores" are unbounded critic
outputs (Wasserstein and hinge families).

References:
  [GAN]    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
  [WGAN]   Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017.
  [WGANGP] Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
  [SNGAN]  Miyato et al., "Spectral Normalization for Generative Adversarial Networks", ICLR 2018.
  [PGGAN]  Karras et al., "Progressive Growing of GANs", ICLR 2018.
  [R1]     Mescheder, Geiger, Nowozin, "Which Training Methods for GANs do actually Converge?", ICML 2018.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

__all__ = [
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "drift_penalty",
    "interpolate",
    "gradient_penalty",
    "r1_penalty",
    "clip_weights",
]

CriticFn = Callable[[jax.Array], jax.Array]


def _scores(x: Any, name: str) -> jax.Array:
  """Checks that ``x`` is a batch of scalar outputs, [B] or [B, 1], and returns it as [B]."""
  x = jnp.asarray(x)
  if x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1):
    if x.shape[0] == 0:
      raise ValueError(f"{name} is empty; expected a batch of shape [B] or [B, 1] with B >= 1.")
    return x.reshape(x.shape[0])
  raise ValueError(f"{name} must have shape [B] or [B, 1] (one critic output per sample), "
                   f"got shape {x.shape}.")


# ----------------------------------------------------------------------------------------------------
# BCE (minimax) family [GAN]
# ----------------------------------------------------------------------------------------------------
def minimax_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  r"""Binary cross-entropy of the discriminator, labels 1 for real and 0 for fake [GAN].

  .. math::
    L_D = -\mathbb{E}[\log \sigma(D(x))] - \mathbb{E}[\log(1 - \sigma(D(G(z))))]
        = \mathrm{mean}\,\mathrm{softplus}(-r) + \mathrm{mean}\,\mathrm{softplus}(f)

  using ``-log sigmoid(t) = softplus(-t)`` and ``-log(1 - sigmoid(t)) = softplus(t)``, which stay
  finite and exact for logits of any magnitude.

  Args:
    real_logits: discriminator logits on real samples, shape [B] or [B, 1].
    fake_logits: discriminator logits on generated samples, shape [B'] or [B', 1].

  Returns:
    The scalar loss the discriminator minimises.
  """
  r = _scores(real_logits, "real_logits")
  f = _scores(fake_logits, "fake_logits")
  return jnp.mean(jax.nn.softplus(-r)) + jnp.mean(jax.nn.softplus(f))


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
  r"""The generator's side of the original minimax game (the saturating form) [GAN].

  .. math::
    L_G = \mathbb{E}[\log(1 - \sigma(D(G(z))))] = -\mathrm{mean}\,\mathrm{softplus}(f)

  Its gradient ``-sigmoid(f)`` vanishes when the discriminator confidently rejects the fakes
  (f -> -inf): the vanishing-gradient problem of the BCE GAN.

  Args:
    fake_logits: discriminator logits on generated samples, shape [B] or [B, 1].

  Returns:
    The scalar loss the generator minimises.
  """
  return -jnp.mean(jax.nn.softplus(_scores(fake_logits, "fake_logits")))


def non_saturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
  r"""The non-saturating generator loss ``-E[log D(G(z))]`` [GAN, section 3].

  .. math::
    L_G = -\mathbb{E}[\log \sigma(D(G(z)))] = \mathrm{mean}\,\mathrm{softplus}(-f)

  Args:
    fake_logits: discriminator logits on generated samples, shape [B] or [B, 1].

  Returns:
    The scalar loss the generator minimises.
  """
  return jnp.mean(jax.nn.softplus(-_scores(fake_logits, "fake_logits")))


# ----------------------------------------------------------------------------------------------------
# Wasserstein (W-loss) [WGAN] and hinge [SNGAN] families
# ----------------------------------------------------------------------------------------------------
def wasserstein_critic_loss(real_scores: jax.Array, fake_scores: jax.Array) -> jax.Array:
  r"""The critic's W-loss [WGAN, eq. 3]: it maximises E[c(x)] - E[c(G(z))], so minimises

  .. math::
    L_C = \mathbb{E}[c(G(z))] - \mathbb{E}[c(x)].

  For a 1-Lipschitz critic at its optimum, ``-L_C`` estimates the earth mover's distance W1 between
  the real and generated distributions (Kantorovich-Rubinstein duality).

  Args:
    real_scores: critic outputs on real samples, shape [B] or [B, 1].
    fake_scores: critic outputs on generated samples, shape [B'] or [B', 1].

  Returns:
    The scalar loss the critic minimises.
  """
  return (jnp.mean(_scores(fake_scores, "fake_scores"))
          - jnp.mean(_scores(real_scores, "real_scores")))


def wasserstein_generator_loss(fake_scores: jax.Array) -> jax.Array:
  r"""The generator's W-loss [WGAN]: :math:`L_G = -\mathbb{E}[c(G(z))]`.

  Args:
    fake_scores: critic outputs on generated samples, shape [B] or [B, 1].

  Returns:
    The scalar loss the generator minimises.
  """
  return -jnp.mean(_scores(fake_scores, "fake_scores"))


def hinge_discriminator_loss(real_scores: jax.Array, fake_scores: jax.Array) -> jax.Array:
  r"""The hinge loss of the discriminator [SNGAN, eq. 16; Lim & Ye 2017].

  .. math::
    L_D = \mathbb{E}[\max(0, 1 - D(x))] + \mathbb{E}[\max(0, 1 + D(G(z)))]

  Args:
    real_scores: discriminator outputs on real samples, shape [B] or [B, 1].
    fake_scores: discriminator outputs on generated samples, shape [B'] or [B', 1].

  Returns:
    The scalar loss the discriminator minimises.
  """
  r = _scores(real_scores, "real_scores")
  f = _scores(fake_scores, "fake_scores")
  return jnp.mean(jax.nn.relu(1.0 - r)) + jnp.mean(jax.nn.relu(1.0 + f))


def hinge_generator_loss(fake_scores: jax.Array) -> jax.Array:
  r"""The generator's loss for the hinge discriminator [SNGAN]: :math:`-\mathbb{E}[D(G(z))]`.

  Args:
    fake_scores: discriminator outputs on generated samples, shape [B] or [B, 1].

  Returns:
    The scalar loss the generator minimises.
  """
  return -jnp.mean(_scores(fake_scores, "fake_scores"))


def drift_penalty(real_scores: jax.Array) -> jax.Array:
  r"""PGGAN's drift term :math:`\mathbb{E}[c(x)^2]` (unweighted; the paper uses
  :math:`\epsilon_{drift} = 0.001`), which keeps the critic's outputs near zero [PGGAN, appendix A.1].

  Args:
    real_scores: critic outputs on real samples, shape [B] or [B, 1].

  Returns:
    The scalar mean of the squared scores.
  """
  return jnp.mean(jnp.square(_scores(real_scores, "real_scores")))


# ----------------------------------------------------------------------------------------------------
# Penalties on the critic's input gradient [WGANGP], [R1]
# ----------------------------------------------------------------------------------------------------
def interpolate(real: jax.Array, fake: jax.Array, key: jax.Array) -> jax.Array:
  r"""Random points on the segments between paired real and fake samples [WGANGP, Algorithm 1].

  .. math::
    \hat{x}_i = \epsilon_i x_i + (1 - \epsilon_i) \tilde{x}_i, \qquad \epsilon_i \sim U[0, 1]

  with one :math:`\epsilon_i` per sample, broadcast over that sample's other axes (not one for the
  whole batch, not one per pixel).

  Args:
    real: real samples, shape [B, ...].
    fake: generated samples, the same shape as ``real``.
    key: a PRNG key used only for the draw of epsilon.

  Returns:
    The interpolates, shape [B, ...], in the dtype of ``real`` and ``fake`` promoted together.
  """
  real = jnp.asarray(real)
  fake = jnp.asarray(fake)
  if real.shape != fake.shape:
    raise ValueError(f"real and fake must have the same shape [B, ...], got {real.shape} and "
                     f"{fake.shape}.")
  if real.ndim < 1 or real.shape[0] == 0:
    raise ValueError(f"real and fake must be a non-empty batch [B, ...], got shape {real.shape}.")
  dtype = jnp.result_type(real, fake)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise ValueError(f"real and fake must be floating point, got dtype {dtype}.")
  eps = interpolation_weights(key, real.shape[0], real.ndim, dtype)
  return eps * real + (1.0 - eps) * fake


def interpolation_weights(key: jax.Array, batch_size: int, ndim: int, dtype=jnp.float32) -> jax.Array:
  """The epsilon of :func:`interpolate`: U[0, 1] of shape [batch_size, 1, ..., 1] (``ndim`` axes).

  Exposed so that a data-parallel step can draw the weights of the global batch and take its own rows,
  giving the same interpolates on any number of devices.
  """
  return jax.random.uniform(key, (batch_size,) + (1,) * (ndim - 1), dtype=dtype)


def _input_gradients(critic_fn: CriticFn, x: jax.Array) -> jax.Array:
  """Per-sample gradients of the critic with respect to its input, by one backward pass.

  The gradient of ``sum_i c(x)_i`` with respect to ``x`` has row i equal to the gradient of
  ``c(x)_i`` with respect to ``x_i`` exactly when output i depends on no other sample (no batch norm,
  no minibatch statistics in the critic). Returned in at least float32.
  """

  def summed(inputs):
    return jnp.sum(_scores(critic_fn(inputs), "critic_fn(x)"))

  grads = jax.grad(summed)(x)
  return grads.astype(jnp.promote_types(grads.dtype, jnp.float32))


def input_gradient_norms(critic_fn: CriticFn, x: jax.Array) -> jax.Array:
  """The L2 norm of the critic's input gradient per sample, over all non-batch axes: shape [B].

  Uses a norm whose value and gradient are finite (zero) where the input gradient is exactly zero
  (``optax.safe_norm``; the plain ``jnp.linalg.norm`` has a NaN gradient there, jax#3058).
  """
  grads = _input_gradients(critic_fn, x)
  return optax.safe_norm(grads.reshape(grads.shape[0], -1), 0.0, axis=1)


def gradient_penalty(critic_fn: CriticFn, real: jax.Array, fake: jax.Array, key: jax.Array, *,
                     target: float = 1.0, one_sided: bool = False) -> jax.Array:
  r"""The WGAN-GP gradient penalty [WGANGP, eq. 3], unweighted.

  .. math::
    GP = \mathbb{E}_{\hat{x}}\big[(\lVert \nabla_{\hat{x}} c(\hat{x}) \rVert_2 - \gamma)^2\big],
    \qquad \hat{x} = \epsilon x + (1 - \epsilon) \tilde{x},\ \epsilon \sim U[0, 1] \text{ per sample}

  The norm is taken per sample over all non-batch axes. With ``one_sided=True`` only slopes above the
  target are penalised: :math:`\max(0, \lVert\cdot\rVert - \gamma)^2` (the paper's appendix variant).
  PGGAN uses ``target`` :math:`\gamma` = 750 on CIFAR-10 with the weight scaled to
  :math:`\lambda / \gamma^2` (the caller's job). The caller multiplies by :math:`\lambda` (10 in the
  paper). The penalty is computed in at least float32 even when the critic runs in bfloat16.

  The per-sample gradients come from ONE backward pass of ``sum_i c(x_hat)_i`` (the "sum trick"). This
  equals the per-sample gradients only for a critic without cross-sample operations: batch norm or a
  minibatch standard-deviation layer couple the samples and make the result a different quantity (one
  reason WGAN-GP's critic uses no batch norm). Its value and gradient are finite where the input
  gradient is exactly zero.

  Args:
    critic_fn: maps a batch [B, ...] to critic outputs [B] or [B, 1]; close over its parameters to
      differentiate the penalty with respect to them.
    real: real samples [B, ...].
    fake: generated samples, the same shape as ``real``.
    key: PRNG key for the interpolation weights only (never the key used for the latents).
    target: the slope the penalty pulls the gradient norm towards (1 for a 1-Lipschitz critic).
    one_sided: penalise only norms above ``target``.

  Returns:
    The scalar penalty (mean over the batch).
  """
  norms = input_gradient_norms(critic_fn, interpolate(real, fake, key))
  return penalty_from_norms(norms, target=target, one_sided=one_sided)


def penalty_from_norms(norms: jax.Array, *, target: float = 1.0, one_sided: bool = False) -> jax.Array:
  """``mean((norms - target)**2)`` (``relu(norms - target)`` when one-sided): the last stage of
  :func:`gradient_penalty`, for callers that also log the norms of :func:`input_gradient_norms`."""
  excess = norms - target
  if one_sided:
    excess = jax.nn.relu(excess)
  return jnp.mean(jnp.square(excess))


def r1_penalty(critic_fn: CriticFn, x: jax.Array) -> jax.Array:
  r"""The R1 penalty :math:`\mathbb{E}_x[\lVert \nabla_x c(x) \rVert_2^2]` [R1, eq. 9], unweighted.

  Evaluated at real samples it is R1; at generated samples, R2. The caller applies
  :math:`\gamma / 2`. Like :func:`gradient_penalty` it uses one backward pass of the summed outputs,
  so it holds per sample only for critics without cross-sample operations.

  Args:
    critic_fn: maps a batch [B, ...] to critic outputs [B] or [B, 1].
    x: the samples [B, ...] where the gradient is taken.

  Returns:
    The scalar penalty (mean over the batch).
  """
  x = jnp.asarray(x)
  if x.ndim < 1 or x.shape[0] == 0:
    raise ValueError(f"x must be a non-empty batch [B, ...], got shape {x.shape}.")
  grads = _input_gradients(critic_fn, x)
  return jnp.mean(jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=1))


def clip_weights(params: Any, clip_value: float) -> Any:
  r"""Clamps every leaf of ``params`` to :math:`[-c, c]` (WGAN's weight clipping [WGAN, Algorithm 1]).

  Apply it AFTER each critic update (clipping before the update lets the update leave the box). The
  WGAN recipe is c = 0.01 with RMSProp(5e-5) and n_critic = 5. A projection in the sense of
  ``optax.projections.projection_box``.

  Args:
    params: a pytree of arrays (the critic's parameters).
    clip_value: c > 0.

  Returns:
    A pytree of the same structure with every entry in [-c, c].
  """
  try:
    concrete = float(clip_value)  # Python, NumPy and concrete JAX scalars alike
  except TypeError:  # a tracer under jit (ConcretizationTypeError): cannot be checked there
    concrete = None
  if concrete is not None and not concrete > 0:
    raise ValueError(f"clip_value must be > 0, got {clip_value}.")
  # Not optax.projections.projection_box(params, -c, c): it maps jnp.clip over (params, lower, upper)
  # as trees, so a scalar bound fails with a pytree structure error on any nested params.
  return jax.tree.map(lambda p: jnp.clip(p, -clip_value, clip_value), params)

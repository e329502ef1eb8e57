"""One compiled train step: ``n_critic`` critic updates, then one generator update.

``make_train_step(config, generator, critic, g_tx, d_tx)`` returns a pure function
``train_step(state, reals) -> (state, metrics)`` where ``reals`` holds one real batch per critic update,
shape [n_critic, B, ...]. It is meant to be jitted once with the state donated (:func:`jit_train_step`).

Loss families (``config.loss``), with the weights from the config:

==========  =========================================  ==========================================
family      critic / discriminator minimises           generator minimises
==========  =========================================  ==========================================
gan         BCE: softplus(-D(x)) + softplus(D(G(z)))   E[log(1 - D(G(z)))] (saturating)
nsgan       the same                                   -E[log D(G(z))] (non-saturating)
wgan        E[c(G(z))] - E[c(x)], then clip to [-c,c]  -E[c(G(z))]
wgan_gp     E[c(G(z))] - E[c(x)] + lambda GP           -E[c(G(z))]
hinge       E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]   -E[D(G(z))]
==========  =========================================  ==========================================

Any family may add ``gp_weight`` x gradient penalty and ``drift_weight`` x drift; ``clip_value`` > 0
clips the critic after every critic update (never before: WassersteinGAN#50).

RNG discipline: the step's key is ``fold_in(state.key, state.step)``; critic update k uses
``fold_in(key, k)`` split into a latent key and an interpolation key, the generator update uses
``fold_in(key, n_critic)``. No key is used for two draws.

The real and fake batches go through the critic as ONE concatenated batch (one forward and one backward
pass instead of two; exact for critics without cross-sample operations). PGGAN's critic, whose
minibatch standard-deviation layer couples the samples of a batch, gets two separate passes.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxgan import losses
from jaxgan.state import GANState

_FAMILIES = {
    "gan": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
    "nsgan": (losses.minimax_discriminator_loss, losses.non_saturating_generator_loss),
    "wgan": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss),
    "wgan_gp": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss),
    "hinge": (losses.hinge_discriminator_loss, losses.hinge_generator_loss),
}


def resolve_critic_loop(config) -> str:
  """'scan' or 'unroll' for the n_critic loop.

  'auto' is ``lax.scan`` (the critic update compiled once: faster compiles, half the temporary
  memory) except for convolutional models on CPU with ``conv_impl='xla'``: XLA's CPU backend keeps
  convolutions inside a rolled while loop in slow non-canonical layouts (~8x slower for a DCGAN
  critic, shared/notes/cpu-convolutions.md; jax#12868), so there the loop is unrolled. Measured on
  2 CPU cores, scan/unroll step time in one run (benchmarks/step_throughput.py --loops scan unroll):
  MLP 3x512 B256, six losses, 0.84-1.02x (compile 0.6x); DCGAN-32 B64 with im2col convolutions,
  WGAN-GP, 0.92-1.00x (compile 0.5-0.8x, temporary memory 0.47x).
  """
  if config.critic_loop != "auto":
    return config.critic_loop
  from jaxgan.models import layers  # pylint: disable=import-outside-toplevel
  xla_convs_on_cpu = (jax.default_backend() == "cpu" and config.model != "mlp"
                      and layers.resolve_conv_impl(config.get("conv_impl", "auto")) == "xla")
  return "unroll" if xla_convs_on_cpu else "scan"


def _apply(module, params, collections, *args, mutable: bool, **kwargs):
  """``module.apply`` returning (out, new_collections); collections pass through when not mutable."""
  variables = {"params": params, **collections}
  if mutable and collections:
    out, new = module.apply(variables, *args, mutable=list(collections), **kwargs)
    return out, dict(new)
  return module.apply(variables, *args, **kwargs), collections


def latents(key: jax.Array, batch_size: int, latent_dim: int) -> jax.Array:
  """Standard normal generator inputs, [batch_size, latent_dim]."""
  return jax.random.normal(key, (batch_size, latent_dim), jnp.float32)


class Updates(NamedTuple):
  """The pieces a train step is made of (exposed to test the step against them)."""
  critic_update: Callable[[GANState, jax.Array, jax.Array], tuple[GANState, dict]]
  generator_update: Callable[[GANState, jax.Array, int], tuple[GANState, dict]]
  step_keys: Callable[[GANState], tuple[jax.Array, jax.Array]]


def make_updates(config, generator, critic, g_tx: optax.GradientTransformation,
                 d_tx: optax.GradientTransformation, *, axis_name: str | None = None,
                 num_shards: int = 1, stage: int | None = None) -> Updates:
  """One critic update, one generator update, and the keys of a step, for ``config``.

  With ``axis_name`` (inside ``jax.pmap``) each device holds 1/``num_shards`` of the global batch:
  latents and interpolation weights are drawn for the GLOBAL batch from the same keys and each device
  takes its own rows (randomness indexed by global example, so the result does not depend on the device
  count), and gradients and metrics are averaged over devices with ``lax.pmean``. Per-device means of
  equal-sized shards averaged over devices equal the global means.

  With ``stage`` (progressive growing), both networks are applied at that stage and every update takes
  the fade-in ``alpha`` (a traced scalar: changing it never recompiles); the real images arrive at the
  stage's resolution and are blended like the generator's output during a fade (PGGAN).
  """
  critic_loss_fn, generator_loss_fn = _FAMILIES[config.loss]
  n_critic = config.n_critic
  gp_weight = float(config.gp_weight)
  drift_weight = float(config.drift_weight)
  clip_value = float(config.clip_value)
  ema_decay = float(config.ema_decay)

  def own_rows(x):
    """This device's rows of an array drawn for the global batch."""
    if axis_name is None:
      return x
    local = x.shape[0] // num_shards
    return jax.lax.dynamic_slice_in_dim(x, jax.lax.axis_index(axis_name) * local, local, axis=0)

  def mean_over_devices(tree):
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)

  # gp_weight is lambda; with a target gamma != 1 the penalty is scaled by 1 / gamma^2 (PGGAN's
  # lambda * E[(|g| - gamma)^2] / gamma^2; identical to WGAN-GP's at gamma = 1).
  gp_scale = gp_weight / float(config.gp_target) ** 2

  # Reals and fakes go through the critic as one batch unless the critic couples the samples of a
  # batch (PGGAN's minibatch standard deviation), where the two must stay apart.
  separate_passes = bool(getattr(critic, "mbstd_group_size", 0) > 1)

  def model_kwargs(alpha):
    return {} if stage is None else {"stage": stage, "alpha": alpha}

  def fakes(state, key, batch_size, alpha):
    z = own_rows(latents(key, batch_size * num_shards, config.latent_dim))
    # The generator runs in training mode (batch statistics of this batch); the running averages are
    # updated by the generator update only.
    fake, _ = _apply(generator, state.g_params, state.g_state, z, train=True, mutable=True,
                     **model_kwargs(alpha))
    return jax.lax.stop_gradient(fake)

  def critic_update(state: GANState, real: jax.Array, key: jax.Array, alpha=None,
                    measure_slope: bool = True):
    """One critic update. Without a gradient penalty, the input-gradient norm at x_hat (a metric
    only) costs an extra backward pass: ``measure_slope=False`` skips it (both loop forms measure the
    last of their n_critic updates only)."""
    z_key, eps_key = jax.random.split(key)
    if stage is not None:
      from jaxgan.models import progressive  # pylint: disable=import-outside-toplevel
      real = progressive.real_images_at(real, stage, alpha)
    fake = fakes(state, z_key, real.shape[0], alpha)
    batch = real.shape[0]

    def loss_fn(d_params):
      if separate_passes:  # the critic mixes samples (minibatch stddev): never mix reals and fakes
        real_scores, d_state = _apply(critic, d_params, state.d_state, real, update_stats=True,
                                      mutable=True, **model_kwargs(alpha))
        fake_scores, d_state = _apply(critic, d_params, d_state, fake, update_stats=True,
                                      mutable=True, **model_kwargs(alpha))
      else:
        scores, d_state = _apply(critic, d_params, state.d_state, jnp.concatenate([real, fake]),
                                 update_stats=True, mutable=True, **model_kwargs(alpha))
        real_scores, fake_scores = scores[:batch], scores[batch:]
      loss = critic_loss_fn(real_scores, fake_scores)
      total = loss
      if axis_name is None:
        x_hat = losses.interpolate(real, fake, eps_key)
      else:
        eps = own_rows(losses.interpolation_weights(eps_key, batch * num_shards, real.ndim,
                                                    real.dtype))
        x_hat = eps * real + (1.0 - eps) * fake
      critic_fn = lambda x: _apply(critic, d_params, d_state, x, update_stats=False, mutable=False,
                                   **model_kwargs(alpha))[0]
      if gp_weight > 0:
        norms = losses.input_gradient_norms(critic_fn, x_hat)
        penalty = losses.penalty_from_norms(norms, target=config.gp_target,
                                            one_sided=config.gp_one_sided)
        total = total + gp_scale * penalty
      else:
        norms = (jax.lax.stop_gradient(losses.input_gradient_norms(critic_fn, x_hat))
                 if measure_slope else jnp.zeros((1,), jnp.float32))
        penalty = jnp.zeros((), jnp.float32)
      if drift_weight > 0:
        total = total + drift_weight * losses.drift_penalty(real_scores)
      metrics = {
          "critic_loss": loss,
          "penalty": penalty,
          "w_estimate": jnp.mean(real_scores) - jnp.mean(fake_scores),
          "grad_norm": jnp.mean(norms),
      }
      return total, (d_state, metrics)

    (total, (d_state, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.d_params)
    grads, metrics, total = mean_over_devices((grads, metrics, total))
    updates, d_opt_state = d_tx.update(grads, state.d_opt_state, state.d_params)
    d_params = optax.apply_updates(state.d_params, updates)
    if clip_value > 0:
      d_params = losses.clip_weights(d_params, clip_value)  # after the update (WGAN Algorithm 1)
    metrics["critic_total"] = total
    return state.replace(d_params=d_params, d_state=d_state, d_opt_state=d_opt_state), metrics

  def generator_update(state: GANState, key: jax.Array, batch_size: int, alpha=None):
    z = own_rows(latents(key, batch_size * num_shards, config.latent_dim))

    def loss_fn(g_params):
      fake, g_state = _apply(generator, g_params, state.g_state, z, train=True, mutable=True,
                             **model_kwargs(alpha))
      scores, _ = _apply(critic, state.d_params, state.d_state, fake, update_stats=False,
                         mutable=False, **model_kwargs(alpha))
      return generator_loss_fn(scores), g_state

    (loss, g_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
    grads, loss = mean_over_devices((grads, loss))
    updates, g_opt_state = g_tx.update(grads, state.g_opt_state, state.g_params)
    g_params = optax.apply_updates(state.g_params, updates)
    g_ema = state.g_ema
    if ema_decay > 0:
      g_ema = optax.incremental_update(g_params, state.g_ema, 1.0 - ema_decay)
    state = state.replace(g_params=g_params, g_state=g_state, g_opt_state=g_opt_state, g_ema=g_ema)
    return state, {"g_loss": loss, "g_grad_norm": optax.tree.norm(grads)}

  def step_keys(state: GANState):
    """(critic_keys [n_critic], generator_key) of the step ``state.step``."""
    key = jax.random.fold_in(state.key, state.step)
    critic_keys = jax.vmap(lambda k: jax.random.fold_in(key, k))(jnp.arange(n_critic))
    return critic_keys, jax.random.fold_in(key, n_critic)

  return Updates(critic_update, generator_update, step_keys)


def make_train_step(config, generator, critic, g_tx: optax.GradientTransformation,
                    d_tx: optax.GradientTransformation, *, axis_name: str | None = None,
                    num_shards: int = 1, stage: int | None = None) -> Callable[..., Any]:
  """The pure train step ``(state, reals [n_critic, B, ...]) -> (state, metrics)`` for ``config``.

  ``axis_name`` and ``num_shards``: see :func:`make_updates` (the ``pmap`` path; ``B`` is then the
  per-device batch). Under ``jax.jit`` with sharded inputs no argument is needed: the computation is
  written for the global batch and XLA partitions it.
  """
  critic_update, generator_update, step_keys = make_updates(
      config, generator, critic, g_tx, d_tx, axis_name=axis_name, num_shards=num_shards,
      stage=stage)
  n_critic = config.n_critic
  loop = resolve_critic_loop(config)

  def train_step(state: GANState, reals: jax.Array, alpha=None):
    if reals.shape[0] != n_critic:
      raise ValueError(f"reals must have shape [n_critic={n_critic}, B, ...]; got {reals.shape}")
    critic_keys, g_key = step_keys(state)
    if loop == "scan" and config.gp_weight > 0:  # the penalty measures the slope every update
      state, per_update = jax.lax.scan(lambda s, xs: critic_update(s, *xs, alpha), state,
                                       (reals, critic_keys))
      critic_metrics = jax.tree.map(lambda m: m[-1], per_update)
    elif loop == "scan":
      # n_critic - 1 updates rolled, without the slope measurement (a metric only, an extra backward
      # pass without a penalty); the last written out and measured, as in the unrolled loop.
      if n_critic > 1:
        state, _ = jax.lax.scan(
            lambda s, xs: critic_update(s, *xs, alpha, measure_slope=False), state,
            (reals[:-1], critic_keys[:-1]))
      state, critic_metrics = critic_update(state, reals[-1], critic_keys[-1], alpha)
    else:
      for k in range(n_critic):
        state, critic_metrics = critic_update(state, reals[k], critic_keys[k], alpha,
                                              measure_slope=k == n_critic - 1)
    state, g_metrics = generator_update(state, g_key, reals.shape[1], alpha)
    state = state.replace(step=state.step + 1)
    metrics = {**critic_metrics, **g_metrics}
    return state, {k: v.astype(jnp.float32) for k, v in metrics.items()}

  return train_step


def jit_train_step(train_step):
  """``jax.jit`` with the state donated: its buffers are reused for the new state."""
  return jax.jit(train_step, donate_argnums=(0,))


@functools.partial(jax.jit, static_argnames=("generator", "use_ema", "stage"))
def generate(generator, state: GANState, z: jax.Array, use_ema: bool = True,
             stage: int | None = None, alpha=None) -> jax.Array:
  """Generator samples in data space (inference mode: batch norm running averages; EMA when kept).
  ``stage`` and ``alpha``: the progressive generator's stage and fade-in."""
  params = state.g_ema if (use_ema and state.g_ema) else state.g_params
  kwargs = {} if stage is None else {"stage": stage, "alpha": alpha}
  return generator.apply({"params": params, **state.g_state}, z, train=False, **kwargs)


def critic_scores(critic, state: GANState, x: jax.Array, stage: int | None = None,
                  alpha=None) -> jax.Array:
  """Critic scores [B] without updating any statistic."""
  kwargs = {} if stage is None else {"stage": stage, "alpha": alpha}
  return critic.apply({"params": state.d_params, **state.d_state}, x, update_stats=False, **kwargs)

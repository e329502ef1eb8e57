"""One compiled train step: ``n_critic`` critic updates, then one generator update.

``make_train_step(config, generator, critic, g_tx, d_tx)`` returns a pure function
``train_step(state, reals) -> (state, metrics)`` where ``reals`` holds one real batch per critic update,
shape [n_critic, B, ...]. It is meant to be jitted once with the state donated (:func:`jit_train_step`).

The step is flat: :func:`make_spec` reads the config ONCE into a frozen :class:`StepSpec` (modules,
optimizers, weights, loop form, stage, precision, device layout), and the module-level functions
:func:`step_keys`, :func:`critic_update`, :func:`generator_update` and :func:`train_step` take that spec
as their first argument.

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
``fold_in(key, n_critic)``. No key is used for two draws. Every draw is made for the GLOBAL batch, so a
sample's latent and epsilon depend on (seed, step, update, example index), never on the device count.

Data parallelism (one code path, two hooks: :func:`per_example` and :func:`mean_over_devices`):

* ``jax.jit`` over a mesh with a ``'batch'`` axis (:mod:`jaxgan.parallel`, which traces the step under
  ``jax.set_mesh``): every per-example tensor (latents, fakes, interpolation weights and points) is
  constrained to the batch sharding, so each device runs the generator and the critic on its own
  rows only. Random draws stay those of the global batch: with ``jax_threefry_partitionable`` (on by
  default in the pinned jax) XLA partitions the generation itself, each device computing its rows'
  bits. The gradient and metric reductions (and the generator's batch-norm statistics, those of the
  global batch) are the only collectives.
* ``jax.pmap`` (``axis_name``): each device draws the global batch and takes its rows; gradients and
  metrics are averaged with ``lax.pmean``.

The real and fake batches go through the critic as ONE batch (one forward and one backward pass
instead of two; exact for critics without cross-sample operations), interleaved row by row so that
each device keeps its own rows. A critic that declares ``couples_batch`` (PGGAN's minibatch standard
deviation) gets two separate passes.

Precision (``config.compute_dtype``): with 'bfloat16' the networks run on bfloat16 copies of their
parameters and inputs (activations, matmuls, convolutions); parameters, gradients, optimizer states,
batch-norm and spectral-norm statistics, EMA, losses and the penalty's norms stay float32 (the network
outputs are cast back to float32 before any loss).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import optax

from jaxgan import losses, ops
from jaxgan.state import GANState

_FAMILIES = {
    "gan": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
    "nsgan": (losses.minimax_discriminator_loss, losses.non_saturating_generator_loss),
    "wgan": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss),
    "wgan_gp": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss),
    "hinge": (losses.hinge_discriminator_loss, losses.hinge_generator_loss),
}

BATCH_AXIS = "batch"  # the mesh axis the batch is split over (jaxgan.parallel.AXIS)
COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def resolve_critic_loop(config) -> str:
  """'scan' or 'unroll' for the n_critic loop.

  'auto' is ``lax.scan`` (the critic update compiled once: faster compiles, half the temporary
  memory) except for convolutional models on CPU with ``conv_impl='xla'``: XLA's CPU backend keeps
  convolutions inside a rolled while loop in slow non-canonical layouts (~8x slower for a DCGAN
  critic; jax#12868), so there the loop is unrolled. Measured on 2 CPU cores, scan/unroll step time
  in one run (benchmarks/step_throughput.py --loops scan unroll): MLP 3x512 B256, six losses,
  0.84-1.02x (compile 0.6x); DCGAN-32 B64 with im2col convolutions, WGAN-GP, 0.92-1.00x (compile
  0.5-0.8x, temporary memory 0.47x).
  """
  if config.critic_loop != "auto":
    return config.critic_loop
  from jaxgan.models import layers  # pylint: disable=import-outside-toplevel
  xla_convs_on_cpu = (jax.default_backend() == "cpu"
                      and config.model not in ("mlp", "pacgan_mlp")  # no convolutions
                      and layers.resolve_conv_impl(config.get("conv_impl", "auto")) == "xla")
  return "unroll" if xla_convs_on_cpu else "scan"


@dataclasses.dataclass(frozen=True)
class StepSpec:
  """Everything the step needs, read once from the config (hashable: a static argument).

  Attributes:
    generator, critic: the Flax modules. Critics declare ``couples_batch`` (True when a sample's
      score depends on the other samples of its batch); staged critics (``stage`` set) declare
      ``real_inputs(x, stage, alpha)``, the reals as the critic sees them at that stage and fade.
    g_tx, d_tx: the optimizers.
    critic_loss_fn, generator_loss_fn: the loss family's two losses.
    n_critic, latent_dim: critic updates per step; latent size.
    gp_scale: multiplier of the penalty, ``gp_weight / gp_target**2`` (0: no penalty). With a target
      gamma != 1 this is PGGAN's lambda * E[(|g| - gamma)^2] / gamma^2 (WGAN-GP's at gamma = 1).
    gp_target, gp_one_sided: the penalty's target slope and form.
    drift_weight, clip_value, ema_decay: PGGAN's drift, WGAN's clipping, the generator EMA (0: off).
    loop: 'scan' or 'unroll' (:func:`resolve_critic_loop`).
    stage: the progressive stage both networks run at (None: not progressive).
    axis_name, num_shards: the ``pmap`` axis and device count (None / 1 under ``jit``).
    compute_dtype: dtype of activations, matmuls and convolutions.
  """
  generator: Any
  critic: Any
  g_tx: Any
  d_tx: Any
  critic_loss_fn: Callable
  generator_loss_fn: Callable
  n_critic: int
  latent_dim: int
  gp_scale: float
  gp_target: float
  gp_one_sided: bool
  drift_weight: float
  clip_value: float
  ema_decay: float
  loop: str
  stage: int | None = None
  axis_name: str | None = None
  num_shards: int = 1
  compute_dtype: Any = jnp.float32

  @property
  def has_penalty(self) -> bool:
    return self.gp_scale > 0

  @property
  def separate_passes(self) -> bool:
    """Reals and fakes through the critic separately (a critic that couples the batch)."""
    return bool(getattr(self.critic, "couples_batch", False))


def make_spec(config, generator, critic, g_tx: optax.GradientTransformation,
              d_tx: optax.GradientTransformation, *, axis_name: str | None = None,
              num_shards: int = 1, stage: int | None = None) -> StepSpec:
  """The :class:`StepSpec` of ``config`` (the only place the step reads the config)."""
  critic_loss_fn, generator_loss_fn = _FAMILIES[config.loss]
  return StepSpec(
      generator=generator, critic=critic, g_tx=g_tx, d_tx=d_tx,
      critic_loss_fn=critic_loss_fn, generator_loss_fn=generator_loss_fn,
      n_critic=int(config.n_critic), latent_dim=int(config.latent_dim),
      gp_scale=float(config.gp_weight) / float(config.gp_target) ** 2,
      gp_target=float(config.gp_target), gp_one_sided=bool(config.gp_one_sided),
      drift_weight=float(config.drift_weight), clip_value=float(config.clip_value),
      ema_decay=float(config.ema_decay), loop=resolve_critic_loop(config), stage=stage,
      axis_name=axis_name, num_shards=num_shards,
      compute_dtype=COMPUTE_DTYPES[config.get("compute_dtype", "float32")])


# ----------------------------------------------------------------------------------------------------
# Devices: the two hooks of data parallelism
# ----------------------------------------------------------------------------------------------------
def shard_batch(x: jax.Array, axis: str = BATCH_AXIS) -> jax.Array:
  """``x`` constrained to be split along its first axis over the ambient mesh's ``axis``.

  A no-op outside a mesh context (one device, plain ``jax.jit``), when the mesh has no such axis, and
  inside ``shard_map`` (where arrays are per device already).
  """
  if not _mesh_has(axis):
    return x
  return jax.lax.with_sharding_constraint(x, P(axis))


def _mesh_has(axis: str) -> bool:
  """Whether the ambient mesh splits over ``axis`` (more than one device; not inside ``shard_map``)."""
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty or axis not in mesh.axis_names or mesh.shape[axis] == 1:
    return False
  return mesh.axis_types[mesh.axis_names.index(axis)] == jax.sharding.AxisType.Auto


def per_example(spec: StepSpec, x: jax.Array) -> jax.Array:
  """A per-example tensor drawn or computed for the GLOBAL batch, placed where its rows are used:
  this device's rows under ``pmap``; under ``jit``, constrained to the batch sharding."""
  if spec.axis_name is None:
    return shard_batch(x)
  local = x.shape[0] // spec.num_shards
  return jax.lax.dynamic_slice_in_dim(x, jax.lax.axis_index(spec.axis_name) * local, local, axis=0)


def mean_over_devices(spec: StepSpec, tree):
  """Per-device means averaged over devices (``pmap``); under ``jit`` the means are global already.
  Per-device means of equal-sized shards averaged over devices equal the global means."""
  return tree if spec.axis_name is None else jax.lax.pmean(tree, spec.axis_name)


def on_each_device(spec: StepSpec, fn: Callable, replicated: tuple, rows: tuple):
  """``fn(*replicated, *rows) -> (means, same)`` run on each device's rows, ``means`` (batch means
  and their gradients) averaged over devices, ``same`` (equal on every device) kept.

  Under ``pmap``, ``fn`` runs as it is followed by ``lax.pmean``. Under ``jit`` inside a mesh, in
  ``jax.shard_map`` over the batch axis: each gradient is then summed over devices ONCE. (Left to the
  SPMD partitioner, a weight used along two paths, the loss and the penalty's double backward, gets
  one partial-sum all-reduce per path: 1.8x the collective bytes of the MLP WGAN-GP step.) Without a
  mesh, ``fn`` as it is.

  A critic that couples the samples of a batch in groups (PGGAN's minibatch stddev: sample i with
  the samples ``i mod B/G``, :meth:`batch_group_size`) must see the groups of the GLOBAL batch: the
  rows are permuted (an all-to-all) so that each device holds whole groups, laid out as the critic
  lays out a batch of its own; the batch means do not depend on the order. When the groups do not
  split evenly over the devices, ``fn`` runs as it is and XLA partitions it.
  """
  if spec.axis_name is not None:
    means, same = fn(*replicated, *rows)
    return jax.lax.pmean(means, spec.axis_name), same
  if not _mesh_has(BATCH_AXIS):
    return fn(*replicated, *rows)
  n = jax.sharding.get_abstract_mesh().shape[BATCH_AXIS]
  batch = rows[0].shape[0]
  if spec.separate_passes:
    g = spec.critic.batch_group_size(batch)
    if (batch // g) % n:
      return fn(*replicated, *rows)
    rows = tuple(shard_batch(_groups_to_devices(x, g, n)) for x in rows)

  def local(*args):
    means, same = fn(*args)
    return jax.lax.pmean(means, BATCH_AXIS), same

  in_specs = (P(),) * len(replicated) + (P(BATCH_AXIS),) * len(rows)
  return jax.shard_map(local, in_specs=in_specs, out_specs=(P(), P()), check_vma=False)(
      *replicated, *rows)


def _groups_to_devices(x: jax.Array, g: int, n: int) -> jax.Array:
  """Rows i = k * M + m (group m = i mod M, M = B / g) reordered so that device d's contiguous rows
  hold the groups m in [d M/n, (d+1) M/n) as a batch of its own would: local row k * M/n + m'."""
  m_local = x.shape[0] // g // n
  y = x.reshape(g, n, m_local, *x.shape[1:])
  return jnp.swapaxes(y, 0, 1).reshape(x.shape)


# ----------------------------------------------------------------------------------------------------
# Applying the networks
# ----------------------------------------------------------------------------------------------------
def _cast(tree, dtype):
  return jax.tree.map(
      lambda x: x.astype(dtype) if jnp.issubdtype(jnp.result_type(x), jnp.floating) else x, tree)


def _apply(spec: StepSpec, module, params, collections, x, *, mutable: bool, alpha=None, **kwargs):
  """``module.apply`` in ``spec.compute_dtype``, returning (float32 out, new_collections).

  Parameters and the input are cast to the compute dtype (the gradient flows back through the cast
  to the float32 parameters); the other collections (batch-norm and spectral-norm statistics) are not,
  and stay float32. Collections pass through unchanged when not ``mutable``.
  """
  if spec.stage is not None:
    kwargs.update(stage=spec.stage, alpha=alpha)
  if spec.compute_dtype != jnp.float32:
    params, x = _cast(params, spec.compute_dtype), _cast(x, spec.compute_dtype)
  variables = {"params": params, **collections}
  if mutable and collections:
    out, new = module.apply(variables, x, mutable=list(collections), **kwargs)
    new = dict(new)
  else:
    out, new = module.apply(variables, x, **kwargs), collections
  return out.astype(jnp.float32), new


def latents(key: jax.Array, batch_size: int, latent_dim: int) -> jax.Array:
  """Standard normal generator inputs, [batch_size, latent_dim]."""
  return jax.random.normal(key, (batch_size, latent_dim), jnp.float32)


def _global_latents(spec: StepSpec, key: jax.Array, local_batch: int) -> jax.Array:
  return per_example(spec, latents(key, local_batch * spec.num_shards, spec.latent_dim))


def _fakes(spec: StepSpec, state: GANState, key: jax.Array, local_batch: int, alpha) -> jax.Array:
  """Generator samples for a critic update: training mode (batch statistics of the global batch);
  the running averages are updated by the generator update only."""
  z = _global_latents(spec, key, local_batch)
  fake, _ = _apply(spec, spec.generator, state.g_params, state.g_state, z, train=True, mutable=True,
                   alpha=alpha)
  return per_example_rows(spec, jax.lax.stop_gradient(fake))


def _critic_scores_both(spec: StepSpec, d_params, d_state, real, fake, alpha):
  """(real_scores, fake_scores, new d_state): one pass over reals and fakes interleaved row by row
  ([r0, f0, r1, f1, ...]: each device's rows stay on it), or two passes for a batch-coupling critic."""
  if spec.separate_passes:  # the critic mixes samples (minibatch stddev): never mix reals and fakes
    real_scores, d_state = _apply(spec, spec.critic, d_params, d_state, real, update_stats=True,
                                  mutable=True, alpha=alpha)
    fake_scores, d_state = _apply(spec, spec.critic, d_params, d_state, fake, update_stats=True,
                                  mutable=True, alpha=alpha)
    return real_scores, fake_scores, d_state
  both = jnp.stack([real, fake], axis=1).reshape(2 * real.shape[0], *real.shape[1:])
  scores, d_state = _apply(spec, spec.critic, d_params, d_state, per_example_rows(spec, both),
                           update_stats=True, mutable=True, alpha=alpha)
  scores = scores.reshape(real.shape[0], 2)
  return scores[:, 0], scores[:, 1], d_state


def per_example_rows(spec: StepSpec, x: jax.Array) -> jax.Array:
  """Like :func:`per_example` for a tensor already holding this device's rows: only the ``jit``
  sharding constraint (nothing to slice under ``pmap``)."""
  return x if spec.axis_name is not None else shard_batch(x)


# ----------------------------------------------------------------------------------------------------
# The updates
# ----------------------------------------------------------------------------------------------------
def step_keys(spec: StepSpec, state: GANState) -> tuple[jax.Array, jax.Array]:
  """(critic_keys [n_critic], generator_key) of the step ``state.step``."""
  key = jax.random.fold_in(state.key, state.step)
  critic_keys = jax.vmap(lambda k: jax.random.fold_in(key, k))(jnp.arange(spec.n_critic))
  return critic_keys, jax.random.fold_in(key, spec.n_critic)


def critic_update(spec: StepSpec, state: GANState, real: jax.Array, key: jax.Array, alpha=None,
                  measure_slope: bool = True) -> tuple[GANState, dict]:
  """One critic update on ``real`` [B, ...] (this device's rows under ``pmap``).

  Without a gradient penalty, the input-gradient norm at x_hat (a metric only) costs an extra backward
  pass: ``measure_slope=False`` skips it (both loop forms measure the last of their n_critic updates
  only).
  """
  z_key, eps_key = jax.random.split(key)
  if spec.stage is not None:
    real = spec.critic.real_inputs(real, spec.stage, alpha)
  real = per_example_rows(spec, real)
  batch = real.shape[0]
  fake = _fakes(spec, state, z_key, batch, alpha)
  eps = per_example(spec, losses.interpolation_weights(eps_key, batch * spec.num_shards, real.ndim,
                                                       real.dtype))
  # x_hat = losses.interpolate(real, fake, eps_key), its weights placed like the rows.
  x_hat = per_example_rows(spec, eps * real + (1.0 - eps) * fake)

  def loss_fn(d_params, d_state, alpha, real, fake, x_hat):
    real_scores, fake_scores, d_state = _critic_scores_both(spec, d_params, d_state, real, fake,
                                                            alpha)
    loss = spec.critic_loss_fn(real_scores, fake_scores)
    total = loss
    critic_fn = lambda x: _apply(spec, spec.critic, d_params, d_state, x, update_stats=False,
                                 mutable=False, alpha=alpha)[0]
    if spec.has_penalty:
      norms = losses.input_gradient_norms(critic_fn, x_hat)
      penalty = losses.penalty_from_norms(norms, target=spec.gp_target, one_sided=spec.gp_one_sided)
      total = total + spec.gp_scale * penalty
    else:
      norms = (jax.lax.stop_gradient(losses.input_gradient_norms(critic_fn, x_hat))
               if measure_slope else jnp.zeros((1,), jnp.float32))
      penalty = jnp.zeros((), jnp.float32)
    if spec.drift_weight > 0:
      total = total + spec.drift_weight * losses.drift_penalty(real_scores)
    metrics = {
        "critic_loss": loss,
        "penalty": penalty,
        "w_estimate": jnp.mean(real_scores) - jnp.mean(fake_scores),
        "grad_norm": jnp.mean(norms),
    }
    return total, (d_state, metrics)

  def local(d_params, d_state, alpha, real, fake, x_hat):
    (total, (d_state, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        d_params, d_state, alpha, real, fake, x_hat)
    return (grads, metrics, total), d_state

  (grads, metrics, total), d_state = on_each_device(
      spec, local, (state.d_params, state.d_state, alpha), (real, fake, x_hat))
  updates, d_opt_state = spec.d_tx.update(grads, state.d_opt_state, state.d_params)
  d_params = optax.apply_updates(state.d_params, updates)
  if spec.clip_value > 0:
    d_params = losses.clip_weights(d_params, spec.clip_value)  # after the update (WGAN Algorithm 1)
  metrics["critic_total"] = total
  return state.replace(d_params=d_params, d_state=d_state, d_opt_state=d_opt_state), metrics


def generator_update(spec: StepSpec, state: GANState, key: jax.Array, batch_size: int,
                     alpha=None) -> tuple[GANState, dict]:
  """One generator update on ``batch_size`` latents (per device under ``pmap``)."""
  z = _global_latents(spec, key, batch_size)

  def loss_fn(g_params):
    fake, g_state = _apply(spec, spec.generator, g_params, state.g_state, z, train=True,
                           mutable=True, alpha=alpha)
    scores, _ = _apply(spec, spec.critic, state.d_params, state.d_state, per_example_rows(spec, fake),
                       update_stats=False, mutable=False, alpha=alpha)
    return spec.generator_loss_fn(scores), g_state

  (loss, g_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
  grads, loss = mean_over_devices(spec, (grads, loss))
  updates, g_opt_state = spec.g_tx.update(grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  g_ema = state.g_ema
  if spec.ema_decay > 0:
    g_ema = optax.incremental_update(g_params, state.g_ema, 1.0 - spec.ema_decay)
  state = state.replace(g_params=g_params, g_state=g_state, g_opt_state=g_opt_state, g_ema=g_ema)
  return state, {"g_loss": loss, "g_grad_norm": optax.tree.norm(grads)}


def train_step(spec: StepSpec, state: GANState, reals: jax.Array, alpha=None):
  """``n_critic`` critic updates on ``reals`` [n_critic, B, ...], then one generator update."""
  n_critic = spec.n_critic
  if reals.shape[0] != n_critic:
    raise ValueError(f"reals must have shape [n_critic={n_critic}, B, ...]; got {reals.shape}")
  critic_keys, g_key = step_keys(spec, state)
  update = functools.partial(critic_update, spec)
  if spec.loop == "scan" and spec.has_penalty:  # the penalty measures the slope every update
    state, per_update = jax.lax.scan(lambda s, xs: update(s, *xs, alpha), state,
                                     (reals, critic_keys))
    critic_metrics = jax.tree.map(lambda m: m[-1], per_update)
  elif spec.loop == "scan":
    # n_critic - 1 updates rolled, without the slope measurement (a metric only, an extra backward
    # pass without a penalty); the last written out and measured, as in the unrolled loop.
    if n_critic > 1:
      state, _ = jax.lax.scan(lambda s, xs: update(s, *xs, alpha, measure_slope=False), state,
                              (reals[:-1], critic_keys[:-1]))
    state, critic_metrics = update(state, reals[-1], critic_keys[-1], alpha)
  else:
    for k in range(n_critic):
      state, critic_metrics = update(state, reals[k], critic_keys[k], alpha,
                                     measure_slope=k == n_critic - 1)
  state, g_metrics = generator_update(spec, state, g_key, reals.shape[1], alpha)
  state = state.replace(step=state.step + 1)
  metrics = {**critic_metrics, **g_metrics}
  return state, {k: v.astype(jnp.float32) for k, v in metrics.items()}


def make_train_step(config, generator, critic, g_tx: optax.GradientTransformation,
                    d_tx: optax.GradientTransformation, *, axis_name: str | None = None,
                    num_shards: int = 1, stage: int | None = None) -> Callable[..., Any]:
  """The pure train step ``(state, reals [n_critic, B, ...], alpha=None) -> (state, metrics)``.

  ``axis_name`` and ``num_shards``: the ``pmap`` path (``B`` is then the per-device batch). Under
  ``jax.jit`` no argument is needed: the step is written for the global batch, and traced inside a
  mesh context (``jax.set_mesh``, as :meth:`jaxgan.parallel.DataParallel.compile_step` does) its
  per-example tensors are split over the mesh's ``'batch'`` axis. ``stage``: progressive growing
  (both networks at that stage; ``alpha``, the fade-in, is a traced scalar: new values never
  recompile).
  """
  spec = make_spec(config, generator, critic, g_tx, d_tx, axis_name=axis_name,
                   num_shards=num_shards, stage=stage)
  return functools.partial(train_step, spec)


class Updates(NamedTuple):
  """The pieces of a step bound to one spec (to test the step against them)."""
  critic_update: Callable[..., tuple[GANState, dict]]
  generator_update: Callable[..., tuple[GANState, dict]]
  step_keys: Callable[[GANState], tuple[jax.Array, jax.Array]]


def make_updates(config, generator, critic, g_tx, d_tx, *, axis_name: str | None = None,
                 num_shards: int = 1, stage: int | None = None) -> Updates:
  """:func:`critic_update`, :func:`generator_update` and :func:`step_keys` bound to
  ``make_spec(config, ...)``."""
  spec = make_spec(config, generator, critic, g_tx, d_tx, axis_name=axis_name,
                   num_shards=num_shards, stage=stage)
  return Updates(functools.partial(critic_update, spec), functools.partial(generator_update, spec),
                 functools.partial(step_keys, spec))


def jit_train_step(train_step_fn):
  """``jax.jit`` with the state donated: its buffers are reused for the new state; compiled with
  :func:`jaxgan.ops.compiler_options`."""
  return jax.jit(train_step_fn, donate_argnums=(0,), compiler_options=ops.compiler_options())


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

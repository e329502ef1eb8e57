"""The train state and the optimizers a config names.

:class:`GANState` is an immutable pytree of arrays only (so orbax saves it as it is): both networks'
parameters and non-parameter collections (the generator's ``batch_stats``, the critic's ``spectral``
power-iteration vectors), both optimizer states, the generator's EMA parameters, the step and the root
PRNG key. It is updated with ``.replace``.
"""

from __future__ import annotations

import functools

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class GANState:
  """Everything a run needs to continue exactly.

  Attributes:
    step: number of generator updates done (int32 scalar).
    key: the root PRNG key (raw uint32[2]); each step folds its step number in.
    g_params: generator parameters.
    g_state: the generator's other collections (``batch_stats`` when it uses batch norm), or {}.
    d_params: critic parameters.
    d_state: the critic's other collections (``spectral`` with spectral normalization), or {}.
    g_opt_state: the generator optimizer's state.
    d_opt_state: the critic optimizer's state.
    g_ema: exponential moving average of ``g_params`` (``ema_decay`` > 0), else {}.
  """
  step: jax.Array
  key: jax.Array
  g_params: Any
  g_state: Any
  d_params: Any
  d_state: Any
  g_opt_state: Any
  d_opt_state: Any
  g_ema: Any


def _learning_rate(config, lr: float, updates_per_step: int):
  if config.lr_schedule == "linear":
    # Linear decay to 0 over the run (SNGAN and the WGAN-GP CIFAR runs); counted in optimizer updates.
    return optax.linear_schedule(lr, 0.0, config.num_steps * updates_per_step)
  return lr


def make_optimizers(config) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
  """(generator, critic) optimizers.

  ``adam``: Adam(lr, b1, b2, eps 1e-8). ``rmsprop``: RMSProp as PyTorch defines it (the WGAN authors'
  code): squared-gradient average with decay 0.99, update g / (sqrt(v) + 1e-8).
  """

  def make(lr):
    if config.optimizer == "adam":
      return optax.adam(lr, b1=config.b1, b2=config.b2, eps=1e-8)
    return optax.rmsprop(lr, decay=0.99, eps=1e-8, eps_in_sqrt=False)

  return (make(_learning_rate(config, config.g_lr, 1)),
          make(_learning_rate(config, config.d_lr, config.n_critic)))


def _split_variables(variables) -> tuple[Any, Any]:
  variables = flax.core.unfreeze(variables)
  params = variables.pop("params")
  return params, variables


def init_state(config, generator: nn.Module, critic: nn.Module, g_tx: optax.GradientTransformation,
               d_tx: optax.GradientTransformation, sample_shape: tuple[int, ...]) -> GANState:
  """A fresh state from ``config.seed``: parameters, optimizer states, EMA copy, step 0."""
  return _run_once(functools.partial(_fresh_state, config, generator, critic, g_tx, d_tx,
                                     tuple(sample_shape)))


def init_variables(module: nn.Module, key: jax.Array, *args, **kwargs):
  """``module.init(key, *args, **kwargs)`` as one program compiled once (see ``_run_once``)."""
  return _run_once(functools.partial(module.init, **kwargs), key, *args)


def _run_once(fn, *args):
  """``fn(*args)`` as one jitted program, compiled without XLA's optimizations on CPU.

  For initialization: module init op by op dispatches (and compiles) hundreds of small ops -- 25 s
  for SNGAN's tiny CNN with spectral norm on 2 cores, against 9 s for one optimized compile (the
  unrolled threefry of every initializer) and 2 s unoptimized. It runs once; its values differ
  from eager init in float32 rounding only.
  """
  if isinstance(jnp.zeros(()), jax.core.Tracer):  # inside a trace (jax.eval_shape): no compile
    return fn(*args)
  options = {"xla_backend_optimization_level": 0} if jax.default_backend() == "cpu" else None
  return jax.jit(fn, compiler_options=options)(*args)


def _fresh_state(config, generator, critic, g_tx, d_tx, sample_shape) -> GANState:
  root = jax.random.PRNGKey(config.seed)
  init_key, g_key, d_key = jax.random.split(root, 3)
  g_params, g_state = _split_variables(
      generator.init(g_key, jnp.zeros((1, config.latent_dim), jnp.float32), train=False))
  d_params, d_state = _split_variables(
      critic.init(d_key, jnp.zeros((1, *sample_shape), jnp.float32), update_stats=False))
  g_ema = jax.tree.map(jnp.copy, g_params) if config.ema_decay > 0 else {}
  return GANState(
      step=jnp.zeros((), jnp.int32), key=init_key,
      g_params=g_params, g_state=g_state, d_params=d_params, d_state=d_state,
      g_opt_state=g_tx.init(g_params), d_opt_state=d_tx.init(d_params), g_ema=g_ema)


def num_parameters(tree) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(tree))

"""Helpers shared by the experiments: command line, outputs, exact W1, small critics, training runs.

Figures are drawn on ``matplotlib.figure.Figure`` and written by the Agg renderer (as
:mod:`jaxgan.plots` does); pyplot is never imported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from typing import Any, Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import scipy.stats
from matplotlib.figure import Figure

from jaxgan import train as train_lib
from jaxgan import writers
from jaxgan.metrics import w1 as w1_lib

LOG2 = math.log(2.0)


# ----------------------------------------------------------------------------------------------------
# Command line and outputs
# ----------------------------------------------------------------------------------------------------
def parser(name: str, description: str) -> argparse.ArgumentParser:
  """The arguments every experiment takes: ``--workdir`` and ``--quick``."""
  p = argparse.ArgumentParser(prog=f"python -m jaxgan.experiments.{name}", description=description)
  p.add_argument("--workdir", default=os.path.join("runs", "experiments", name),
                 help="where the PNG, the JSON and any training runs go (default: %(default)s)")
  p.add_argument("--quick", action="store_true",
                 help="the same code path with smaller sizes (seconds instead of minutes)")
  return p


def prepare_workdir(workdir: str) -> str:
  workdir = os.path.abspath(workdir)
  os.makedirs(workdir, exist_ok=True)
  return workdir


def write_json(path: str, obj: dict[str, Any]) -> str:
  """``obj`` as JSON (``jaxgan.writers.jsonable``: numpy/jax values plain, inf/nan as strings)."""
  return writers.write_json(path, obj)


def figure(width: float, height: float) -> Figure:
  """A figure drawn by Agg (no pyplot, no display)."""
  return Figure(figsize=(width, height), dpi=90)


def save_figure(fig: Figure, path: str) -> str:
  fig.savefig(path, format="png", dpi=fig.dpi)
  return shrink_png(path)


def shrink_png(path: str) -> str:
  """Rewrites the PNG ``path`` with a 256-colour palette (a few times smaller; plots lose nothing
  visible), so figures fit in a repository's docs."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  with Image.open(path) as im:
    small = im.convert("RGB").quantize(colors=256)
  small.save(path, format="PNG", optimize=True)
  return path


# ----------------------------------------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------------------------------------
def exact_w1(x: np.ndarray, y: np.ndarray) -> float:
  """Exact W1 between two equal-size point sets: an optimal assignment
  (``scipy.optimize.linear_sum_assignment``; :func:`jaxgan.metrics.w1.exact_w1`)."""
  return w1_lib.exact_w1(np.asarray(x).reshape(len(x), -1), np.asarray(y).reshape(len(y), -1),
                         backend="assignment")


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
  """Spearman's rank correlation of two sequences (nan when either is constant)."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
    return float("nan")
  return float(scipy.stats.spearmanr(a, b).statistic)


def fit(loss_fn: Callable[[Any, jax.Array, jax.Array], jax.Array], params: Any,
        batches: jax.Array, tx: optax.GradientTransformation, key: jax.Array, *,
        project: Callable[[Any], Any] | None = None) -> tuple[Any, jax.Array]:
  """Minimises ``loss_fn(params, batch, key)`` over the leading axis of ``batches`` by ``lax.scan``.

  Args:
    loss_fn: the loss of one update; ``batch`` is ``batches[t]`` (any pytree of arrays).
    params: initial parameters.
    batches: a pytree whose leaves have a leading axis of length ``num_steps``.
    tx: the optimizer.
    key: folded with the step number for each update.
    project: applied to the parameters after every update (weight clipping), or None.

  Returns:
    ``(params, losses [num_steps])``. Pure: jit it, vmap it.
  """
  opt_state = tx.init(params)

  def one(carry, inputs):
    params, opt_state = carry
    t, batch = inputs
    loss, grads = jax.value_and_grad(loss_fn)(params, batch, jax.random.fold_in(key, t))
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    if project is not None:
      params = project(params)
    return (params, opt_state), loss

  num_steps = jax.tree.leaves(batches)[0].shape[0]
  (params, _), losses = jax.lax.scan(one, (params, opt_state),
                                     (jnp.arange(num_steps), batches))
  return params, losses


# ----------------------------------------------------------------------------------------------------
# Training runs through jaxgan.train
# ----------------------------------------------------------------------------------------------------
def read_metrics(workdir: str) -> list[dict[str, Any]]:
  path = os.path.join(workdir, "metrics.jsonl")
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def train(config: ml_collections.ConfigDict, workdir: str, *, fresh: bool = True
          ) -> tuple[list[dict[str, Any]], float]:
  """``jaxgan.train.train_and_evaluate(config, workdir)``; returns (metrics records, seconds).

  With ``fresh`` an existing run in ``workdir`` (a folder the experiment owns) is deleted first, so
  an experiment always measures a run of its own config rather than resuming an older one.
  """
  if fresh and os.path.exists(os.path.join(workdir, "config.json")):
    shutil.rmtree(workdir)
  t0 = time.time()
  train_lib.train_and_evaluate(config, workdir)
  return read_metrics(workdir), time.time() - t0


def checkpoint_samples(config: ml_collections.ConfigDict, workdir: str, steps: Iterable[int],
                       num: int, seed: int, *, with_run: bool = False):
  """For each checkpointed step: ``(state, num generator samples)`` restored from ``workdir``
  (``jaxgan.train.Run.restore`` and ``Run.samples``; the EMA generator where the config keeps one).
  Steps without a checkpoint are skipped. With ``with_run`` returns ``(run, that dict)``: the
  ``jaxgan.train.Run`` has the networks (``run.critic``, ``run.generator``) and the dataset."""
  run = train_lib.Run(config, workdir, create=False)
  kept = set(run.checkpoint_steps())
  out = {}
  for step in steps:
    if step in kept:
      state = run.restore(step)
      out[step] = (state, run.samples(state, num, seed))
  return (run, out) if with_run else out


def eval_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
  return [r for r in records if r.get("kind") == "eval"]


def train_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
  return [r for r in records if r.get("kind") == "train"]

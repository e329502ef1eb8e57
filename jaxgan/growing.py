"""The progressive-growing schedule of PGGAN (Karras et al. 2018), counted in images shown.

Training starts at 4x4 (stage 0). Each later stage s (resolution 4 * 2^s) begins with a FADE phase of
``images_per_fade`` real images during which the new layers are blended in with alpha rising linearly
from 0 to 1, then a STABLE phase of ``images_per_stable`` images at alpha = 1. Stage 0 has only a
stable phase; the last stage's stable phase lasts until ``num_steps``. Each stage may have its own
batch size (``batch_by_resolution``, e.g. ``"4:64,8:64,16:32"``; empty: ``batch_size`` everywhere).

A phase of I images at batch B lasts ceil(I / B) generator updates (each update shows B images to the
generator; the critic sees n_critic * B real images). The schedule is a pure function of the config,
so the stage and alpha of any step — and so of any checkpoint — are known exactly: a run resumed in
the middle of a fade continues that fade.

Optimizer state: the official code (``train.py``, ``reset_opt_for_new_lod=True``) resets both Adam
states whenever the level of detail crosses an integer, i.e. at the start of every fade and of every
stable phase after stage 0; :meth:`Schedule.resets_optimizer` says when, and the trainer does it
(printed, never silent). The parameters themselves are one tree for all stages.
"""

from __future__ import annotations

import dataclasses
import math

from jaxgan import ops
from jaxgan.config import ConfigError


@dataclasses.dataclass(frozen=True)
class Phase:
  stage: int
  fade: bool
  start: int          # first step of the phase
  num_steps: int      # length in generator updates (the last phase: until num_steps)
  batch_size: int


def parse_batch_table(text: str, resolutions: list[int], default: int) -> dict[int, int]:
  """``"4:64,8:32"`` -> {4: 64, 8: 32}; every resolution must be present (or the table empty)."""
  if not text.strip():
    return {r: default for r in resolutions}
  table = {}
  for item in text.split(","):
    try:
      res, batch = (int(v) for v in item.split(":"))
    except ValueError:
      raise ConfigError(f"batch_by_resolution: expected 'RES:BATCH,...' (e.g. '4:64,8:64'); got "
                        f"{text!r}") from None
    if batch < 1:
      raise ConfigError(f"batch_by_resolution: batch size for {res}x{res} must be >= 1; got {batch}")
    table[res] = batch
  missing = [r for r in resolutions if r not in table]
  if missing:
    raise ConfigError(f"batch_by_resolution: no batch size for resolution(s) "
                      f"{', '.join(f'{r}x{r}' for r in missing)}; give one for each of "
                      f"{', '.join(str(r) for r in resolutions)}")
  return table


class Schedule:
  """Step -> (stage, alpha, batch size) for a progressive run."""

  def __init__(self, config, target_resolution: int):
    k = ops.power_of_two_exponent(target_resolution)
    if k is None or k < 2:
      raise ConfigError(f"image size: progressive growing needs a power-of-two resolution >= 4; "
                        f"the dataset gives {target_resolution}")
    if config.images_per_fade < 1 or config.images_per_stable < 1:
      raise ConfigError(f"images_per_fade and images_per_stable must be >= 1 for model 'pggan'; got "
                        f"{config.images_per_fade} and {config.images_per_stable}")
    self.num_stages = k - 1
    self.resolutions = [4 * 2 ** s for s in range(self.num_stages)]
    self.batch = parse_batch_table(config.batch_by_resolution, self.resolutions, config.batch_size)
    phases, step = [], 0
    for s, res in enumerate(self.resolutions):
      b = self.batch[res]
      kinds = [False] if s == 0 else [True, False]
      for fade in kinds:
        images = config.images_per_fade if fade else config.images_per_stable
        n = math.ceil(images / b)
        phases.append(Phase(s, fade, step, n, b))
        step += n
    last = phases[-1]
    phases[-1] = dataclasses.replace(last, num_steps=max(last.num_steps, config.num_steps - last.start))
    self.phases = phases

  def phase(self, step: int) -> Phase:
    for p in reversed(self.phases):
      if step >= p.start:
        return p
    return self.phases[0]

  def at(self, step: int) -> tuple[int, float, int]:
    """(stage, alpha, batch size) of the generator update with index ``step`` (0-based)."""
    p = self.phase(step)
    alpha = (step - p.start) / p.num_steps if p.fade else 1.0
    return p.stage, float(alpha), p.batch_size

  def resets_optimizer(self, step: int) -> bool:
    """True at the first step of every phase after stage 0's (the official code's reset)."""
    return any(p.start == step and p.stage > 0 for p in self.phases)

  def describe(self) -> str:
    parts = []
    for p in self.phases:
      kind = "fade" if p.fade else "stable"
      parts.append(f"{self.resolutions[p.stage]}x{self.resolutions[p.stage]} {kind} steps "
                   f"{p.start}-{p.start + p.num_steps - 1} (batch {p.batch_size})")
    return "; ".join(parts)

"""The run's logs: ``metrics.jsonl``, TensorBoard event files, and the one JSON sanitiser.

* :func:`jsonable` turns numpy / jax scalars and arrays into JSON types (inf and nan as the strings
  'inf', '-inf', 'nan'); every JSON the project writes (metrics, experiments, benchmarks) goes
  through it.
* :class:`MetricsWriter` (process 0 only) appends one record per line to ``metrics.jsonl`` and
  writes every numeric field to TensorBoard (``tb/``, by tensorboardX, no TensorFlow needed) as a
  scalar under its kind ('train/critic_loss', 'eval/high_quality_fraction', ...) and each
  evaluation's picture as an image. On a resume from step S it first trims both back to S: records
  after S are removed from ``metrics.jsonl`` and TensorBoard is told to hide events after S
  (tensorboardX's ``purge_step``), so the steps replayed after a kill are not logged twice.
* :func:`eval_summary` is the one-line summary of an evaluation record printed by the trainer and
  ``jaxgan evaluate``; each image metric is followed by its real-vs-real baseline when the record
  holds one, e.g. ``digits FD 1.52 (real vs real 0.93, n=898)``.
"""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any

import numpy as np

METRICS_FILE = "metrics.jsonl"


def jsonable(x: Any) -> Any:
  """``x`` with numpy / jax scalars and arrays turned into JSON types (inf and nan as strings)."""
  if isinstance(x, dict):
    return {str(k): jsonable(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [jsonable(v) for v in x]
  if isinstance(x, np.ndarray) or type(x).__module__.startswith("jax"):
    return jsonable(np.asarray(x).tolist())
  if isinstance(x, (np.floating, np.integer, np.bool_)):
    x = x.item()
  if isinstance(x, float) and not math.isfinite(x):
    return str(x)
  return x


def write_json(path: str, obj: Any, *, sort_keys: bool = True) -> str:
  """Writes ``jsonable(obj)`` to ``path`` (folders created, indent 1); returns the path."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "w") as f:
    json.dump(jsonable(obj), f, indent=1, sort_keys=sort_keys)
  return path


def append_record(workdir: str, record: dict[str, Any]) -> None:
  """Appends one record to ``<workdir>/metrics.jsonl``."""
  with open(os.path.join(workdir, METRICS_FILE), "a") as f:
    f.write(json.dumps(jsonable(record)) + "\n")


def trim_metrics(path: str, step: int) -> int:
  """Removes the trainer's records (kinds 'train' and 'eval', no 'source') after ``step`` from the
  JSONL file ``path`` (rewritten atomically); returns how many were removed."""
  if not os.path.exists(path):
    return 0
  kept, dropped = [], 0
  with open(path) as f:
    for line in f:
      try:
        r = json.loads(line)
      except ValueError:  # a line cut by a kill: drop it
        dropped += 1
        continue
      if (isinstance(r, dict) and r.get("kind") in ("train", "eval") and "source" not in r
          and isinstance(r.get("step"), int) and r["step"] > step):
        dropped += 1
      else:
        kept.append(line if line.endswith("\n") else line + "\n")
  if dropped:
    from jaxgan.checkpoints import write_atomically  # pylint: disable=import-outside-toplevel
    write_atomically(path, "".join(kept))
  return dropped


class MetricsWriter:
  """``metrics.jsonl`` and TensorBoard for one run (process 0 only); see the module docstring."""

  def __init__(self, workdir: str, resume_step: int = 0):
    from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
    self.workdir = workdir
    path = os.path.join(workdir, METRICS_FILE)
    trim_metrics(path, resume_step)
    self.jsonl = open(path, "a")  # pylint: disable=consider-using-with
    tb = os.path.join(workdir, "tb")
    self.tb = SummaryWriter(tb, purge_step=resume_step + 1 if os.path.isdir(tb) else None)

  def write(self, record: dict[str, Any]) -> None:
    self.jsonl.write(json.dumps(jsonable(record)) + "\n")
    self.jsonl.flush()
    kind, step = record.get("kind", "train"), int(record["step"])
    for key, value in record.items():
      if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and key != "step":
        if math.isfinite(float(value)):
          self.tb.add_scalar(f"{kind}/{key}", float(value), step)
    if "picture" in record:
      from PIL import Image  # pylint: disable=import-outside-toplevel
      with Image.open(os.path.join(self.workdir, record["picture"])) as im:
        self.tb.add_image("samples", np.asarray(im.convert("RGB")), step, dataformats="HWC")
    _bounded(self.tb.flush, os.path.join(self.workdir, "tb"))

  def close(self) -> None:
    try:
      self.jsonl.close()
    finally:
      _bounded(self.tb.close, os.path.join(self.workdir, "tb"))


def _bounded(fn, path: str, seconds: float = 60.0) -> None:
  """Runs ``fn`` (a TensorBoard flush or close) with a time limit: tensorboardX writes on a thread
  of its own, and when a write there fails (e.g. a full disk) that thread dies and a flush would wait
  for it forever. Raises OSError when it does not return in time."""
  done = threading.Event()
  errors = []

  def target():
    try:
      fn()
    except Exception as e:  # pylint: disable=broad-except  # re-raised below
      errors.append(e)
    done.set()

  threading.Thread(target=target, daemon=True).start()
  if not done.wait(seconds):
    raise OSError(f"the TensorBoard writer of {path} stopped (a failed write?)")
  if errors:
    raise errors[0]


def eval_summary(record: dict[str, Any]) -> str:
  """One line with every metric an evaluation record holds."""
  parts = [f"step {record['step']}"]
  if "modes_captured" in record:
    parts.append(f"modes {record['modes_captured']}/{record['num_modes']}, high quality "
                 f"{100 * record['high_quality_fraction']:.1f}%, KL {record['kl_to_uniform']:.3f}")
  if "w1" in record:
    parts.append(f"exact W1 {record['w1']:.4f}")
  if "swd_mean_x1e3" in record:
    levels = " ".join(f"{r}:{v:.1f}" for r, v in zip(record.get("swd_resolutions", []),
                                                     record.get("swd_x1e3", [])))
    parts.append(f"SWD x1e3 mean {record['swd_mean_x1e3']:.2f} ({levels})" +
                 _beside(record, "swd_real_mean_x1e3", "swd_real_num", ".2f"))
  if "digits_fd" in record:
    n_real = record.get("digits_fd_real_protocol", {}).get("num_real")
    parts.append(f"digits FD {_num(record['digits_fd'])}" +
                 _beside(record, "digits_fd_real", None, ".4g", n_real))
  if "digits_covered" in record:
    parts.append(f"digits covered {record['digits_covered']}/10, largest class "
                 f"{100 * record['max_class_fraction']:.1f}%, KL {record['kl_to_uniform']:.3f}")
  for key, label in (("fid", "FID"), ("kid", "KID"), ("inception_score", "IS")):
    if key in record:
      parts.append(f"{label} {_num(record[key])}" +
                   _beside(record, key + "_real", "fid_real_num", ".4g"))
  if "stage" in record:
    parts.append(f"stage {record['stage']} ({record['resolution']}x{record['resolution']}, "
                 f"alpha {record['alpha']:.2f})")
  if "spectral_audit" in record:
    audit = record["spectral_audit"].values()
    parts.append("SN sigma(W/sigma_est) per layer " +
                 " ".join(f"{a['normalized_sigma_svd']:.3f}" for a in audit))
  parts.append(f"picture {record['picture']}")
  return "; ".join(parts)


def _beside(record: dict[str, Any], key: str, num_key: str | None, fmt: str,
            num: int | None = None) -> str:
  """`` (real vs real V, n=N)`` for the real-vs-real baseline ``record[key]``; '' without one."""
  if key not in record:
    return ""
  num = record.get(num_key) if num_key else num
  value = record[key]
  text = format(value, fmt) if isinstance(value, (int, float)) else str(value)
  return f" (real vs real {text}" + (f", n={num})" if num else ")")


def _num(v: Any) -> str:
  return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)

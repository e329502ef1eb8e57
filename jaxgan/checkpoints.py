"""Checkpoints a user can trust: orbax checkpoints of the train state, checked on the way in and out.

The guarantees (each has a test in ``tests/test_faults.py`` or ``tests/test_checkpoints.py``):

* **A state is loaded only if its check passes.** Every save records the SHA-256 of the step's files
  (relative paths and contents) in ``<workdir>/checkpoints.sha256.json``. A step whose files do not
  match is *set aside*: renamed to ``<workdir>/damaged_checkpoints/<step>.<UTC time>`` (never deleted,
  never overwritten in place), and the next older step is tried. Setting it aside matters: orbax's
  ``CheckpointManager.save`` silently returns False for a step at or below its latest step
  (google/orbax#527), so a damaged step left in place would make every later save of that step a
  no-op and the damaged state would be loaded again later. A step without a recorded digest (the run
  stopped between orbax's atomic rename and the digest write) is restored with a warning; a missing
  or unreadable checksum file is a warning naming every restore done without it.
* **A save is reported only after it is on disk and checked**: ``save`` checks orbax's return value
  and that the step's folder exists, records its digest, then returns. Saves are synchronous (orbax's
  async mode would report a failure, e.g. a read-only folder, only after its 5-minute barrier timeout,
  google/orbax#605); the trainer waits for every save anyway.
* **One trainer per workdir**: :class:`WorkdirLock`, an advisory ``flock`` on ``<workdir>/lock``
  whose contents name the holder (host, pid, start time). The kernel drops the lock when its process
  dies (kill -9 included), so a stale lock file never blocks; on a filesystem without locks (some
  FUSE mounts) a lock file of a dead process on this host is taken over. In a multi-process run
  process 0 holds it (the workdir must be on a filesystem every process sees, as orbax requires).
* **A workdir that cannot hold a run is refused at start** (:func:`check_workdir`): not creatable,
  not a directory, not writable (a probe file is written, flushed and removed, in the workdir and in
  ``checkpoints/``), too little free space for two checkpoints, or a path that is not UTF-8.

Retention: the newest ``keep_checkpoints`` steps are kept (orbax deletes older ones after each save);
set-aside damaged steps are kept until the user removes them.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sys
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxgan.config import ConfigError

CHECKSUM_FILE = "checkpoints.sha256.json"
DAMAGED_DIR = "damaged_checkpoints"
LOCK_FILE = "lock"


class CheckpointError(RuntimeError):
  """A checkpoint could not be written, or the workdir has checkpoints and none of them restores."""


class WorkdirWriteError(RuntimeError):
  """Writing the run's logs or pictures failed (e.g. the disk filled up); checkpoints are intact."""


def warn(msg: str) -> None:
  print(f"[jaxgan] warning: {msg}", file=sys.stderr, flush=True)


def tree_digest(path: str) -> str:
  """SHA-256 over the relative paths and contents of every file under ``path`` (sorted)."""
  h = hashlib.sha256()
  for root, dirs, files in os.walk(path):
    dirs.sort()
    for name in sorted(files):
      full = os.path.join(root, name)
      h.update(os.path.relpath(full, path).encode() + b"\0")
      with open(full, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
          h.update(chunk)
  return h.hexdigest()


def write_atomically(path: str, text: str) -> None:
  """Writes ``text`` to ``path`` through a flushed, fsynced temporary file and a rename."""
  tmp = f"{path}.tmp-{os.getpid()}"
  with open(tmp, "w") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def _errstr(e: OSError) -> str:
  return e.strerror or str(e)


# ----------------------------------------------------------------------------------------------------
# The workdir: start-up checks and the lock
# ----------------------------------------------------------------------------------------------------
def check_workdir(workdir: str, needed_bytes: int) -> None:
  """Creates ``workdir`` and checks that a run can write there; :class:`ConfigError` (one line) if
  not: a path that is not UTF-8, not creatable or not a directory, a workdir or ``checkpoints/``
  where a file cannot be written, or less free space than ``needed_bytes``."""
  try:
    workdir.encode("utf-8")
  except UnicodeEncodeError:
    raise ConfigError(f"workdir: {workdir!r} is not valid UTF-8 (orbax cannot write checkpoints "
                      f"there); use another --workdir") from None
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise ConfigError(f"workdir: '{workdir}' exists and is not a directory")
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise ConfigError(f"workdir: cannot create '{workdir}': {_errstr(e)}") from None
  for folder in (workdir, os.path.join(workdir, "checkpoints")):
    if not os.path.isdir(folder):
      if os.path.exists(folder):
        raise ConfigError(f"workdir: '{folder}' exists and is not a directory")
      continue
    probe = os.path.join(folder, f".jaxgan-write-probe-{os.getpid()}")
    try:
      with open(probe, "wb") as f:
        f.write(b"probe")
        f.flush()
        os.fsync(f.fileno())
      os.remove(probe)
    except OSError as e:
      raise ConfigError(f"workdir: cannot write in '{folder}': {_errstr(e)}") from None
  free = shutil.disk_usage(workdir).free
  if free < needed_bytes:
    raise ConfigError(f"workdir: {free / 2**20:.1f} MiB free in '{workdir}', a run needs "
                      f"{needed_bytes / 2**20:.1f} MiB (two checkpoints and the logs); free some "
                      f"space or use another --workdir")


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


class WorkdirLock:
  """One trainer per workdir: an exclusive ``flock`` on ``<workdir>/lock`` naming its holder.

  ``acquire`` raises :class:`ConfigError` (one line naming the holder's host and pid) when another
  live process holds it. Use as a context manager, or ``acquire`` / ``release``.
  """

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK_FILE)
    self._fd: int | None = None

  def _holder(self) -> str:
    try:
      with open(self.path) as f:
        h = json.load(f)
      return f"process {h['pid']} on host {h['host']} (since {h['since']})"
    except (OSError, ValueError, KeyError, TypeError):
      return "another process"

  def acquire(self) -> "WorkdirLock":
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      os.close(fd)
      raise ConfigError(f"workdir: '{os.path.dirname(self.path)}' is in use by {self._holder()}; "
                        f"one trainer per workdir (use another --workdir, or stop that one)") from None
    except OSError as e:
      if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
        os.close(fd)
        raise
      self._fallback_check()  # no file locks on this filesystem: trust a live pid on this host
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "since": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
    os.fsync(fd)
    self._fd = fd
    return self

  def _fallback_check(self) -> None:
    try:
      with open(self.path) as f:
        h = json.load(f)
    except (OSError, ValueError):
      return
    if not isinstance(h, dict) or h.get("pid") == os.getpid():
      return
    if h.get("host") != socket.gethostname() or _pid_alive(int(h.get("pid", 0))):
      raise ConfigError(f"workdir: '{os.path.dirname(self.path)}' is in use by {self._holder()} "
                        f"(this filesystem has no file locks: delete {self.path} if that process "
                        f"is gone)")
    warn(f"taking over the stale lock of {self._holder()}, which is no longer running")

  def release(self) -> None:
    if self._fd is not None:
      try:
        os.ftruncate(self._fd, 0)
      except OSError:
        pass
      os.close(self._fd)  # closing drops the flock
      self._fd = None

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc):
    self.release()


# ----------------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------------
def _sync(name: str) -> None:
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    multihost_utils.sync_global_devices(name)


class Checkpoints:
  """The orbax checkpoints of ``<workdir>/checkpoints`` with their SHA-256 record.

  With ``create=False`` (``sample``, ``evaluate``) nothing is created in the workdir: without a
  ``checkpoints/`` folder there are no steps.
  """

  def __init__(self, workdir: str, keep: int = 3, *, create: bool = True):
    self.workdir = os.path.abspath(workdir)
    self.directory = os.path.join(self.workdir, "checkpoints")
    self.keep = keep
    self._manager = None
    if create or os.path.isdir(self.directory):
      self._open(create)

  def _open(self, create: bool) -> None:
    options = ocp.CheckpointManagerOptions(max_to_keep=self.keep, create=create,
                                           enable_async_checkpointing=False,
                                           cleanup_tmp_directories=create)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  # --- what is there
  def all_steps(self) -> list[int]:
    return [] if self._manager is None else sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    steps = self.all_steps()
    return steps[-1] if steps else None

  def step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def damaged(self) -> list[str]:
    """The set-aside damaged steps (folder names under ``damaged_checkpoints/``)."""
    folder = os.path.join(self.workdir, DAMAGED_DIR)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

  @property
  def checksum_path(self) -> str:
    return os.path.join(self.workdir, CHECKSUM_FILE)

  def checksums(self) -> dict[str, str] | None:
    """The recorded digests by step; None when the file is missing or unreadable."""
    try:
      with open(self.checksum_path) as f:
        sums = json.load(f)
      return sums if isinstance(sums, dict) else None
    except (OSError, ValueError):
      return None

  # --- restore
  def verify(self, step: int, recorded: dict[str, str] | None) -> str | None:
    """None when ``step``'s files match their recorded digest (or no digest is recorded), else why."""
    digest = None if recorded is None else recorded.get(str(step))
    if digest is None:
      return None
    if tree_digest(self.step_dir(step)) != digest:
      return "its files do not match the SHA-256 recorded when it was saved"
    return None

  def set_aside(self, step: int, reason: str) -> str:
    """Renames a damaged step to ``damaged_checkpoints/<step>.<UTC time>`` (process 0; every process
    waits for it) and returns the new path."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    target = os.path.join(self.workdir, DAMAGED_DIR, f"{step}.{stamp}")
    if jax.process_index() == 0:
      os.makedirs(os.path.dirname(target), exist_ok=True)
      os.rename(self.step_dir(step), target)
      warn(f"checkpoint {self.step_dir(step)} is damaged ({reason}); set aside as {target}")
    _sync(f"jaxgan_set_aside_{step}")
    self._manager.reload()
    return target

  def restore(self, abstract_state: Any, step: int | None = None, *,
              set_aside: bool = True) -> Any | None:
    """The state of checkpoint ``step`` (default: the newest that passes its check and restores).

    A step whose files do not match their digest is set aside (``set_aside``; else skipped with a
    warning) and the next older one is tried. A step that matches its digest but does not restore
    into ``abstract_state`` is not damage (another state structure): :class:`CheckpointError`.

    Returns:
      The restored state; None when there is no checkpoint.

    Raises:
      CheckpointError: ``step`` is not there or is damaged; or no checkpoint restores.
    """
    steps = self.all_steps()
    if step is not None:
      if step not in steps:
        have = ", ".join(map(str, steps)) or "none"
        raise CheckpointError(f"no checkpoint of step {step} in {self.directory} (steps: {have})")
      steps = [step]
    if not steps:
      if self.damaged():
        raise CheckpointError(
            f"every checkpoint of {self.workdir} was set aside as damaged (in "
            f"{os.path.join(self.workdir, DAMAGED_DIR)}); move that folder away to start afresh")
      return None
    recorded = self.checksums()
    if recorded is None:
      warn(f"no readable {self.checksum_path}: restoring without an integrity check")
    problems = []
    for s in sorted(steps, reverse=True):
      reason = self.verify(s, recorded)
      if reason is None and recorded is not None and str(s) not in recorded:
        warn(f"checkpoint {self.step_dir(s)} has no recorded SHA-256 (the run stopped before "
             f"recording it): restoring it without an integrity check")
      if reason is not None:
        problems.append(f"step {s}: {reason}")
        if step is not None:
          raise CheckpointError(f"checkpoint {self.step_dir(s)} is damaged ({reason}); "
                                f"`jaxgan train` sets damaged steps aside")
        if set_aside:
          self.set_aside(s, reason)
        else:
          warn(f"checkpoint {self.step_dir(s)} is damaged ({reason}); trying an older one")
        continue
      try:
        return self._manager.restore(s, args=ocp.args.StandardRestore(abstract_state))
      except Exception as e:  # pylint: disable=broad-except  # reported on one line below
        what = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        if recorded is not None and str(s) in recorded:
          raise CheckpointError(
              f"checkpoint {self.step_dir(s)} matches its SHA-256 but does not restore into the "
              f"state this config builds ({what}); was it made by another config or version?"
          ) from None
        problems.append(f"step {s}: {what}")
        if step is not None:
          raise CheckpointError(f"checkpoint {self.step_dir(s)} does not restore ({what})") from None
        if set_aside:
          self.set_aside(s, what)
        else:
          warn(f"checkpoint {self.step_dir(s)} does not restore ({what}); trying an older one")
    raise CheckpointError(f"no checkpoint in {self.directory} restores ({'; '.join(problems)})")

  # --- save
  def save(self, step: int, state: Any) -> None:
    """Writes ``state`` as checkpoint ``step``, waits for it, checks that it is there and records
    its SHA-256. Raises :class:`CheckpointError` (one line) when it was not written."""
    if self._manager is None:
      self._open(create=True)
    latest = self.latest_step()
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.CRITICAL)  # orbax logs a failed write's traceback; we say it once
    try:
      saved = self._manager.save(step, args=ocp.args.StandardSave(state))
      self._manager.wait_until_finished()
    except Exception as e:  # pylint: disable=broad-except  # disk full, read-only, ...
      # The failed write's other futures would print their tracebacks when collected.
      logging.getLogger("asyncio").setLevel(logging.CRITICAL)
      raise CheckpointError(self._not_written(step, latest, e)) from None
    finally:
      absl_logger.setLevel(level)
    if not saved or not os.path.isdir(self.step_dir(step)):
      raise CheckpointError(self._not_written(
          step, latest, "orbax skipped the save" if not saved else "its folder is missing"))
    if jax.process_index() == 0:
      kept = {str(s) for s in self.all_steps()}
      sums = {k: v for k, v in (self.checksums() or {}).items() if k in kept}
      try:
        sums[str(step)] = tree_digest(self.step_dir(step))
        write_atomically(self.checksum_path, json.dumps(sums, indent=1, sort_keys=True))
      except OSError as e:
        raise CheckpointError(self._not_written(step, latest, e)) from None
    _sync(f"jaxgan_saved_{step}")

  def _not_written(self, step: int, latest: int | None, cause) -> str:
    if isinstance(cause, OSError):
      cause = _errstr(cause)
    elif isinstance(cause, Exception):
      text = str(cause).splitlines()[0] if str(cause) else ""
      code = re.search(r"os_error_code='?(\d+)", text)
      cause = os.strerror(int(code.group(1))) if code else f"{type(cause).__name__}: {text[:200]}"
    kept = "no earlier checkpoint" if latest is None else f"the checkpoint of step {latest} is kept"
    return f"the checkpoint of step {step} was not written to {self.directory} ({cause}); {kept}"

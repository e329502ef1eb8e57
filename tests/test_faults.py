"""Fault injection against the trainer and its checkpoints (issue: checkpoints and runs a user can trust).

Each test does to a run what a hostile user, a full disk or a preemption does, then asserts either
that the run finishes with exactly the state of an uninterrupted run (bit for bit: everything is a
function of the seed and the step), or the exact one-line error. Trainers run in subprocesses
(``python -m jaxgan.cli``) sharing one persistent compilation cache, so each compiles once; the
tiny default config (ring8, hidden width 32, batch 32) keeps a run to a few seconds. Read-only and
full filesystems are real mounts (a tmpfs in a user + mount namespace, ``unshare -rm``); the tests
that need one are skipped where that is not allowed.
"""

from __future__ import annotations

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgan import cli
from jaxgan import config as config_lib
from jaxgan import train as train_lib

TINY = {"hidden_dim": 32, "batch_size": 32, "eval_samples": 200, "log_every": 1, "eval_every": 0,
        "lr_schedule": "constant"}
STEPS = 12


def _args(workdir, **overrides):
  return ["train", "--workdir", str(workdir)] + [f"--config.{k}={v}" for k, v in
                                                 {**TINY, "num_steps": STEPS, "checkpoint_every": 2,
                                                  **overrides}.items()]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
  cache = tmp_path_factory.mktemp("xla_cache")
  return {**os.environ, "JAXGAN_COMPILATION_CACHE": str(cache), "JAX_PLATFORMS": "cpu",
          "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}


def _train(env, workdir, **overrides) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "jaxgan.cli"] + _args(workdir, **overrides),
                        env=env, capture_output=True, text=True, timeout=600)


def _popen(env, workdir, **overrides) -> subprocess.Popen:
  return subprocess.Popen([sys.executable, "-m", "jaxgan.cli"] + _args(workdir, **overrides),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _config(**overrides):
  c = config_lib.load_config("default")
  for k, v in {**TINY, "num_steps": STEPS, "checkpoint_every": 2, **overrides}.items():
    c[k] = v
  return config_lib.validate(c)


def _state(workdir, step=None):
  return train_lib.Run(_config(), str(workdir), create=False).restore(step)


def _assert_bit_exact(a, b):
  assert int(a.step) == int(b.step)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _one_line(err: str) -> str:
  lines = [l for l in err.strip().splitlines() if not l.startswith("[jaxgan] warning")]
  assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
  return lines[0]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
  """A 4-step run (checkpoints 2 and 4) made in this process: the default tests' workdir."""
  workdir = tmp_path_factory.mktemp("small")
  assert cli.main(_args(workdir, num_steps=4)) == 0
  return workdir


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory):
  """The uninterrupted run: STEPS steps, a checkpoint every 2."""
  workdir = tmp_path_factory.mktemp("reference")
  r = _train(env, workdir)
  assert r.returncode == 0, r.stderr[-3000:]
  return workdir


def _flip_byte(step_dir: str) -> str:
  files = [f for f in glob.glob(os.path.join(step_dir, "**", "*"), recursive=True)
           if os.path.isfile(f)]
  victim = max(files, key=os.path.getsize)
  data = bytearray(open(victim, "rb").read())
  data[len(data) // 2] ^= 0xFF
  open(victim, "wb").write(bytes(data))
  return victim


def _can_mount() -> bool:
  if shutil.which("unshare") is None:
    return False
  return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
                        capture_output=True).returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="no user + mount namespaces here")


# ----------------------------------------------------------------------------------------------------
# Damaged checkpoints (issue item 1): set aside, never trusted later
# ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_damaged_newest_checkpoint_is_set_aside_and_two_reruns_finish_bit_exact(env, reference,
                                                                              tmp_path):
  """Issue 16's repro: a byte flipped in the newest checkpoint, then the same command twice. The
  first rerun sets the step aside, resumes from the one before and saves that step afresh (orbax
  would have skipped the save over the damaged folder); the second finds a good state."""
  assert _train(env, tmp_path).returncode == 0
  _flip_byte(str(tmp_path / "checkpoints" / str(STEPS)))
  first = _train(env, tmp_path)
  assert first.returncode == 0, first.stderr[-3000:]
  assert f"checkpoints/{STEPS} is damaged" in first.stderr and "set aside" in first.stderr
  assert f"resuming from the checkpoint of step {STEPS - 2}" in first.stdout
  assert len(os.listdir(tmp_path / "damaged_checkpoints")) == 1
  second = _train(env, tmp_path)
  assert second.returncode == 0 and "damaged" not in second.stderr, second.stderr[-3000:]
  _assert_bit_exact(_state(reference), _state(tmp_path))
  # The logs hold each step once (the replayed steps were trimmed).
  steps = [r["step"] for r in map(json.loads, open(tmp_path / "metrics.jsonl"))
           if r["kind"] == "train"]
  assert steps == list(range(1, STEPS + 1))
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
  acc = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
  acc.Reload()
  assert [e.step for e in acc.Scalars("train/critic_loss")] == list(range(1, STEPS + 1))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_damage_in_newest_and_older_checkpoints(env, reference, tmp_path, damage):
  """A file truncated or deleted in the newest AND the next older checkpoint: both are set aside,
  the run resumes from the third and ends bit-exact; a second rerun changes nothing."""
  assert _train(env, tmp_path, keep_checkpoints=5).returncode == 0
  for step in (STEPS, STEPS - 2):
    files = sorted(f for f in glob.glob(str(tmp_path / "checkpoints" / str(step) / "**" / "*"),
                                        recursive=True) if os.path.isfile(f))
    victim = max(files, key=os.path.getsize)
    if damage == "truncate":
      os.truncate(victim, os.path.getsize(victim) // 2)
    else:
      os.remove(victim)
  first = _train(env, tmp_path, keep_checkpoints=5)
  assert first.returncode == 0, first.stderr[-3000:]
  assert f"resuming from the checkpoint of step {STEPS - 4}" in first.stdout
  assert len(os.listdir(tmp_path / "damaged_checkpoints")) == 2
  assert _train(env, tmp_path, keep_checkpoints=5).returncode == 0
  _assert_bit_exact(_state(reference), _state(tmp_path))


@pytest.mark.slow
def test_every_checkpoint_damaged_is_never_a_silent_fresh_start(env, tmp_path):
  assert _train(env, tmp_path, num_steps=2, checkpoint_every=100).returncode == 0
  _flip_byte(str(tmp_path / "checkpoints" / "2"))
  r = _train(env, tmp_path, num_steps=2, checkpoint_every=100)
  assert r.returncode == 1 and "no checkpoint in" in _one_line(r.stderr)
  again = _train(env, tmp_path, num_steps=2, checkpoint_every=100)
  assert again.returncode == 1
  assert "every checkpoint" in _one_line(again.stderr) and "set aside as damaged" in again.stderr


def test_a_restore_without_the_checksum_file_says_so(small_run, tmp_path, capsys):
  shutil.copytree(small_run, tmp_path / "run")
  os.remove(tmp_path / "run" / "checkpoints.sha256.json")
  assert cli.main(["sample", "--workdir", str(tmp_path / "run"), "--num", "3", "--out",
                   str(tmp_path / "s.npy")]) == 0
  assert "restoring without an integrity check" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------
# kill -9 and SIGTERM
# ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_at_random_moments_resumes_bit_exact(env, reference, tmp_path):
  """kill -9 at random moments of runs that checkpoint after every step (so many kills land in a
  checkpoint write), then reruns until the run finishes: the final state is the uninterrupted one."""
  rng = random.Random(16)
  workdir = tmp_path / "run"
  for _ in range(4):
    proc = _popen(env, workdir, checkpoint_every=1, keep_checkpoints=2)
    time.sleep(rng.uniform(2.0, 12.0))
    proc.kill()
    proc.communicate()
  r = _train(env, workdir, checkpoint_every=1, keep_checkpoints=2)
  assert r.returncode == 0, r.stderr[-3000:]
  _assert_bit_exact(_state(reference), _state(workdir))


@pytest.mark.slow
def test_sigterm_during_final_evaluation_is_honoured(env, tmp_path):
  """The final checkpoint is on disk before the final evaluation; a SIGTERM there stops the run at
  once (exit 128 + 15) and a rerun evaluates."""
  proc = _popen(env, tmp_path, num_steps=2, checkpoint_every=100, eval_samples=3_000_000)
  deadline = time.time() + 300
  sums = tmp_path / "checkpoints.sha256.json"
  while time.time() < deadline and not (sums.exists() and "2" in json.load(open(sums))):
    time.sleep(0.2)
  time.sleep(0.5)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
  assert "during the final evaluation" in _one_line(err)
  assert int(_state(tmp_path).step) == 2


# ----------------------------------------------------------------------------------------------------
# Two trainers, broken workdirs, full disks
# ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_second_trainer_on_the_same_workdir_is_refused(env, reference, tmp_path):
  """While one trainer runs, a second on its workdir stops with one line naming the holder; after the
  first is killed (-9) its lock is not held any more and a rerun resumes bit-exact."""
  first = _popen(env, tmp_path, num_steps=100000, checkpoint_every=2)
  deadline = time.time() + 300
  while time.time() < deadline and not (tmp_path / "metrics.jsonl").exists():
    time.sleep(0.2)
  second = _train(env, tmp_path, num_steps=100000, checkpoint_every=2)
  first.kill()
  first.communicate()
  assert second.returncode == 2
  line = _one_line(second.stderr)
  assert "is in use by process" in line and str(first.pid) in line, line
  r = _train(env, tmp_path)  # STEPS < the steps the first one reached: evaluates only
  assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("x"), "exists and is not a directory"),
    (lambda p: (p.parent / "file").write_text("x"), "cannot create"),
])
def test_workdir_that_is_a_file_is_one_line(make, message, tmp_path, capsys):
  workdir = tmp_path / "w"
  make(workdir)
  if message == "cannot create":
    workdir = tmp_path / "file" / "w"
  assert cli.main(_args(workdir)) == 2
  assert message in _one_line(capsys.readouterr().err)


def _in_namespace(script: str, env) -> subprocess.CompletedProcess:
  return subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, capture_output=True,
                        text=True, timeout=600)


def _cli(workdir, **overrides) -> str:
  return " ".join([sys.executable, "-m", "jaxgan.cli"] + _args(workdir, **overrides))


def test_a_workdir_path_that_is_not_utf8_is_one_line(tmp_path, capsys):
  assert cli.main(_args(os.path.join(str(tmp_path), "w\udcff"))) == 2
  assert "not valid UTF-8" in _one_line(capsys.readouterr().err)


@needs_mount
def test_read_only_workdir_and_checkpoints_are_one_line_before_compile(env, tmp_path):
  ro = tmp_path / "ro"
  ro.mkdir()
  r = _in_namespace(f"mount -t tmpfs -o ro tmpfs {ro} && {_cli(ro / 'w')}", env)
  assert r.returncode == 2 and "cannot create" in _one_line(r.stderr)
  assert "Read-only file system" in r.stderr
  (tmp_path / "w" / "checkpoints").mkdir(parents=True)
  r = _in_namespace(f"mount -t tmpfs -o ro tmpfs {tmp_path / 'w' / 'checkpoints'} && "
                    f"{_cli(tmp_path / 'w')}", env)
  assert r.returncode == 2 and "cannot write in" in _one_line(r.stderr) and "checkpoints" in r.stderr
  assert "compiled" not in r.stdout


@needs_mount
def test_too_little_free_space_is_one_line_at_start(env, tmp_path):
  r = _in_namespace(f"mount -t tmpfs -o size=1m tmpfs {tmp_path} && {_cli(tmp_path / 'w')}", env)
  assert r.returncode == 2 and "MiB free" in _one_line(r.stderr)


@needs_mount
@pytest.mark.slow
def test_disk_full_during_the_run_keeps_the_last_checkpoint(env, reference, tmp_path):
  """The disk fills up after the first checkpoint: the run stops with one line, the last checkpoint
  restores, and with space freed a rerun ends bit-exact."""
  mnt = tmp_path / "mnt"
  mnt.mkdir()
  w = mnt / "w"
  script = (f"mount -t tmpfs -o size=20m tmpfs {mnt} && "
            f"({_cli(w, checkpoint_every=4, num_steps=100000)} 2>{tmp_path}/err & "
            f"while [ ! -d {w}/checkpoints/4 ]; do sleep 0.1; done; "
            f"dd if=/dev/zero of={mnt}/filler bs=1M 2>/dev/null; wait $!; echo rc=$? > {tmp_path}/rc;"
            f" cp -r {w} {tmp_path}/copy; rm {mnt}/filler; "
            f"{_cli(w)} > {tmp_path}/out2 2>&1; echo rc2=$? >> {tmp_path}/rc; "
            f"cp -r {w} {tmp_path}/after)")
  _in_namespace(script, env)
  rcs = open(tmp_path / "rc").read()
  err = open(tmp_path / "err").read()
  assert "rc=1" in rcs, err[-3000:]
  line = _one_line(err)
  assert "No space left on device" in line and "is kept" in line, line
  assert "rc2=0" in rcs, open(tmp_path / "out2").read()[-3000:]
  _assert_bit_exact(_state(reference), _state(tmp_path / "after"))


def test_a_save_that_orbax_skips_is_not_reported(tmp_path, monkeypatch):
  """CheckpointManager.save returning False (orbax's silent skip) or raising (disk full) is an
  error naming the step that was not written and the one that is kept, never 'saved'."""
  from jaxgan import checkpoints  # pylint: disable=import-outside-toplevel
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  run = train_lib.Run(_config(), str(tmp_path))
  state = run.parallel.put_state(run.fresh_state())
  monkeypatch.setattr(ocp.CheckpointManager, "save", lambda self, step, **kw: False)
  with pytest.raises(checkpoints.CheckpointError, match=r"\(orbax skipped the save\); no earlier"):
    run.save(state)

  def full(self, step, **kw):
    raise OSError(28, "No space left on device")
  monkeypatch.setattr(ocp.CheckpointManager, "save", full)
  with pytest.raises(checkpoints.CheckpointError, match="No space left on device"):
    run.save(state)
  assert not os.path.exists(tmp_path / "checkpoints.sha256.json")


# ----------------------------------------------------------------------------------------------------
# config.json, sample / evaluate on missing or damaged steps
# ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_failed_start_does_not_poison_the_workdir(env, tmp_path):
  """A config.json left without checkpoints (a start that stopped before its first checkpoint) does
  not bind the next run; checkpoints without config.json refuse to resume."""
  tmp_path.mkdir(exist_ok=True)
  stale = _config(batch_size=256).to_dict()
  (tmp_path / "config.json").write_text(json.dumps(stale))
  r = _train(env, tmp_path, num_steps=2)
  assert r.returncode == 0, r.stderr[-3000:]
  assert json.load(open(tmp_path / "config.json"))["batch_size"] == 32
  os.remove(tmp_path / "config.json")
  r = _train(env, tmp_path, num_steps=4)
  assert r.returncode == 2 and "no config.json" in _one_line(r.stderr)


def test_sample_and_evaluate_errors_are_one_line(small_run, tmp_path, capsys):
  run = shutil.copytree(small_run, tmp_path / "run")
  out_dir = tmp_path / "out.npy"
  out_dir.mkdir()
  cases = [
      (["evaluate", "--workdir", str(run), "--step", "999"], "no checkpoint of step 999"),
      (["evaluate", "--workdir", str(run), "--step", "-1"], "--step must be >= 0"),
      (["sample", "--workdir", str(run), "--num", "2", "--out", str(out_dir)], "is a directory"),
  ]
  steps = sorted(int(s) for s in os.listdir(run / "checkpoints") if s.isdigit())
  _flip_byte(str(run / "checkpoints" / str(steps[0])))
  cases.append((["evaluate", "--workdir", str(run), "--step", str(steps[0])], "is damaged"))
  for argv, message in cases:
    assert cli.main(argv) == 2, argv
    line = _one_line(capsys.readouterr().err)
    assert message in line and "move the folder" not in line, line
  # The damaged older step is skipped, not moved, by sample; the newest good one is used.
  assert cli.main(["sample", "--workdir", str(run), "--num", "2", "--out",
                   str(tmp_path / "s.npy")]) == 0
  assert f"step {steps[-1]}" in capsys.readouterr().out
  assert not (run / "damaged_checkpoints").exists()


def test_sample_on_a_workdir_without_checkpoints_creates_nothing(tmp_path, capsys):
  (tmp_path / "config.json").write_text(json.dumps(_config().to_dict()))
  for argv in (["sample", "--num", "2", "--out", str(tmp_path / "s.npy")], ["evaluate"]):
    assert cli.main(argv + ["--workdir", str(tmp_path)]) == 2
    assert "no checkpoint" in _one_line(capsys.readouterr().err)
  assert sorted(os.listdir(tmp_path)) == ["config.json"]


# ----------------------------------------------------------------------------------------------------
# Bad data and bad values
# ----------------------------------------------------------------------------------------------------
def test_a_corrupt_image_body_is_refused_at_start(tmp_path, capsys):
  import PIL.Image  # pylint: disable=import-outside-toplevel
  folder = tmp_path / "images"
  folder.mkdir()
  rng = np.random.default_rng(0)
  for i in range(3):
    PIL.Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
  whole = (folder / "1.jpg").read_bytes()
  (folder / "1.jpg").write_bytes(whole[:len(whole) // 2])  # header intact, body cut
  rc = cli.main(["train", "--workdir", str(tmp_path / "w"), "--config", "digits_wgan_gp",
                 "--config.dataset=image_folder", f"--config.data_dir={folder}",
                 "--config.image_size=8"])
  assert rc == 2
  line = _one_line(capsys.readouterr().err)
  assert "1.jpg" in line and "truncated" in line.lower(), line


@pytest.mark.parametrize("args, message", [
    (["--config.g_lr=nan"], "g_lr must be a finite number"),
    (["--config.b1=nan"], "b1 must be a finite number"),
    (["--config.gp_weight=inf"], "gp_weight must be a finite number"),
    (["--config.seed=1180591620717411303424"], "seed must be <= 4294967294"),
    (["--config.batch_size=1e11"], "batch_size: expected an integer"),
    (["--config.batch_size=2000000000"], "more than half of this machine's"),
    (["--config.num_steps=99999999999"], "num_steps must be <= 2147483647"),
    (["--config.max_to_keep=5"], "max_to_keep: renamed keep_checkpoints"),
])
def test_nan_inf_and_huge_values_are_one_line(args, message, tmp_path, capsys):
  assert cli.main(["train", "--workdir", str(tmp_path / "w")] + args) == 2
  assert message in _one_line(capsys.readouterr().err)
  assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("body, message", [
    ("def get_config():\n  raise RuntimeError('boom')\n", "get_config() in"),
    ("from jaxgan import config as c\ndef get_config():\n  x = c.base_config()\n"
     "  x.g_lr = 'fast'\n  return x\n", "g_lr"),
    ("from jaxgan import config as c\nimport ml_collections\ndef get_config():\n"
     "  d = c.base_config().to_dict()\n  d['b2'] = 'x'\n  return ml_collections.ConfigDict(d)\n",
     "b2 must be a number"),
    ("from jaxgan import config as c\ndef get_config():\n  x = c.base_config()\n"
     "  x.gp_weight = float('inf')\n  return x\n", "gp_weight must be a finite number"),
])
def test_config_files_that_fail_are_one_line(body, message, tmp_path, capsys):
  path = tmp_path / "cfg.py"
  path.write_text(body)
  assert cli.main(["train", "--config", str(path), "--workdir", str(tmp_path / "w")]) == 2
  assert message in _one_line(capsys.readouterr().err)

"""Tests of jaxgan.cli's self-description: ``--help`` of every command, ``jaxgan config``, and the
"did you mean" hints of its one-line errors. In-process ``cli.main`` calls: nothing compiles."""

import os
import re

import pytest

from jaxgan import cli
from jaxgan import config as config_lib


def _run(capsys, *argv):
  """(exit status, stdout, stderr) of ``jaxgan argv``; ``--help`` exits through SystemExit."""
  try:
    rc = cli.main(list(argv))
  except SystemExit as e:
    rc = e.code
  out, err = capsys.readouterr()
  return rc, out, err


def _field_lines(text):
  """``{field: (value text, rest of the line)}`` from describe_fields' table."""
  rows = {}
  for line in text.splitlines():
    m = re.match(r"^  (\w+) +(\S.*?)(?: \*)?(?: {2,}(\S.*))?$", line)
    if m and m.group(1) in config_lib.field_help():
      rows[m.group(1)] = (m.group(2), m.group(3) or "")
  return rows


def test_every_field_has_a_meaning_and_the_base_config_is_the_field_table():
  base = config_lib.base_config()
  meanings = config_lib.field_help()
  assert set(meanings) == set(base.keys())
  assert all(len(m) >= 8 and "\n" not in m for m in meanings.values())
  # The defaults of the public contract (DESIGN section 2): WGAN-GP on a 2-D mixture.
  assert (base.loss, base.dataset, base.model, base.gp_weight, base.n_critic) == (
      "wgan_gp", "ring8", "mlp", 10.0, 5)
  for name in config_lib.available_configs():  # every shipped config only sets known fields
    assert set(config_lib.load_config(name).keys()) == set(base.keys()), name


def test_train_help_lists_every_field_with_default_and_meaning(capsys):
  rc, out, _ = _run(capsys, "train", "--help")
  assert rc == 0
  assert "--config.FIELD=VALUE" in out and "jaxgan config NAME" in out
  rows = _field_lines(out)
  base = config_lib.base_config()
  assert set(rows) == set(base.keys())
  for field, (value, rest) in rows.items():
    assert value == cli._show(base[field]), field  # pylint: disable=protected-access
    assert rest.startswith(config_lib.field_help()[field][:30]), field
  assert "pggan" in out.split("  model ")[1].split("\n  latent_dim")[0]  # choices listed


def test_config_command_shows_a_named_config_against_the_defaults(capsys):
  rc, out, _ = _run(capsys, "config", "digits_wgan_gp", "--config.n_critic=3")
  assert rc == 0
  named = config_lib.load_config("digits_wgan_gp")
  assert out.splitlines()[0].startswith("config 'digits_wgan_gp'") and "WGAN-GP" in out
  assert re.search(r"^  dataset +'digits' \* +", out, re.M)  # differs from the default: marked
  assert "(default: 'ring8')" in out
  assert re.search(r"^  n_critic +3 \* +", out, re.M)  # the override is applied
  assert re.search(r"^  gp_weight +10\.0 +lambda", out, re.M)  # same as default: unmarked
  rows = _field_lines(out)
  assert set(rows) == set(named.keys())


def test_config_command_without_a_name_shows_the_default_config_and_lists_the_configs(capsys):
  rc, out, _ = _run(capsys, "config")
  assert rc == 0
  rc, named, _ = _run(capsys, "config", "default")
  assert rc == 0 and out.startswith(named)  # then the list of configs
  assert all(name in out[len(named):] for name in config_lib.available_configs())


@pytest.mark.parametrize("argv, hint", [
    (["train", "--config.n_critc=3"], "did you mean 'n_critic'?"),
    (["train", "--config", "ring8_wgna"], "did you mean 'ring8_wgan'?"),
    (["config", "digits_pgan"], "did you mean 'digits_pggan'?"),
    (["config", "default", "--config.gp_wieght=1"], "did you mean 'gp_weight'?"),
    (["train", "--workdr", "/tmp/x"], "did you mean '--workdir'?"),
    (["train", "--config.loss=wgan-gp"], "did you mean 'wgan_gp'?"),
    (["trian"], "did you mean 'train'?"),
    (["sample", "--workdir", "w", "--num", "2", "--out", "a.npy", "--sed", "3"],
     "did you mean '--seed'?"),
])
def test_near_misses_get_a_suggestion_on_one_line(argv, hint, capsys, tmp_path):
  rc, _, err = _run(capsys, *argv, *(["--workdir", str(tmp_path)] if argv[0] == "train" else []))
  assert rc == 2
  assert hint in err and len(err.strip().splitlines()) == 1, err


def test_far_misses_get_no_suggestion(capsys):
  rc, _, err = _run(capsys, "train", "--config.zzzzzz=1")
  assert rc == 2 and "did you mean" not in err and "jaxgan config" in err


@pytest.mark.parametrize("command", ["train", "sample", "evaluate", "config"])
def test_every_argument_is_described(command, capsys):
  parser = cli._subparsers(cli.build_parser())[command]  # pylint: disable=protected-access
  assert parser.description
  for action in parser._actions:  # pylint: disable=protected-access
    assert action.help and len(action.help) > 8, (command, action.dest)
  rc, out, _ = _run(capsys, command, "--help")
  assert rc == 0
  for action in parser._actions:  # pylint: disable=protected-access
    assert action.help.split()[0] in out, (command, action.dest)


def _readme_section(title):
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
  with open(path, encoding="utf-8") as f:
    text = f.read()
  return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_configs_table_has_every_shipped_config():
  table = _readme_section("Configs")
  missing = [n for n in config_lib.available_configs() if f"`{n}`" not in table]
  assert not missing


def test_readme_command_line_block_has_every_command_and_flag():
  block = _readme_section("Command line").split("```")[1]
  commands = cli._subparsers(cli.build_parser())  # pylint: disable=protected-access
  for command, parser in commands.items():
    assert f"jaxgan {command}" in block
    for action in parser._actions:  # pylint: disable=protected-access
      flags = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
      assert all(f in block for f in flags), (command, flags)

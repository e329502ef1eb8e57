"""Configuration: the schema every config shares, loading config files, overrides and validation.

A config is an ``ml_collections.ConfigDict`` returned by ``get_config()`` in a file of ``configs/``
(the folder ships inside the package as ``jaxgan/configs``). Every config starts from
:func:`base_config`, so every config has every field; a field that the base does not define is refused.
:data:`FIELDS` is the one table of the fields, their defaults and one-line meanings (``base_config``
is built from it; ``jaxgan config`` and ``jaxgan train --help`` print it).
:func:`validate` checks types and ranges and raises :class:`ConfigError` with a one-line message that
names the field and what is allowed, before anything compiles.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import math
import os
import pathlib
from typing import Any, Iterable, NamedTuple

import ml_collections

CONFIG_DIR = pathlib.Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = "default"

LOSSES = ("gan", "nsgan", "wgan", "wgan_gp", "hinge")
MODELS = ("mlp", "pacgan_mlp", "dcgan", "sngan_cnn", "sngan_resnet", "wgan_gp_resnet", "pggan")
OPTIMIZERS = ("adam", "rmsprop")
LR_SCHEDULES = ("constant", "linear")
CRITIC_LOOPS = ("auto", "scan", "unroll")
CONV_IMPLS = ("auto", "xla", "im2col", "winograd")  # how convolutions are computed: jaxgan.models.layers
COMPUTE_DTYPES = ("float32", "bfloat16")
PARALLEL = ("jit", "pmap")
TOY_MODELS = MODELS[:2]  # the models of 2-D data (the rest take images)


class ConfigError(ValueError):
  """A user's mistake in a config or an override: the message is one line, naming the field."""


RENAMED_FIELDS = {"max_to_keep": "keep_checkpoints"}
"""Fields renamed since a release: old name -> new name. Saved runs (``config.json``) are migrated;
a config or an override that uses an old name is refused with the new one."""

# Upper bounds: jax.random.PRNGKey takes seeds below 2**32 (the evaluation uses seed + 1); counts are
# int32 in the train state and in XLA's shapes.
MAX_SEED = 2**32 - 2
MAX_COUNT = 2**31 - 1


def migrate_fields(saved: dict[str, Any]) -> dict[str, Any]:
  """A saved config dict with renamed fields under their new names."""
  return {RENAMED_FIELDS.get(k, k): v for k, v in saved.items()}


class Field(NamedTuple):
  """One config field: its name, its default value and a one-line meaning (``jaxgan config``)."""
  name: str
  default: Any
  meaning: str


# Every config field, by group, in the order `jaxgan config` and `jaxgan train --help` list them.
# The one source of the defaults (base_config) and of the meanings (field_help); the allowed values
# of the choice fields are added from the tuples above (field_choices).
FIELDS: dict[str, tuple[Field, ...]] = {
    "run": (
        Field("name", "default", "run name: the default workdir is runs/<name>"),
        Field("seed", 0, "root PRNG seed (parameters, latents, data order)"),
    ),
    "data": (
        Field("dataset", "ring8", "training data: a 2-D mixture, digits, or a TFDS / image folder "
              "dataset"),
        Field("data_dir", "", "file datasets: TFDS data_dir (default ~/tensorflow_datasets) or the "
              "image_folder root"),
        Field("image_size", 0, "image_folder: side of the (square) images; 0 elsewhere"),
    ),
    "models": (
        Field("model", "mlp", "'mlp' or 'pacgan_mlp' (PacGAN's BN generator + maxout critic) for "
              "2-D data; an image model for images"),
        Field("latent_dim", 2, "generator input size (the WGAN-GP toy script uses 2)"),
        Field("hidden_dim", 512, "mlp: units per hidden layer (WGAN-GP toy: 512)"),
        Field("num_hidden", 3, "mlp: hidden layers (WGAN-GP toy: 3)"),
        Field("base_channels", 64, "image models: width (dcgan: widest-resolution layer; resnets: "
              "D width)"),
        Field("g_batch_norm", True, "dcgan: batch norm in the generator (never in the critic)"),
        Field("critic_layer_norm", False, "dcgan: layer norm in the critic (WGAN-GP's substitute "
              "for BN)"),
        Field("spectral_norm", False, "spectral normalization of every critic layer (SNGAN)"),
        Field("fmap_base", 8192, "pggan: features at stage s = min(fmap_base / 2^(s+1), fmap_max)"),
        Field("fmap_max", 512, "pggan: the widest layer"),
        Field("images_per_fade", 0, "pggan: real images shown while a new resolution fades in"),
        Field("images_per_stable", 0, "pggan: real images shown at each resolution after its fade"),
        Field("batch_by_resolution", "", "pggan: 'RES:BATCH,...' (e.g. '4:64,8:64'); empty: "
              "batch_size"),
    ),
    "objective": (
        Field("loss", "wgan_gp", "objective: BCE (gan: minimax, nsgan: non-saturating), W-loss "
              "(wgan: clipped critic, wgan_gp: penalised critic) or hinge"),
        Field("gp_weight", 10.0, "lambda of the gradient penalty (WGAN-GP: 10; 0 disables it)"),
        Field("gp_target", 1.0, "gamma: the slope the penalty pulls towards"),
        Field("gp_one_sided", False, "penalise only slopes above gp_target"),
        Field("drift_weight", 0.0, "epsilon_drift of PGGAN (0 disables it)"),
        Field("clip_value", 0.0, "WGAN weight clipping c (0 disables it; wgan requires > 0)"),
    ),
    "optimisation": (
        Field("num_steps", 1500, "generator updates"),
        Field("batch_size", 256, "global batch size (real and fake samples per critic update)"),
        Field("n_critic", 5, "critic updates per generator update"),
        Field("optimizer", "adam", "optimizer of both networks"),
        Field("g_lr", 1e-4, "generator learning rate"),
        Field("d_lr", 1e-4, "critic learning rate"),
        Field("b1", 0.5, "Adam beta1 (WGAN-GP toy script: 0.5; paper: 0)"),
        Field("b2", 0.9, "Adam beta2"),
        Field("lr_schedule", "constant", "learning rates: constant, or linear decay to 0 at "
              "num_steps (SNGAN, WGAN-GP)"),
        Field("ema_decay", 0.0, "generator EMA decay (0 disables; PGGAN uses 0.999)"),
        Field("critic_loop", "auto", "n_critic loop form: scan, unroll, or auto (scan, but unroll "
              "for XLA convolutions on CPU)"),
        Field("conv_impl", "auto", "convolutions: xla (lax.conv_*), im2col (slices + one matmul, "
              "4-8x faster on CPU), winograd (im2col with Winograd F(2x2,2x2) for the 4x4 "
              "stride-2 critic layers: CPU steps ~10-15% faster, cold compiles longer), auto "
              "(im2col on CPU, else xla)"),
        Field("compute_dtype", "float32", "activations, matmuls, convolutions: float32 or bfloat16 "
              "(parameters, optimizer state, statistics, losses, penalty norms stay float32)"),
    ),
    "devices": (
        Field("parallel", "jit", "jit (device mesh + NamedSharding) or pmap (compatibility)"),
        Field("num_devices", 0, "devices to use (0: all; a multi-process run uses all)"),
    ),
    "input": (  # jaxgan.input_pipeline; none of these changes a batch
        Field("data_workers", 0, "processes decoding images (grain); 0: threads of the trainer"),
        Field("data_prefetch", 2, "steps prepared ahead of the running one"),
        Field("data_cache_mb", 2048, "host memory (MiB) for decoded uint8 images kept after first "
              "use"),
    ),
    "outputs": (
        Field("log_every", 100, "steps between progress lines / metric records"),
        Field("eval_every", 500, "steps between evaluations and pictures (0: only at the end)"),
        Field("checkpoint_every", 500, "steps between checkpoints (and always at the end)"),
        Field("keep_checkpoints", 3, "the newest N checkpoints are kept (older ones deleted)"),
        Field("eval_samples", 2500, "samples per evaluation (PacGAN protocol: 2,500)"),
        Field("inception_weights", "", "FID/KID/IS: path of pytorch-fid's "
              "pt_inception-2015-12-05-6726825d.pth (or its .npz); empty: no Inception metrics"),
    ),
}


def field_help() -> dict[str, str]:
  """``{field: one-line meaning}`` for every field of :func:`base_config`."""
  return {f.name: f.meaning for group in FIELDS.values() for f in group}


def field_choices(field: str) -> tuple[str, ...] | None:
  """The allowed values of a choice field (``loss``, ``model``, ...); ``None`` for other fields."""
  if field == "dataset":
    from jaxgan import data  # pylint: disable=import-outside-toplevel
    return tuple(data.ALL_DATASETS)
  return {"loss": LOSSES, "model": MODELS, "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES,
          "critic_loop": CRITIC_LOOPS, "conv_impl": CONV_IMPLS, "parallel": PARALLEL,
          "compute_dtype": COMPUTE_DTYPES}.get(field)


def base_config() -> ml_collections.ConfigDict:
  """The fields every config has, with their defaults (a short WGAN-GP run on ring8); see
  :data:`FIELDS` for what each one means."""
  c = ml_collections.ConfigDict()
  for group in FIELDS.values():
    for f in group:
      c[f.name] = f.default
  return c


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
  """`` (did you mean 'X'?)`` for the closest of ``candidates`` to ``word`` (difflib ratio >= 0.6),
  or ``''`` when none is close."""
  close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
  return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_field_message(field: str) -> str:
  """The one-line error for a field that no config has."""
  return (f"unknown config field '{field}'{did_you_mean(field, field_help())}; "
          f"`jaxgan config` lists every field")


def load_config(path_or_name: str | None) -> ml_collections.ConfigDict:
  """Loads ``get_config()`` from a config file path or a config name in ``configs/``.

  Raises:
    ConfigError: the file does not exist, cannot be read, or has no ``get_config``.
  """
  path = config_path(path_or_name)
  spec = importlib.util.spec_from_file_location(f"jaxgan_config_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except Exception as e:  # a user's file: report it on one line
    raise ConfigError(f"config: cannot read '{path}': {type(e).__name__}: {e}") from None
  if not hasattr(module, "get_config"):
    raise ConfigError(f"config: '{path}' defines no get_config()")
  try:
    config = module.get_config()
  except Exception as e:  # a user's file: report it on one line
    raise ConfigError(f"config: get_config() in '{path}' failed: {type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''}") from None
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"config: get_config() in '{path}' must return an ml_collections.ConfigDict")
  return config


def config_path(path_or_name: str | None) -> pathlib.Path:
  """The file of a config given by path or by name in ``configs/`` (``None``: the default).

  Raises:
    ConfigError: no such file (the message suggests the closest config name).
  """
  name = path_or_name or DEFAULT_CONFIG
  path = pathlib.Path(name)
  if not path.suffix and not path.exists():
    path = CONFIG_DIR / f"{name}.py"
  if not path.is_file():
    known = available_configs()
    raise ConfigError(f"config: no config file '{name}'{did_you_mean(name, known)}; give a path or "
                      f"one of: {', '.join(known)}")
  return path


def available_configs() -> list[str]:
  return sorted(p.stem for p in CONFIG_DIR.glob("*.py") if not p.stem.startswith("_"))


def _parse_value(field: str, text: str, like: Any) -> Any:
  if isinstance(like, bool):
    if text.lower() in ("true", "1", "yes"):
      return True
    if text.lower() in ("false", "0", "no"):
      return False
    raise ConfigError(f"{field}: expected true or false, got '{text}'")
  if isinstance(like, int):
    try:
      return int(text)
    except ValueError:
      raise ConfigError(f"{field}: expected an integer, got '{text}'") from None
  if isinstance(like, float):
    try:
      value = float(text)
    except ValueError:
      raise ConfigError(f"{field}: expected a number, got '{text}'") from None
    if not math.isfinite(value):
      raise ConfigError(f"{field} must be a finite number; got '{text}'")
    return value
  if isinstance(like, str):
    return text
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    raise ConfigError(f"{field}: cannot parse '{text}'") from None


def apply_overrides(config: ml_collections.ConfigDict,
                    overrides: Iterable[tuple[str, str]]) -> ml_collections.ConfigDict:
  """Returns a copy of ``config`` with ``(field, text)`` overrides parsed by the field's type."""
  config = ml_collections.ConfigDict(config.to_dict())
  known = base_config()
  for field, text in overrides:
    if field in RENAMED_FIELDS:
      raise ConfigError(f"{field}: renamed {RENAMED_FIELDS[field]} (use "
                        f"--config.{RENAMED_FIELDS[field]}={text})")
    if field not in known:
      raise ConfigError(unknown_field_message(field))
    like = config[field] if field in config else known[field]
    config[field] = _parse_value(field, text, like)
  return config


def _choice(config, field, allowed):
  if config[field] not in allowed:
    raise ConfigError(f"{field} must be one of {', '.join(allowed)}; got {config[field]!r}"
                      f"{did_you_mean(config[field], allowed)}")


def _number(config, field, *, kind=float, minimum=None, strict=False, maximum=None):
  value = config[field]
  ok_type = isinstance(value, int) if kind is int else isinstance(value, (int, float))
  if isinstance(value, bool) or not ok_type:
    want = "an integer" if kind is int else "a number"
    raise ConfigError(f"{field} must be {want}; got {value!r}")
  if not math.isfinite(value):
    raise ConfigError(f"{field} must be a finite number; got {value!r}")
  if kind is int and maximum is None:
    maximum = MAX_COUNT
  if minimum is not None and (value <= minimum if strict else value < minimum):
    raise ConfigError(f"{field} must be {'>' if strict else '>='} {minimum}; got {value!r}")
  if maximum is not None and value > maximum:
    raise ConfigError(f"{field} must be <= {maximum}; got {value!r}")


def validate(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Checks every field; returns the config or raises :class:`ConfigError` (one line, names the field)."""
  from jaxgan import data  # pylint: disable=import-outside-toplevel

  known = base_config()
  for old, new in RENAMED_FIELDS.items():
    if old in config:
      raise ConfigError(f"{old}: renamed {new}; set {new} instead")
  unknown = sorted(set(config.keys()) - set(known.keys()))
  if unknown:
    raise ConfigError(unknown_field_message(unknown[0]))
  missing = sorted(set(known.keys()) - set(config.keys()))
  if missing:
    raise ConfigError(f"config field '{missing[0]}' is missing (start from jaxgan.config.base_config())")
  for field in ("name", "dataset", "loss", "model", "optimizer", "lr_schedule", "critic_loop",
                "conv_impl", "parallel"):
    if not isinstance(config[field], str) or not config[field]:
      raise ConfigError(f"{field} must be a non-empty string; got {config[field]!r}")
  _choice(config, "dataset", tuple(data.ALL_DATASETS))
  _choice(config, "loss", LOSSES)
  _choice(config, "model", MODELS)
  _choice(config, "optimizer", OPTIMIZERS)
  _choice(config, "lr_schedule", LR_SCHEDULES)
  _choice(config, "critic_loop", CRITIC_LOOPS)
  _choice(config, "conv_impl", CONV_IMPLS)
  _choice(config, "compute_dtype", COMPUTE_DTYPES)
  _choice(config, "parallel", PARALLEL)
  _number(config, "num_devices", kind=int, minimum=0)
  _number(config, "data_workers", kind=int, minimum=0, maximum=256)
  _number(config, "data_prefetch", kind=int, minimum=1, maximum=64)
  _number(config, "data_cache_mb", kind=int, minimum=0)
  for field in ("g_batch_norm", "critic_layer_norm", "spectral_norm", "gp_one_sided"):
    if not isinstance(config[field], bool):
      raise ConfigError(f"{field} must be true or false; got {config[field]!r}")
  _number(config, "seed", kind=int, minimum=0, maximum=MAX_SEED)
  for field in ("num_steps", "batch_size", "n_critic", "latent_dim", "hidden_dim", "num_hidden",
                "base_channels", "log_every", "checkpoint_every", "keep_checkpoints",
                "eval_samples"):
    _number(config, field, kind=int, minimum=1)
  _number(config, "eval_every", kind=int, minimum=0)
  for field in ("gp_weight", "drift_weight", "clip_value"):
    _number(config, field, minimum=0.0)
  _number(config, "gp_target", minimum=0.0, strict=True)
  for field in ("g_lr", "d_lr"):
    _number(config, field, minimum=0.0, strict=True)
  for field in ("b1", "b2", "ema_decay"):
    _number(config, field, minimum=0.0, maximum=1.0)
  if config.ema_decay == 1.0:
    raise ConfigError("ema_decay must be < 1 (0 disables the EMA); got 1.0")
  if config.loss == "wgan_gp" and config.gp_weight <= 0:
    raise ConfigError("gp_weight must be > 0 for loss 'wgan_gp' (the WGAN-GP recipe: 10)")
  if config.loss == "wgan" and config.clip_value <= 0 and not config.spectral_norm:
    raise ConfigError("clip_value must be > 0 for loss 'wgan' (the WGAN recipe: 0.01), unless the "
                      "critic is spectrally normalised (spectral_norm true)")
  image = data.DATASET_SHAPES[config.dataset] != (2,)
  if not isinstance(config.inception_weights, str):
    raise ConfigError(f"inception_weights must be a path (string); got {config.inception_weights!r}")
  if config.inception_weights and not os.path.isfile(os.path.expanduser(config.inception_weights)):
    raise ConfigError(f"inception_weights: no file '{config.inception_weights}' (pytorch-fid's "
                      f"pt_inception-2015-12-05-6726825d.pth; it cannot be downloaded here)")
  if config.inception_weights and config.eval_samples < 10:
    raise ConfigError(f"eval_samples must be >= 10 with inception_weights (the Inception score's 10 "
                      f"splits; FID papers use 5,000-50,000); got {config.eval_samples}")
  if not isinstance(config.data_dir, str):
    raise ConfigError(f"data_dir must be a path (string); got {config.data_dir!r}")
  _number(config, "image_size", kind=int, minimum=0)
  if config.dataset == "image_folder":
    if not config.data_dir:
      raise ConfigError("data_dir: dataset 'image_folder' needs --config.data_dir=FOLDER of PNG/JPEG")
    if config.image_size < 4:
      raise ConfigError(f"image_size must be >= 4 for dataset 'image_folder' (the side of its "
                        f"square images); got {config.image_size}")
  for field in ("images_per_fade", "images_per_stable", "fmap_base", "fmap_max"):
    _number(config, field, kind=int, minimum=0)
  if not isinstance(config.batch_by_resolution, str):
    raise ConfigError(f"batch_by_resolution must be a string like '4:64,8:64'; got "
                      f"{config.batch_by_resolution!r}")
  if config.model == "pggan":
    if config.images_per_fade < 1 or config.images_per_stable < 1:
      raise ConfigError(f"images_per_fade and images_per_stable must be >= 1 for model 'pggan' (a "
                        f"schedule needs images in every phase); got {config.images_per_fade} and "
                        f"{config.images_per_stable}")
    if config.fmap_base < 1 or config.fmap_max < 1:
      raise ConfigError("fmap_base and fmap_max must be >= 1 for model 'pggan'")
    if config.spectral_norm:
      raise ConfigError("spectral_norm: not available for model 'pggan' (equalized learning rate)")
  if image and config.model in TOY_MODELS:
    raise ConfigError(f"model must be an image model ({', '.join(MODELS[len(TOY_MODELS):])}) for "
                      f"image dataset '{config.dataset}'; got {config.model!r}")
  if not image and config.model not in TOY_MODELS:
    raise ConfigError(f"model must be one of {', '.join(TOY_MODELS)} for 2-D dataset "
                      f"'{config.dataset}'; got {config.model!r}")
  if config.model == "pacgan_mlp" and config.latent_dim != 2:
    raise ConfigError(f"latent_dim must be 2 for model 'pacgan_mlp' (PacGAN's 2-D Gaussian latent); "
                      f"got {config.latent_dim}")
  _check_batch_memory(config, data.DATASET_SHAPES[config.dataset])
  return config


def _check_batch_memory(config, shape) -> None:
  """A step's real batch ([n_critic, batch_size, *sample]) and an evaluation's samples must fit in
  half of this machine's memory (checked before anything is allocated)."""
  if config.dataset == "image_folder":
    shape = (config.image_size, config.image_size, 3)
  per_sample = 8 * math.prod(s or 1 for s in shape)  # drawn in float64 on the host, then float32
  try:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  except (ValueError, OSError, AttributeError):
    return
  for field, count in (("batch_size", config.batch_size * config.n_critic),
                       ("eval_samples", config.eval_samples)):
    need = count * per_sample
    if need > memory / 2:
      extra = f" x n_critic {config.n_critic}" if field == "batch_size" else ""
      raise ConfigError(f"{field}: {config[field]}{extra} samples of shape {tuple(shape)} take "
                        f"{need / 2**30:.1f} GiB, more than half of this machine's "
                        f"{memory / 2**30:.1f} GiB of memory")


def parse_overrides(argv: Iterable[str]) -> list[tuple[str, str]]:
  """``--config.FIELD=VALUE`` (or ``--config.FIELD VALUE``) arguments as (field, text) pairs."""
  argv = list(argv)
  out = []
  i = 0
  while i < len(argv):
    arg = argv[i]
    if not arg.startswith("--config."):
      raise ConfigError(f"unrecognised argument '{arg}'")
    body = arg[len("--config."):]
    if "=" in body:
      field, text = body.split("=", 1)
    elif i + 1 < len(argv):
      field, text = body, argv[i + 1]
      i += 1
    else:
      raise ConfigError(f"{body}: missing value (use --config.{body}=VALUE)")
    out.append((field, text))
    i += 1
  return out


def default_workdir(config: ml_collections.ConfigDict) -> str:
  return os.path.join("runs", config.name)

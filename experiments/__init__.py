"""One module per experiment, selected by `launch.py --experiment=NAME`.

A module defines `get_config()` (an ml_collections.ConfigDict) and, as data, CHANGES (what it
changes from the headline recipe, one line for tables) and PAPER_ROW (the row of the paper's
Figure 9 it reproduces, lenet_jax.paper.FIGURE9, or None). Training experiments stop there:
launch.py passes their config to `lenet_jax.train.train_and_evaluate`. The others also define
`run(config, workdir)`: the classical rows of Figure 9, the experiments built on a trained run,
the study note's demonstrations.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from lenet_jax import config as config_lib
from lenet_jax import paper

# launch.py's flags that set the config field of their name.
FLAG_FIELDS = ("seed", "seeds", "epochs", "batch_size", "mnist_dir")


class UnknownExperiment(ValueError):
  pass


def names() -> list[str]:
  return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                if not m.name.startswith("_"))


def load(name: str):
  if name not in names():
    raise UnknownExperiment(f"unknown experiment {name!r}; valid experiments: "
                            + ", ".join(names()))
  return importlib.import_module(f"experiments.{name}")


def about(name: str) -> dict:
  """What experiment `name` declares: the change it makes, and the paper's row and number."""
  module = load(name)
  row = getattr(module, "PAPER_ROW", None)
  return {"change": getattr(module, "CHANGES", ""), "paper_row": row,
          "paper_test_error": paper.figure9_row(row)["test_error"] if row else None}


def get_config(name: str):
  """Experiment `name`'s config, carrying what it declares (config.about)."""
  config = load(name).get_config()
  config.about = about(name)
  return config


def build_config(name: str, overrides=(), flag_values=None, vary=(), sweeping: bool = False):
  """Experiment `name`'s config with launch.py's flags applied (`flag_values`: the FLAG_FIELDS
  given, `vary`, then the --set `overrides`), validated when it trains a network; in a sweep,
  the flags and --set fields an experiment lacks (a baseline has no seeds) skip it."""
  config = get_config(name)
  overrides = list(overrides)
  if vary:
    overrides.insert(0, f"vary={tuple(vary)!r}")
  for field, value in (flag_values or {}).items():
    if value is not None and (field in config or not sweeping):
      if field not in config:
        raise config_lib.ConfigError(f"--{field} does not apply to experiment {name!r}")
      overrides.insert(0, f"{field}={value}")
  if sweeping:
    overrides = [o for o in overrides if o.split("=", 1)[0].strip() in config]
  config = config_lib.apply_overrides(config, overrides)
  if "optimizer" in config:   # a training experiment
    config_lib.validate(config)
  return config


def run(config, workdir: str, progress: bool = True, overwrite: bool = False) -> dict:
  """The experiment's own run(), or training (a sweep's program of several experiments trains);
  the results dict. lenet_jax.train is imported here: a bad flag or config is answered without
  loading JAX."""
  from lenet_jax import train
  name = config.experiment
  module = load(name) if name in names() else None
  if hasattr(module, "run"):
    return module.run(config, workdir)
  return train.train_and_evaluate(config, workdir, progress=progress, overwrite=overwrite)

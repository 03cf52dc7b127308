"""One module per experiment, selected by `launch.py --experiment=NAME`.

A module defines `get_config()` (an ml_collections.ConfigDict). Training experiments stop there:
launch.py passes their config to `lenet_jax.train.train_and_evaluate`. Demonstrations of the study
note also define `run(config, workdir)`.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


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

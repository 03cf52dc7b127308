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

from lenet_jax import paper


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

"""lenet_jax's entry point: run one registered experiment.

  python launch.py --experiment=c3_partial --mnist_dir=../shared/data/mnist
  python launch.py --experiment=c3_full --seed=1 --set=map_j=1.0 --workdir=runs/c3_full_j1
  python launch.py --experiment=param_counts
"""
from __future__ import annotations

import json
import os
import sys

from absl import app, flags

import experiments
from lenet_jax import config as config_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", None, "Experiment to run: a module of experiments/.")
flags.DEFINE_string("workdir", None, "Where results are written (default runs/EXPERIMENT).")
flags.DEFINE_integer("seed", None, "Random seed (overrides the config).")
flags.DEFINE_integer("epochs", None, "Passes over the training set (overrides the config).")
flags.DEFINE_integer("batch_size", None, "Patterns per update (overrides the config).")
flags.DEFINE_string("mnist_dir", None,
                    "Folder of the four MNIST IDX files, gzipped or not (default: "
                    "$LENET_MNIST_DIR, else tensorflow-datasets).")
flags.DEFINE_multi_string("set", [], "Override any config field: --set=name=value (repeatable).")
flags.DEFINE_bool("progress", True, "Show a progress bar per pass.")


def _fail(message: str) -> None:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def build_config(module, argv_overrides):
  config = module.get_config()
  overrides = list(argv_overrides)
  for name in ("seed", "epochs", "batch_size", "mnist_dir"):
    value = getattr(FLAGS, name)
    if value is not None:
      if name not in config:
        raise config_lib.ConfigError(f"--{name} does not apply to experiment "
                                     f"{config.experiment!r}")
      overrides.insert(0, f"{name}={value}")
  return config_lib.apply_overrides(config, overrides)


def _summary(results) -> None:
  last = results["passes"][-1]
  paper = results.get("paper_test_error")
  print()
  print(f"{'':24s} {'this run':>10s} {'paper':>8s}")
  print(f"{'test error (%)':24s} {last['test_error']:10.2f} "
        f"{(f'{paper:.2f}' if paper is not None else '-'):>8s}")
  print(f"{'training error (%)':24s} {last['train_error']:10.2f} "
        f"{('0.35' if results['experiment'] == 'c3_partial' else '-'):>8s}")
  print(f"{'parameters':24s} {results['parameters']:10,d} "
        f"{('60,000' if results['experiment'] == 'c3_partial' else '-'):>8s}")
  print(f"{'passes':24s} {len(results['passes']):10d} {20:8d}")
  print(f"{'seconds':24s} {results['total_seconds']:10.0f}")


def main(argv):
  if len(argv) > 1:
    _fail(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  if not FLAGS.experiment:
    _fail("--experiment is required; valid experiments: " + ", ".join(experiments.names()))
  try:
    module = experiments.load(FLAGS.experiment)
    config = build_config(module, FLAGS.set)
  except (experiments.UnknownExperiment, config_lib.ConfigError) as e:
    _fail(str(e))
  workdir = FLAGS.workdir or os.path.join("runs", FLAGS.experiment)

  if hasattr(module, "run"):
    module.run(config, workdir)
    return

  # Imported here so that the demonstrations start without compiling anything.
  from lenet_jax import data, train
  try:
    results = train.train_and_evaluate(config, workdir, progress=FLAGS.progress)
  except (data.MnistError, train.DivergenceError, ValueError) as e:
    _fail(str(e))
  _summary(results)
  print(f"\nresults: {os.path.join(workdir, 'results.json')}")


if __name__ == "__main__":
  # absl logs at INFO by default, which floods the console with XLA backend probing.
  FLAGS.set_default("verbosity", -1)
  app.run(main)

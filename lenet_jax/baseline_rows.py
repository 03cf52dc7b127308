"""Running one classical row of Figure 9 (lenet_jax.baselines' models): checking its config,
the data and its validation split, choosing on that split, and its results.json."""
from __future__ import annotations

import math
import os
import time
from typing import NamedTuple

import numpy as np

from lenet_jax import data, results
from lenet_jax.baselines import N_CLASSES, VALIDATION, Linear, Normal, linear_scores, \
    normal_equations, solve, targets


def check(ok: bool, field: str, problem: str, fix: str) -> None:
  """ValueError("field: problem; fix") unless ok: launch.py prints it as one error line."""
  if not ok:
    raise ValueError(f"{field}: {problem}; {fix}")


def check_whole(config, field: str, low: int = 0) -> None:
  """config[field] a whole number >= low."""
  v = config[field]
  check(isinstance(v, int) and not isinstance(v, bool) and v >= low, field,
        f"must be a whole number >= {low}, got {v!r}", f"e.g. --set={field}={max(low, 1)}")


def check_grid(config, field: str, *, low: float = 0.0, whole: bool = False,
               positive: bool = False, choices: tuple = ()) -> None:
  """A non-empty tuple of candidates: numbers >= low (> 0 if `positive`, whole numbers if
  `whole`), or some of `choices`."""
  values = config[field]
  check(isinstance(values, tuple) and len(values) > 0, field,
        f"must be a non-empty tuple, got {values!r}", f"e.g. --set={field}=(1,)")
  for v in values:
    if choices:
      check(v in choices, field, f"unknown {v!r}", f"use some of {', '.join(choices)}")
    elif whole:
      check(isinstance(v, int) and not isinstance(v, bool) and v >= low, field,
            f"{v!r} is not a whole number >= {low:g}", f"give whole numbers >= {low:g}")
    else:
      check(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v >= low and (v > 0 or not positive), field,
            f"{v!r} is not a finite number {'>' if positive else '>='} {low:g}",
            f"give finite numbers {'>' if positive else '>='} {low:g}")


def load(mnist_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """uint8 {"train": (images, labels), "test": ...}: mnist_dir, "tfds", or "" for
  $LENET_MNIST_DIR, else the repository's copy (as data.load_mnist resolves it)."""
  if mnist_dir == data.TFDS:
    return data.load_tfds()
  return data.load_idx_dir(mnist_dir or os.environ.get(data.ENV_VAR) or data.REPO_DIR)


def split(images, labels) -> tuple[tuple, tuple]:
  """(first images, labels), (last VALIDATION images, labels): the validation split."""
  keep = len(images) - VALIDATION
  if keep < 1:
    raise ValueError(f"mnist_dir: {len(images)} training images leave none for training after "
                     f"the {VALIDATION} validation images; use the full MNIST")
  return (images[:keep], labels[:keep]), (images[keep:], labels[keep:])


class Splits(NamedTuple):
  """uint8 (images, labels) pairs: MNIST's training and test sets, and the training set cut
  into the part fitted on and the validation part that chooses what the paper leaves open."""
  train: tuple
  test: tuple
  fit: tuple
  val: tuple


def splits(mnist_dir: str, transform=None) -> Splits:
  """MNIST (load) as `transform` makes its images (None: as they are), with its validation
  split (split)."""
  both = load(mnist_dir)
  (train_x, train_y), (test_x, test_y) = both["train"], both["test"]
  if transform is not None:
    train_x, test_x = transform(train_x), transform(test_x)
  return Splits((train_x, train_y), (test_x, test_y), *split(train_x, train_y))


def screen_least_squares(x, labels, val_x, val_labels, *, ridges, codings) -> dict[tuple, float]:
  """Validation error % of least squares on features x for every (ridge, coding): one Gram
  matrix for all of them, the codings' targets side by side."""
  t = np.hstack([targets(labels, c) for c in codings])
  ne = normal_equations(x, t)
  errors = {}
  for n, coding in enumerate(codings):
    own = Normal(ne.gram, ne.cross[:, n * N_CLASSES:(n + 1) * N_CLASSES], ne.count)
    for ridge in ridges:
      scores = linear_scores(Linear(*solve(own, ridge)), val_x)
      errors[(ridge, coding)] = error(scores.argmax(1), val_labels)[0]
  return errors


def error(predictions, labels) -> tuple[float, int]:
  """(test error %, number wrong)."""
  wrong = int(np.sum(np.asarray(predictions) != np.asarray(labels)))
  return 100.0 * wrong / len(labels), wrong


def choose(errors: dict[tuple, float]) -> tuple:
  """The candidate with the lowest validation error; a tie goes to the one listed first."""
  return min(errors, key=lambda key: errors[key])


def label(names: tuple[str, ...], values: tuple) -> str:
  """'ridge=0.01,coding=pm1': a candidate as the results file names it."""
  return ",".join(f"{n}={v}" for n, v in zip(names, values))


def write_row(config, workdir: str, *, paper_error: float, model, predictions, test_labels,
              train_images: int, validation: dict, chosen: dict, started: float) -> dict:
  """Writes workdir/results.json in the shape the table generator reads, and prints the row."""
  err, wrong = error(predictions, test_labels)
  seconds = time.time() - started
  out = {
      "experiment": config.experiment, "kind": "baseline", "config": config.to_dict(),
      "status": "done", "parameters": int(model.parameters()),
      "multiply_adds": int(model.multiply_adds()), "test_images": len(test_labels),
      "train_images": train_images, "paper_test_error": paper_error,
      "validation": validation, "chosen": chosen,
      "lanes": [{"seed": config.seed, "overrides": {}, "status": "done", "final_test_error": err,
                 "passes": [{"pass": 1, "test_error": err, "test_errors": wrong}]}],
      "final_test_error": err, "total_seconds": seconds, "device": results.device(),
      "versions": results.versions(), "commit": results.commit(),
  }
  path = results.write(workdir, out)
  picked = ", ".join(f"{k}={v}" for k, v in chosen.items()) or "nothing"
  print(f"{config.experiment}: test error {err:.2f}% ({wrong}/{len(test_labels)}), paper "
        f"{paper_error}%, {seconds:.0f} s; chosen on validation: {picked}; results: {path}")
  return out

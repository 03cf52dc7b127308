"""Figure 9's linear classifier (LeCun et al. 1998, Section III.C): 12.0% test error.

The paper: each pixel contributes to a weighted sum for each output unit, and the unit with
the highest sum, a bias included, gives the class; 7,850 parameters. "Various combinations of
sigmoid units, linear units, gradient descent learning, and learning by directly solving
linear systems gave similar results." Here linear units, the linear system solved directly:
least squares to one target per class (baselines.linear_fit), on the pixels as x / 255.

  python launch.py --experiment=linear

Chosen on the validation split (fitted on the first 50,000 training images, measured on the last
10,000), then refitted on all 60,000 and measured once on the test set: the ridge (`ridges`, per
image; 0 is the pseudo-inverse) and the targets (`codings`: +1/-1 or 1/0, which give the same
classes because the bias is not penalised, so the tie goes to the first listed).
"""
import time

import ml_collections

from lenet_jax import paper
from lenet_jax import baseline_rows as rows, baselines

CHANGES = "linear classifier (least squares)"
PAPER_ROW = "linear"


def get_config():
  return ml_collections.ConfigDict({"experiment": "linear", "mnist_dir": "", "seed": 0,
                                    "ridges": baselines.RIDGES, "codings": baselines.CODINGS})


def check_config(config):
  rows.check_whole(config, "seed")
  rows.check_grid(config, "ridges")
  rows.check_grid(config, "codings", choices=baselines.CODINGS)


def evaluate(config, workdir, paper_error, transform=None):
  """The row, on the images `transform` makes of MNIST's (linear_deslant: deslanted 20x20)."""
  check_config(config)
  started = time.time()
  data = rows.splits(config.mnist_dir, transform)
  (train_x, train_y), (test_x, test_y), (fit_x, fit_y), (val_x, val_y) = data
  errors = rows.screen_least_squares(
      baselines.pixels(fit_x), fit_y, baselines.pixels(val_x), val_y,
      ridges=config.ridges, codings=config.codings)
  ridge, coding = rows.choose(errors)
  model = baselines.linear_fit(train_x, train_y, ridge=ridge, coding=coding)
  names = ("ridge", "coding")
  return rows.write_row(
      config, workdir, paper_error=paper_error, model=model,
      predictions=baselines.linear_predict(model, test_x), test_labels=test_y,
      train_images=len(train_x), started=started, chosen=dict(zip(names, (ridge, coding))),
      validation={rows.label(names, key): e for key, e in errors.items()})


def run(config, workdir):
  return evaluate(config, workdir, paper.figure9_row(PAPER_ROW)["test_error"])

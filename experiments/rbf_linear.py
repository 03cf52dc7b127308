"""Figure 9's 1000 RBF + linear (LeCun et al. 1998, Section III.C): 3.6% test error.

The paper: a first layer of 1,000 Gaussian RBF units, 10 groups of 100, each group's centres
trained by adaptive K-means on the images of one class; a second layer of 10 linear units on
the RBF outputs, trained by a regularised pseudo-inverse; widths not stated. Here
baselines.rbf_fit: Lloyd's (batch) k-means per class for `kmeans_iterations` iterations from
100 of the class's images drawn with `seed`; one width sigma for every unit, sigma^2 = width
times the mean squared distance of a training image to its class's nearest centre; the second
layer by least squares with a ridge (the regularised pseudo-inverse), pixels as x / 255;
1000 x 784 + 1 + 1001 x 10 = 794,011 parameters.

  python launch.py --experiment=rbf_linear

Chosen on the validation split (centres and second layer fitted on the first 50,000 training
images, measured on the last 10,000), then refitted on all 60,000 and measured once on the test
set: the width (`widths`), the ridge (`ridges`) and the targets (`codings`).
"""
import time

import ml_collections

from lenet_jax import paper
from lenet_jax import baseline_rows as rows, baselines

# Smaller than the pixel rows' ridges: the Gaussian units' outputs are mostly far below 1.
RIDGES = (0.0, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4)

CHANGES = "1000 RBF + linear"
PAPER_ROW = "1000 RBF + linear"


def get_config():
  return ml_collections.ConfigDict({
      "experiment": "rbf_linear", "mnist_dir": "", "seed": 0, "units": 100,
      "kmeans_iterations": 20, "widths": (0.25, 0.5, 1.0, 2.0, 4.0),
      "ridges": RIDGES, "codings": baselines.CODINGS})


def check_config(config):
  rows.check_whole(config, "seed")
  rows.check_whole(config, "units", low=1)
  rows.check_whole(config, "kmeans_iterations", low=1)
  rows.check_grid(config, "widths", positive=True)
  rows.check_grid(config, "ridges")
  rows.check_grid(config, "codings", choices=baselines.CODINGS)


def run(config, workdir):
  check_config(config)
  started = time.time()
  (train_x, train_y), (test_x, test_y), (fit_x, fit_y), (val_x, val_y) = rows.splits(
      config.mnist_dir)
  fit_f, val_f = baselines.pixels(fit_x), baselines.pixels(val_x)
  centres, spread = baselines.rbf_centres(fit_f, fit_y, units=config.units,
                                          iterations=config.kmeans_iterations, seed=config.seed)
  errors = {}
  for width in config.widths:
    screened = rows.screen_least_squares(
        baselines.rbf_features(fit_f, centres, width * spread), fit_y,
        baselines.rbf_features(val_f, centres, width * spread), val_y,
        ridges=config.ridges, codings=config.codings)
    errors.update({(width, *key): e for key, e in screened.items()})
  width, ridge, coding = rows.choose(errors)
  model = baselines.rbf_fit(train_x, train_y, units=config.units,
                            iterations=config.kmeans_iterations, width=width, ridge=ridge,
                            coding=coding, seed=config.seed)
  names = ("width", "ridge", "coding")
  return rows.write_row(
      config, workdir, paper_error=paper.figure9_row(PAPER_ROW)["test_error"], model=model,
      predictions=baselines.rbf_predict(model, test_x), test_labels=test_y,
      train_images=len(train_x), started=started, chosen=dict(zip(names, (width, ridge, coding))),
      validation={rows.label(names, key): e for key, e in errors.items()})

"""Figure 9's 40 PCA + quadratic (LeCun et al. 1998, Section III.C): 3.3% test error.

The paper: each input's mean subtracted, the covariance matrix diagonalised by SVD, the image
projected on its 40 principal components, then "a linear classifier with 821 inputs, preceded
by a module that computes all products of pairs of input variables". Here the same
(baselines.pca_quadratic_fit), the linear classifier by least squares as in
experiments/linear.py, pixels as x / 255.

  python launch.py --experiment=pca_quadratic

Chosen on the validation split (everything fitted on the first 50,000 training images, measured
on the last 10,000), then refitted on all 60,000 and measured once on the test set: which 820
features make the 821 inputs with the bias (`kinds`: cross_and_linear, the 40 components and
their 780 products of two different ones; all_pairs, the 820 products p_i p_j, i <= j), the
ridge (`ridges`) and the targets (`codings`).
"""
import time

import ml_collections

from lenet_jax import paper
from lenet_jax import baseline_rows as rows, baselines

CHANGES = "40 PCA + quadratic"
PAPER_ROW = "40 PCA + quadratic"


def get_config():
  return ml_collections.ConfigDict({
      "experiment": "pca_quadratic", "mnist_dir": "", "seed": 0, "components": 40,
      "kinds": baselines.QUADRATIC_KINDS, "ridges": baselines.RIDGES,
      "codings": baselines.CODINGS})


def check_config(config):
  rows.check_whole(config, "seed")
  rows.check_whole(config, "components", low=1)
  rows.check_grid(config, "kinds", choices=baselines.QUADRATIC_KINDS)
  rows.check_grid(config, "ridges")
  rows.check_grid(config, "codings", choices=baselines.CODINGS)


def run(config, workdir):
  check_config(config)
  started = time.time()
  (train_x, train_y), (test_x, test_y), (fit_x, fit_y), (val_x, val_y) = rows.splits(
      config.mnist_dir)
  fit_f, val_f = baselines.pixels(fit_x), baselines.pixels(val_x)
  pca = baselines.pca_fit(fit_f, config.components)
  fit_p, val_p = baselines.pca_project(pca, fit_f), baselines.pca_project(pca, val_f)
  errors = {}
  for kind in config.kinds:
    screened = rows.screen_least_squares(
        baselines.quadratic_features(fit_p, kind), fit_y,
        baselines.quadratic_features(val_p, kind), val_y,
        ridges=config.ridges, codings=config.codings)
    errors.update({(kind, *key): e for key, e in screened.items()})
  kind, ridge, coding = rows.choose(errors)
  model = baselines.pca_quadratic_fit(train_x, train_y, n=config.components, kind=kind,
                                      ridge=ridge, coding=coding)
  names = ("kind", "ridge", "coding")
  return rows.write_row(
      config, workdir, paper_error=paper.figure9_row(PAPER_ROW)["test_error"], model=model,
      predictions=baselines.pca_quadratic_predict(model, test_x), test_labels=test_y,
      train_images=len(train_x), started=started, chosen=dict(zip(names, (kind, ridge, coding))),
      validation={rows.label(names, key): e for key, e in errors.items()})

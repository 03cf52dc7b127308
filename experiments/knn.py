"""Figure 9's K-NN Euclidean (LeCun et al. 1998, Section III.C): 5.0% test error.

The paper: a K-nearest-neighbour classifier with the Euclidean distance between the pixel
images, all 60,000 training images stored; k is not stated. Here the majority class of the k
nearest training images (baselines.knn_predict), ties between classes going to the nearest
neighbour's; 60,000 x 784 stored pixels, as many multiply-adds per test image.

  python launch.py --experiment=knn

Chosen on the validation split (the first 50,000 training images stored, the last 10,000
classified), then all 60,000 stored and the test set measured once: k (`ks`).
"""
import time

import ml_collections
import numpy as np

from lenet_jax import paper
from lenet_jax import baseline_rows as rows, baselines

CHANGES = "K-NN Euclidean (k on validation)"
PAPER_ROW = "K-NN Euclidean"


def get_config():
  return ml_collections.ConfigDict({"experiment": "knn", "mnist_dir": "", "seed": 0,
                                    "ks": tuple(range(1, 11))})


def check_config(config):
  rows.check_whole(config, "seed")
  rows.check_grid(config, "ks", low=1, whole=True)


def evaluate(config, workdir, paper_error, ks, transform=None):
  """The row on the images `transform` makes of MNIST's (knn_deslant: deslanted 20x20); k from
  `ks` on the validation split, or ks itself when it holds one k (nothing to choose)."""
  started = time.time()
  data = rows.splits(config.mnist_dir, transform)
  (train_x, train_y), (test_x, test_y), (fit_x, fit_y), (val_x, val_y) = data
  errors = {}
  if len(ks) > 1:
    near = np.asarray(fit_y)[baselines.knn_neighbours(fit_x, val_x, max(ks))]
    errors = {k: rows.error(baselines.knn_vote(near[:, :k]), val_y)[0] for k in ks}
  k = rows.choose(errors) if errors else ks[0]
  return rows.write_row(
      config, workdir, paper_error=paper_error, model=baselines.KNN(train_x, train_y, k),
      predictions=baselines.knn_predict(train_x, train_y, test_x, k), test_labels=test_y,
      train_images=len(train_x), started=started, chosen={"k": k} if errors else {},
      validation={f"k={key}": e for key, e in errors.items()})


def run(config, workdir):
  check_config(config)
  return evaluate(config, workdir, paper.figure9_row(PAPER_ROW)["test_error"], tuple(config.ks))

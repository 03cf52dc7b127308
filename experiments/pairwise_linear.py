"""Figure 9's pairwise linear classifier (LeCun et al. 1998, Section III.C): 7.6% test error.

The paper: 45 units i/j, each a weighted sum of the pixels plus a bias trained to give +1 on
class i and -1 on class j, not trained on the other classes; the score of class i is the sum
of the outputs of all units i/x minus the sum of those of all units y/i, the highest wins.
Here each unit by least squares on its two classes (baselines.pairwise_fit), pixels as x / 255;
45 x 785 = 35,325 parameters. The units' outputs are not stated: linear units (their weighted
sums; the raw sums of units not trained on a class can outvote the trained ones) or threshold
units (Adalines: trained as linear units, each passing on the sign of its sum, one vote; ties in
votes broken by the linear score).

  python launch.py --experiment=pairwise_linear

Chosen on the validation split (fitted on the first 50,000 training images, measured on the last
10,000), then refitted on all 60,000 and measured once on the test set: the ridge (`ridges`, per
image, the same for every unit; 0 is the pseudo-inverse) and the units' outputs (`outputs`).
"""
import time

import ml_collections

from lenet_jax import paper
from lenet_jax import baseline_rows as rows, baselines

CHANGES = "pairwise linear (45 units)"
PAPER_ROW = "pairwise linear"


def get_config():
  return ml_collections.ConfigDict({"experiment": "pairwise_linear", "mnist_dir": "", "seed": 0,
                                    "ridges": baselines.RIDGES,
                                    "outputs": baselines.PAIRWISE_OUTPUTS})


def check_config(config):
  rows.check_whole(config, "seed")
  rows.check_grid(config, "ridges")
  rows.check_grid(config, "outputs", choices=baselines.PAIRWISE_OUTPUTS)


def run(config, workdir):
  check_config(config)
  started = time.time()
  (train_x, train_y), (test_x, test_y), (fit_x, fit_y), (val_x, val_y) = rows.splits(
      config.mnist_dir)
  per_class = baselines.class_normal_equations(baselines.pixels(fit_x), fit_y)
  val_f = baselines.pixels(val_x)
  errors = {}
  for ridge in config.ridges:
    model = baselines.pairwise_from_classes(per_class, ridge)
    sums = baselines.linear_scores(baselines.Linear(model.weights, model.bias), val_f)
    for outputs in config.outputs:
      predictions = baselines.pairwise_classes(sums, model.pairs, outputs)
      errors[(outputs, ridge)] = rows.error(predictions, val_y)[0]
  outputs, ridge = rows.choose(errors)
  model = baselines.pairwise_fit(train_x, train_y, ridge=ridge, outputs=outputs)
  names = ("outputs", "ridge")
  return rows.write_row(
      config, workdir, paper_error=paper.figure9_row(PAPER_ROW)["test_error"], model=model,
      predictions=baselines.pairwise_predict(model, test_x), test_labels=test_y,
      train_images=len(train_x), started=started, chosen=dict(zip(names, (outputs, ridge))),
      validation={rows.label(names, key): e for key, e in errors.items()})

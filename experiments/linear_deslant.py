"""Figure 9's [deslant] linear classifier (LeCun et al. 1998, Section III.C): 8.4% test error.

The paper: the linear classifier of experiments/linear.py on the deslanted 20x20 images (each
image sheared so that the principal axis of its ink is vertical), 400 inputs, 4,010
parameters. Here the same least squares (baselines.linear_fit) on
lenet_jax.versions.deslant_fit's images (the sheared ink's box scaled to 20x20, the [deslant]
rows' version: RESULTS.md), pixels as x / 255.

  python launch.py --experiment=linear_deslant

Chosen as in experiments/linear.py, on the validation split of the deslanted images: the ridge
(`ridges`) and the targets (`codings`).
"""
from experiments import linear
from lenet_jax import paper, versions

CHANGES = "[deslant] linear classifier"
PAPER_ROW = "[deslant] linear"


def get_config():
  config = linear.get_config()
  config.experiment = "linear_deslant"
  return config


def run(config, workdir):
  linear.check_config(config)
  return linear.evaluate(config, workdir, paper.figure9_row(PAPER_ROW)["test_error"],
                         transform=versions.deslant_fit)

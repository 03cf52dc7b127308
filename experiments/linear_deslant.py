"""Figure 9's [deslant] linear classifier (LeCun et al. 1998, Section III.C): 8.4% test error.

The paper: the linear classifier of experiments/linear.py on the deslanted 20x20 images (each
image sheared so that the principal axis of its ink is vertical, then cropped), 400 inputs,
4,010 parameters. Here the same least squares (baselines.linear_fit) on
lenet_jax.versions.deslant's images, pixels as x / 255.

  python launch.py --experiment=linear_deslant

Chosen as in experiments/linear.py, on the validation split of the deslanted images: the ridge
(`ridges`) and the targets (`codings`).
"""
from experiments import linear

PAPER_TEST_ERROR = 8.4


def get_config():
  config = linear.get_config()
  config.experiment = "linear_deslant"
  return config


def run(config, workdir):
  linear.check_config(config)
  from lenet_jax import versions   # after the config is checked: a bad value fails first
  return linear.evaluate(config, workdir, PAPER_TEST_ERROR, transform=versions.deslant)

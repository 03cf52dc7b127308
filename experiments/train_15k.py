"""c3_partial trained on the first 15,000 training images instead of all 60,000 (20 passes over
those). Paper: Figure 6 plots the training and test error of LeNet-5 trained on 15,000, 30,000
and 60,000 examples; the test error falls with more data and the gap between training and test
error narrows. The figure's values are not stated numerically here, so there is no paper number
to compare against.

  python launch.py --experiment=train_15k --mnist_dir=../shared/data/mnist
  python launch.py --experiment=train_15k --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "train_15k"
  c.train_size = 15000
  return c

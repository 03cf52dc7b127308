"""c3_partial with S2 and S4 as 2x2 max pooling (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling (coefficient x sum of the window + bias, then the
squashing function). Tests whether the paper's trainable subsampling matters against the
pooling later networks use.

  python launch.py --experiment=pool_max --mnist_dir=../shared/data/mnist
  python launch.py --experiment=pool_max --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "pool_max"
  c.pooling = "max"
  return c

"""c3_partial with S2 and S4 as plain 2x2 averages (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling. The paper's claim: each subsampling map has a
trainable coefficient and bias followed by the squashing function, so that it can act as a
near-linear blur or, with a large coefficient, as a noisy OR / AND.

  python launch.py --experiment=pool_avg --mnist_dir=../shared/data/mnist
  python launch.py --experiment=pool_avg --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "pool_avg"
  c.pooling = "avg"
  return c

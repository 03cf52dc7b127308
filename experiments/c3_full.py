"""c3_partial with every S2 map connected to every C3 map (2,416 C3 parameters instead of 1,516).
Paper's claim: partial connectivity keeps the number of connections down and breaks symmetry.

  python launch.py --experiment=c3_full --mnist_dir=../shared/data/mnist

Result: see README (measured, not yet filled in).
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "c3_full"
  c.c3 = "full"
  return c

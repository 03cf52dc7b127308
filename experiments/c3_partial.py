"""LeNet-5 as published (LeCun et al. 1998): partial C3 (Table I), trainable subsampling, scaled
tanh, RBF output with the 7x12 bitmaps, MAP loss (Eq. 9), SDLM, batch size 1, 20 passes.

  python launch.py --experiment=c3_partial --mnist_dir=../shared/data/mnist

Paper: 0.95% test error. Result: see README (measured, not yet filled in).
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "c3_partial"
  return c

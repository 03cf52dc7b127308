"""c3_partial with random +-1 codes (seeded by prototype_seed) as the RBF output's fixed centres
instead of the stylised 7x12 bitmaps. The paper's claim: the codes could have been random +-1
(or an error-correcting code); the bitmaps were chosen so that confusable characters get
similar codes, which matters for the full ASCII set rather than for ten digits.

  python launch.py --experiment=out_rbf_random --mnist_dir=../shared/data/mnist
  python launch.py --experiment=out_rbf_random --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "out_rbf_random"
  c.output = "rbf_random"
  return c

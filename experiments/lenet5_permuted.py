"""LeNet-5 (the headline recipe, c3_partial) on images whose 784 pixels are put in one fixed
random order, the same for training and test images (lenet_jax/versions.py, permutation seed 0),
then padded to 32x32 as usual. The study note's claim (section 1.1): convolution assumes that
neighbouring pixels belong together; with the neighbourhoods destroyed, LeNet-5 should lose its
advantage and do worse than on the real images, and than a fully connected net does on either.

  python launch.py --experiment=lenet5_permuted
  python launch.py --experiment=lenet5_permuted --seeds=5

Measured: the README's study-note table, generated from
results/figure9/lenet5_permuted/results.json.
"""
from lenet_jax.config import paper_config

CHANGES = "LeNet-5 on permuted pixels"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "lenet5_permuted"
  c.pixels = "permuted"
  c.permutation_seed = 0
  return c

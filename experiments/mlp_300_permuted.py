"""28x28-300-10 (mlp_300) on images whose 784 pixels are put in one fixed random order, the same
for the training and the test images (lenet_jax/versions.py, permutation seed 0). The study
note's claim (section 1.1): a fully connected net ignores where pixels are, so permuting them
changes nothing: this should equal mlp_300 up to the seeds' spread (its inputs are a fixed
relabelling of the same inputs; only the initial weights' pairing with pixels differs).

  python launch.py --experiment=mlp_300_permuted
  python launch.py --experiment=mlp_300_permuted --seeds=5

Measured: the README's study-note table, generated from
results/figure9/mlp_300_permuted/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "28x28-300-10 on permuted pixels"
PAPER_ROW = None


def get_config():
  c = figure9_config("mlp_300_permuted", "mlp", hidden=(300,))
  c.pixels = "permuted"
  c.permutation_seed = 0
  return c

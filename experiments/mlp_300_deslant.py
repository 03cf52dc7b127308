"""[deslant] 20x20-300-10 (Figure 9: 1.6% test error): one hidden layer of 300 units on the
deslanted 20x20 images (lenet_jax/versions.py, deslant_fit: the paper's shear to a vertical
principal axis, then the ink's box scaled to fill 20x20, chosen on the validation split over a
20x20 crop: RESULTS.md), 123,310 parameters. The paper's claim: deslanting, a piece of built-in
knowledge, takes the same net from 4.7% to 1.6%.

Trained as lenet_jax.config.figure9_config says: SDLM at the paper's mu 0.02, ten squashed
outputs, squared error to +-1 targets, 20 passes, batch 1.

  python launch.py --experiment=mlp_300_deslant
  python launch.py --experiment=mlp_300_deslant --seeds=5

Measured: the README's Figure 9 table, generated from
results/figure9/mlp_300_deslant/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "[deslant] 20x20-300-10"
PAPER_ROW = "[deslant] 20x20-300-10"


def get_config():
  return figure9_config("mlp_300_deslant", "mlp", hidden=(300,), input_version="deslant_fit")

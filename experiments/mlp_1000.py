"""28x28-1000-10 (Figure 9: 4.5% test error): one hidden layer of 1,000 squashed units, 795,010
parameters. The paper's claim: more hidden units help little (4.5% against 300 units' 4.7%).

Trained as lenet_jax.config.figure9_config says: SDLM at the paper's mu 0.02, ten squashed
outputs, squared error to +-1 targets, 20 passes, batch 1.

  python launch.py --experiment=mlp_1000
  python launch.py --experiment=mlp_1000 --seeds=5

Measured: the README's Figure 9 table, generated from
results/figure9/mlp_1000/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "28x28-1000-10"
PAPER_ROW = "28x28-1000-10"


def get_config():
  return figure9_config("mlp_1000", "mlp", hidden=(1000,))

"""28x28-500-150-10 (Figure 9: 2.95% test error): two hidden layers of 500 and 150 squashed units,
469,160 parameters. The paper's text says 1000-150, its Figures 9, 11 and 12 say 500-150, and
their 469K parameters are exactly 784-500-150-10's (1000-150 would have 936,660): the network
was 500-150. The paper: 2.95%.

Trained as lenet_jax.config.figure9_config says: SDLM at the paper's mu 0.02, ten squashed
outputs, squared error to +-1 targets, 20 passes, batch 1.

  python launch.py --experiment=mlp_500_150
  python launch.py --experiment=mlp_500_150 --seeds=5

Measured: the README's Figure 9 table, generated from
results/figure9/mlp_500_150/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "28x28-500-150-10"
PAPER_ROW = "28x28-500-150-10"


def get_config():
  return figure9_config("mlp_500_150", "mlp", hidden=(500, 150))

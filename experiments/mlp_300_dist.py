"""[dist] 28x28-300-10 (Figure 9: 3.6% test error): 28x28-300-10 trained on randomly distorted
images (lenet_jax/distort.py, as the `distortions` experiment). The paper's claim: distortions
'brought only marginal improvement' to the fully connected nets (4.7% to 3.6%).

Trained as lenet_jax.config.figure9_config says: SDLM at mu 0.05 (config.DIST_MU: the paper's
0.02 broke these nets under distortions, on validation), ten squashed
outputs, squared error to +-1 targets, 20 passes, batch 1.

  python launch.py --experiment=mlp_300_dist
  python launch.py --experiment=mlp_300_dist --seeds=5

Measured: the README's Figure 9 table, generated from
results/figure9/mlp_300_dist/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "[dist] 28x28-300-10"
PAPER_ROW = "[dist] 28x28-300-10"


def get_config():
  return figure9_config("mlp_300_dist", "mlp", hidden=(300,), distort=True)

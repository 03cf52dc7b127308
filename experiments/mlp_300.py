"""28x28-300-10 (Figure 9: 4.7% test error): one hidden layer of 300 squashed units between the 784
pixels and 10 squashed outputs, 238,510 parameters. The paper's claim: a fully connected net,
which knows nothing of the image's two dimensions, reaches 4.7%, five times LeNet-5's error.

Trained as lenet_jax.config.figure9_config says: SDLM at the paper's mu 0.02, ten squashed
outputs, squared error to +-1 targets, 20 passes, batch 1.

  python launch.py --experiment=mlp_300
  python launch.py --experiment=mlp_300 --seeds=5

Measured: the README's Figure 9 table, generated from
results/figure9/mlp_300/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "28x28-300-10"
PAPER_ROW = "28x28-300-10"


def get_config():
  return figure9_config("mlp_300", "mlp", hidden=(300,))

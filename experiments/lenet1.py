"""[16x16] LeNet-1 (Figure 9: 1.7% test error): the 1990 convolutional network on digits reduced
to 16x16 and centred in a 28x28 field (lenet_jax/versions.py): 4 maps of 5x5 kernels, 4 trainable
2x2 subsampling maps, 12 maps of 5x5 kernels reading 20 of the 48 possible H2 maps
(tables.LENET1_H3), 12 subsampling maps, 10 squashed outputs. 2,578 parameters, 98,442
connections and 4,635 units, the published counts exactly (tests/test_networks.py). The paper's
claim: a convolutional net of 2,600 parameters beats every fully connected net of Figure 9.

Assumed where the paper is silent: which H3 maps read one H2 map (the first two of each half);
the 16x16 reduction (versions.reduce16); the training of lenet_jax.config.figure9_config (SDLM
at mu 0.02, squared error to +-1 targets, 20 passes).

  python launch.py --experiment=lenet1
  python launch.py --experiment=lenet1 --seeds=5

Measured: the README's Figure 9 table, generated from results/figure9/lenet1/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "[16x16] LeNet-1"
PAPER_ROW = "[16x16] LeNet-1"


def get_config():
  return figure9_config("lenet1", "lenet1", input_version="16x16")

"""LeNet-4 (Figure 9: 1.1% test error): on the 32x32 field, 4 maps of 5x5 kernels, 8 trainable
subsampling maps connected in pairs to each of them, 16 maps of 5x5 kernels, 16 subsampling
maps, a layer of 120 units, 10 squashed outputs.

Assumed (the paper gives the layers and two counts, "about 17,000 free parameters" and "about
260,000 connections", which the plain reading misses: a 120-unit layer fully connected to
16 maps of 5x5 alone has 48,120 weights): C3 and the 120-unit layer are sparse. C3 map j reads 4
consecutive S2 maps from 2j mod 8 (3 for j >= 12), 60 of 128 kernels; unit u of the 120 reads
5 consecutive S4 maps from u mod 16 (4 for u >= 80), 560 of 1,920 (tables.LENET4_*). That
gives 16,998 parameters and 258,306 connections. Trained as lenet_jax.config.figure9_config
(SDLM at mu 0.02, squared error to +-1 targets, 20 passes).

  python launch.py --experiment=lenet4
  python launch.py --experiment=lenet4 --seeds=5

Measured: the README's Figure 9 table, generated from results/figure9/lenet4/results.json.
"""
from lenet_jax.config import figure9_config

CHANGES = "LeNet-4 (sparse C3 and F5, chosen)"
PAPER_ROW = "LeNet-4"


def get_config():
  return figure9_config("lenet4", "lenet4")

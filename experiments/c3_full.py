"""c3_partial with every S2 map connected to every C3 map (2,416 C3 parameters instead of 1,516;
60,900 in all). The paper's claim: partial connectivity keeps the number of connections down
and breaks symmetry, so that maps learn different features.

  python launch.py --experiment=c3_full --mnist_dir=../shared/data/mnist

Measured (2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-27, seed 0, 20 passes): 1.26% test error
(training 0.44%), 21.3 min sharing the CPU with other runs; c3_partial seed 0: 1.08%. One seed
each: the seed-to-seed spread of c3_partial (1.08% to 1.26%) is as large as the difference.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "c3_full"
  c.c3 = "full"
  return c

"""c3_partial with every S2 map connected to every C3 map (2,416 C3 parameters instead of 1,516;
60,900 in all). The paper's claim: partial connectivity keeps the number of connections down
and breaks symmetry, so that maps learn different features.

  python launch.py --experiment=c3_full --mnist_dir=../shared/data/mnist

Measured (2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-27, commit 80fd5ef, seed 0, 20 passes):
1.06% test error (106 errors; training 0.38%), 22.7 min sharing the CPU with three other runs;
c3_partial on seeds 0-2: 1.00%, 1.06%, 1.10%. At one seed the difference is inside the
seed-to-seed spread. (With the earlier mu = 0.1: 1.26%, c3_partial seed 0 1.08%.)

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 1.04 ± 0.10%
over 5 seeds (min 0.88, max 1.14), training error 0.39%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/)
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "c3_full"
  c.c3 = "full"
  return c

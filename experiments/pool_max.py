"""c3_partial with S2 and S4 as 2x2 max pooling (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling (coefficient x sum of the window + bias, then the
squashing function). Tests whether the paper's trainable subsampling matters against the
pooling later networks use.

  python launch.py --experiment=pool_max --mnist_dir=../shared/data/mnist
  python launch.py --experiment=pool_max --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 1.03 ± 0.10%
over 5 seeds (min 0.91, max 1.12), training error 0.26%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/)
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "pool_max"
  c.pooling = "max"
  return c

"""c3_partial with S2 and S4 as plain 2x2 averages (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling. The paper's claim: each subsampling map has a
trainable coefficient and bias followed by the squashing function, so that it can act as a
near-linear blur or, with a large coefficient, as a noisy OR / AND.

  python launch.py --experiment=pool_avg --mnist_dir=../shared/data/mnist
  python launch.py --experiment=pool_avg --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 0.82 ± 0.09%
over 5 seeds (min 0.72, max 0.92), training error 0.36%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/)
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "pool_avg"
  c.pooling = "avg"
  return c

"""c3_partial with Flax's default initialisation (LeCun-normal kernels, zero biases) instead of
the paper's uniform [-2.4/F, +2.4/F] with F the fan-in. The paper's claim (Appendix A): dividing
by the fan-in keeps the initial spread of every unit's weighted sum in the same range, within
the squashing function's normal operating region (neither saturated nor too small).

  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist
  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 1.04 ± 0.06%
over 5 seeds (min 0.99, max 1.13), training error 0.40%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/)
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "init_default"
  c.init = "flax_default"
  return c

"""c3_partial trained with the maximum-likelihood loss (Eq. 8: the RBF distance to the correct
class only) instead of the MAP loss (Eq. 9). The paper's claim: with fixed RBF centres Eq. 8
is adequate, but Eq. 9's competition term pushes the wrong classes' penalties up and its
e^-j "rubbish class" prevents collapse, and it is what LeNet-5 was trained with.

  python launch.py --experiment=loss_mle --mnist_dir=../shared/data/mnist
  python launch.py --experiment=loss_mle --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 1.07 ± 0.05%
over 5 seeds (min 1.03, max 1.15), training error 0.46%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/)
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "loss_mle"
  c.loss = "mle"
  return c

"""c3_partial trained with the maximum-likelihood loss (Eq. 8: the RBF distance to the correct
class only) instead of the MAP loss (Eq. 9). The paper's claim: with fixed RBF centres Eq. 8
is adequate, but Eq. 9's competition term pushes the wrong classes' penalties up and its
e^-j "rubbish class" prevents collapse, and it is what LeNet-5 was trained with.

  python launch.py --experiment=loss_mle --mnist_dir=../shared/data/mnist
  python launch.py --experiment=loss_mle --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.11 ± 0.07% over 5 seeds (min 1.05, max 1.21),
training error 0.45%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
1.07 ± 0.05% against 1.05 ± 0.05%.
"""
from lenet_jax.config import paper_config

CHANGES = "MLE loss, Eq. 8 (not MAP, Eq. 9)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "loss_mle"
  c.loss = "mle"
  return c

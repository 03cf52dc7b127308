"""c3_partial trained with the maximum-likelihood loss (Eq. 8: the RBF distance to the correct
class only) instead of the MAP loss (Eq. 9). The paper's claim: with fixed RBF centres Eq. 8
is adequate, but Eq. 9's competition term pushes the wrong classes' penalties up and its
e^-j "rubbish class" prevents collapse, and it is what LeNet-5 was trained with.

  python launch.py --experiment=loss_mle
  python launch.py --experiment=loss_mle --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/loss_mle/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/loss_mle.json.
"""
from lenet_jax.config import paper_config

CHANGES = "MLE loss, Eq. 8 (not MAP, Eq. 9)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "loss_mle"
  c.loss = "mle"
  return c

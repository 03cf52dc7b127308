"""c3_partial with a trainable linear (dense, 84 -> 10) output and softmax cross-entropy instead
of the fixed Euclidean RBF output with the MAP loss: the output of most later LeNet-5
implementations. The output and the loss change together because the MAP and MLE losses are
defined on RBF distances and cross-entropy on logits. The paper's claim: the RBF output with
distributed codes and the MAP loss (Eq. 9) make classes compete without collapsing.

  python launch.py --experiment=out_linear
  python launch.py --experiment=out_linear --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/out_linear/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/out_linear.json.
"""
from lenet_jax.config import paper_config

CHANGES = "linear output + cross-entropy (not RBF + MAP)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "out_linear"
  c.output = "linear"
  c.loss = "cross_entropy"
  return c

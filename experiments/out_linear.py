"""c3_partial with a trainable linear (dense, 84 -> 10) output and softmax cross-entropy instead
of the fixed Euclidean RBF output with the MAP loss: the output of most later LeNet-5
implementations. The output and the loss change together because the MAP and MLE losses are
defined on RBF distances and cross-entropy on logits. The paper's claim: the RBF output with
distributed codes and the MAP loss (Eq. 9) make classes compete without collapsing.

  python launch.py --experiment=out_linear --mnist_dir=../shared/data/mnist
  python launch.py --experiment=out_linear --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.08 ± 0.12% over 5 seeds (min 0.93, max 1.26),
training error 0.22%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
1.17 ± 0.15% against 1.05 ± 0.05%.
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

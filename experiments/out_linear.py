"""c3_partial with a trainable linear (dense, 84 -> 10) output and softmax cross-entropy instead
of the fixed Euclidean RBF output with the MAP loss: the output of most later LeNet-5
implementations. The output and the loss change together because the MAP and MLE losses are
defined on RBF distances and cross-entropy on logits. The paper's claim: the RBF output with
distributed codes and the MAP loss (Eq. 9) make classes compete without collapsing.

  python launch.py --experiment=out_linear --mnist_dir=../shared/data/mnist
  python launch.py --experiment=out_linear --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "out_linear"
  c.output = "linear"
  c.loss = "cross_entropy"
  return c

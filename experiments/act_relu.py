"""c3_partial with ReLU max(0, a) in place of the paper's scaled tanh f(a) = 1.7159 tanh(2a/3)
(Appendix A: a symmetric squashing function with f(+-1) = +-1). Every other choice, the RBF
output and SDLM among them, stays the paper's; ReLU is unbounded, so the F6 outputs are no
longer kept in [-1.7159, 1.7159] around the +-1 codes.

  python launch.py --experiment=act_relu --mnist_dir=../shared/data/mnist
  python launch.py --experiment=act_relu --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "act_relu"
  c.activation = "relu"
  return c

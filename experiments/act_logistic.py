"""c3_partial with the logistic function 1/(1+e^-a) in place of the paper's scaled tanh
f(a) = 1.7159 tanh(2a/3). The paper's claim (Appendix A): symmetric squashing functions give
faster convergence, and with A and S so chosen f(+-1) = +-1 keeps units in their
near-linear range; the logistic function is not symmetric about zero.

  python launch.py --experiment=act_logistic --mnist_dir=../shared/data/mnist
  python launch.py --experiment=act_logistic --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "act_logistic"
  c.activation = "logistic"
  return c

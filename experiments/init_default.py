"""c3_partial with Flax's default initialisation (LeCun-normal kernels, zero biases) instead of
the paper's uniform [-2.4/F, +2.4/F] with F the fan-in. The paper's claim (Appendix A): dividing
by the fan-in keeps the initial spread of every unit's weighted sum in the same range, within
the squashing function's normal operating region (neither saturated nor too small).

  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist
  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "init_default"
  c.init = "flax_default"
  return c

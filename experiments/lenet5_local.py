"""LeNet-5 with C1 and C3 locally connected: the same receptive fields and connections (Table I)
as LeNet-5, but separate weights and biases at every position (ops.local2d), 332,232 parameters
against 60,000. Everything else is the headline recipe (c3_partial). The study note's claim
(section 1.6): weight sharing, not local connection alone, is what makes convolution work with
few parameters; the unshared net has as many connections and 5.5 times the parameters, and
should do no better than LeNet-5, while beating the fully connected nets (local connection).

  python launch.py --experiment=lenet5_local
  python launch.py --experiment=lenet5_local --seeds=5

Measured: the README's study-note table, generated from
results/figure9/lenet5_local/results.json.
"""
from lenet_jax.config import paper_config

CHANGES = "C1 and C3 locally connected (unshared)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "lenet5_local"
  c.network = "lenet5_local"
  return c

"""The paper's text taken literally: initialisation uniform in +-2.4/F and SDLM unchanged
(mu 0.02, h before each pass only). Expected to saturate: at this initialisation 84% of the
parameters get h < 0.011, so their rates eta/(mu + h) exceed the paper's stated 0.016, and the
network saturates within the first pass (../shared/reference/sdlm-init-evidence.md). Kept as
evidence of that inconsistency in the paper; its results are the measurement, not a tool error.

  python launch.py --experiment=init_paper_text --mnist_dir=../shared/data/mnist

Measured: see RESULTS.md, "Which reading of the paper is LeNet-5".
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "init_paper_text"
  c.init = "fan_in"
  c.sdlm_mu = 0.02
  c.sdlm_first_pass_refresh = False
  c.sdlm_output_curvature = "exact"
  c.sdlm_subsample_curvature = "per_connection"
  c.expect_stall = True   # saturating is the measured result (exit 0)
  return c

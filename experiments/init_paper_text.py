"""The paper's text taken literally: initialisation uniform in +-2.4/F and SDLM unchanged
(mu 0.02, h before each pass only). Expected to saturate: at this initialisation 84% of the
parameters get h < 0.011, so their rates eta/(mu + h) exceed the paper's stated 0.016, and the
network saturates within the first pass (RESULTS.md, "Where this differs from the paper"). Kept as
evidence of that inconsistency in the paper; its results are the measurement, not a tool error.

  python launch.py --experiment=init_paper_text

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/init_paper_text/results.json (`launch.py --sweep=paper_ablations
--seeds=5 --sweep_workers=2 --set=train_eval=last_pass`), and
RESULTS.md's SDLM verdict table (results/sdlm_verdict/init_paper_text/results.json, stopped
after a few passes). The seeds stall at chance within pass 1 or diverge in it (C1's weights grow
without bound); pass 1's rates reach the cap eta/mu = 0.025, with a small share of the
parameters inside the paper's 7e-5..0.016. That is the measurement of the paper's
inconsistency, as expected, not a tool error (exit status 0).
"""
from lenet_jax.config import paper_config

CHANGES = "+-2.4/F init with the paper's SDLM (saturates)"
PAPER_ROW = "LeNet-5"


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

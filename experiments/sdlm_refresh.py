"""lenet_jax's first recipe, kept reproducible: the paper's text everywhere (initialisation
uniform in +-2.4/F included) except two SDLM settings: mu 0.25 (chosen on the validation split,
results/screen_mu*_val10k*.json) and h re-estimated after 1, 2, 4, 8, ... steps of pass 1 (17
more estimates), without which the paper's mu = 0.02 saturates at this initialisation.

  python launch.py --experiment=sdlm_refresh --seeds=5

Measured: the README's SDLM verdict table, generated from
results/sdlm_verdict/sdlm_refresh/results.json; on earlier code, as c3_partial, RESULTS.md's
earlier-recipe ablation table (results/sweep_paper_ablations/c3_partial.json): the two differ
by float rounding.
"""
from lenet_jax.config import paper_config

CHANGES = "+-2.4/F, mu 0.25, h refreshed 17 more times in pass 1"
PAPER_ROW = "LeNet-5"


def get_config():
  c = paper_config()
  c.experiment = "sdlm_refresh"
  c.init = "fan_in"
  c.sdlm_mu = 0.25
  c.sdlm_first_pass_refresh = True
  c.sdlm_output_curvature = "exact"
  c.sdlm_subsample_curvature = "per_connection"
  return c

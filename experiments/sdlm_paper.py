"""The paper's SDLM unchanged (Appendix C: mu 0.02, h estimated on 500 patterns before each pass
and held fixed, the paper's eta schedule, batch 1) with the initialisation of the authors' own
LeNet-5 code: weights uniform in +-1/sqrt(F), biases 0, subsampling coefficients 0.5 (Lush,
glycerine/lush2 lush2/packages/gblearn2/demos/lenet5.lsh). The claim: the paper's four SDLM
statements cannot all hold under its written +-2.4/F initialisation
(RESULTS.md, "Where this differs from the paper"), and with the authors' initialisation they do: the
first-pass effective rates fall in the paper's 7e-5..0.016 and mu = 0.02 trains.

  python launch.py --experiment=sdlm_paper
  python launch.py --sweep=sdlm_verdict --seeds=5

Measured: the README's SDLM verdict table, generated from
results/sdlm_verdict/sdlm_paper/results.json (the second command): pass 1 trains, its rates
inside the paper's range, but from pass 2 on h falls below mu in about half the parameters,
their rates hit eta/mu = 0.025 and most seeds blow up. The first command (seed 0 alone)
diverges in pass 2 and stops with that error: at mu = 0.02 float rounding decides which seeds
blow up.
"""
from lenet_jax.config import paper_config

CHANGES = "the paper's SDLM, the authors' init (+-1/sqrt(F))"
PAPER_ROW = "LeNet-5"


def get_config():
  c = paper_config()
  c.experiment = "sdlm_paper"
  c.init = "lush"
  c.init_scale = 1.0
  c.sdlm_mu = 0.02
  c.sdlm_first_pass_refresh = False
  c.sdlm_output_curvature = "exact"
  c.sdlm_subsample_curvature = "per_connection"
  return c

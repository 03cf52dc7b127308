"""sdlm_paper with h estimated once, before pass 1, and kept for all 20 passes, as the authors'
own LeNet-5 demo does (Lush, glycerine/lush2 lush2/packages/gblearn2/demos/lenet5.lsh:
compute-diaghessian once before training) where the paper re-estimates it before each pass.
Everything else is the paper's SDLM: mu 0.02, 500 patterns, the eta schedule, batch 1. The
claim: mu = 0.02 blows up in sdlm_paper because h, re-estimated on the trained network, falls
below mu from pass 2 on; the estimate at initialisation is larger everywhere and keeps the
rates at or below their first-pass values.

  python launch.py --experiment=sdlm_paper_once
  python launch.py --experiment=sdlm_paper_once --seeds=5

Measured: the README's SDLM verdict table, generated from
results/sdlm_verdict/sdlm_paper_once/results.json (the second command): every seed trains, but
the mean ends above c3_partial's by more than its standard error.
"""
from experiments import sdlm_paper

CHANGES = "sdlm_paper with h estimated once (authors' demo)"
PAPER_ROW = "LeNet-5"


def get_config():
  c = sdlm_paper.get_config()
  c.experiment = "sdlm_paper_once"
  c.sdlm_hessian = "once"
  return c

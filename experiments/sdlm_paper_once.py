"""sdlm_paper with h estimated once, before pass 1, and kept for all 20 passes, as the authors'
own LeNet-5 demo does (Lush, glycerine/lush2 lush2/packages/gblearn2/demos/lenet5.lsh:
compute-diaghessian once before training) where the paper re-estimates it before each pass.
Everything else is the paper's SDLM: mu 0.02, 500 patterns, the eta schedule, batch 1. The
claim: mu = 0.02 blows up in sdlm_paper because h, re-estimated on the trained network, falls
below mu from pass 2 on; the estimate at initialisation is larger everywhere and keeps the
rates at or below their first-pass values.

  python launch.py --experiment=sdlm_paper_once --mnist_dir=../shared/data/mnist
  python launch.py --experiment=sdlm_paper_once --mnist_dir=../shared/data/mnist --seeds=5

Measured: see RESULTS.md, "Which reading of the paper is LeNet-5".
"""
from experiments import sdlm_paper


def get_config():
  c = sdlm_paper.get_config()
  c.experiment = "sdlm_paper_once"
  c.sdlm_hessian = "once"
  return c

"""SDLM as the authors' own LeNet-5 demo runs it (Lush, glycerine/lush2
lush2/packages/gblearn2/demos/lenet5.lsh with gb-trainers.lsh): h estimated once, on 100
patterns, before training (`compute-diaghessian trainingdb 100 0.02`), mu 0.02, and a constant
eta of 0.0001 (`train trainingdb trainmeter 0.0001 0`), with their initialisation. The paper
instead re-estimates h on 500 patterns before each pass and starts eta at 0.0005. The
architecture, RBF output and MAP loss stay the paper's (the demo has neither). The claim: the
authors' code keeps the paper's mu = 0.02 stable, and trains as well as c3_partial's mu = 0.25.

  python launch.py --experiment=sdlm_lush_demo
  python launch.py --experiment=sdlm_lush_demo --seeds=5

Measured: the README's SDLM verdict table, generated from
results/sdlm_verdict/sdlm_lush_demo/results.json (the second command): every seed trains, and
the mean comes within one standard error of c3_partial's.
"""
from experiments import sdlm_paper_once

CHANGES = "the authors' demo's SDLM: h once on 100, eta 1e-4"
PAPER_ROW = "LeNet-5"


def get_config():
  c = sdlm_paper_once.get_config()
  c.experiment = "sdlm_lush_demo"
  c.sdlm_samples = 100
  c.sdlm_etas = (0.0001,)
  c.sdlm_eta_passes = ()
  return c

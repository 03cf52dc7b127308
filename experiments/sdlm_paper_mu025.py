"""sdlm_paper with mu 0.25 (the value lenet_jax's earlier recipe chose on the validation split)
instead of the paper's 0.02: separates the effect of the authors' initialisation from that of
mu when set beside sdlm_paper and sdlm_refresh.

  python launch.py --experiment=sdlm_paper_mu025
  python launch.py --sweep=sdlm_verdict --seeds=5

This is c3_partial's config under another name (kept so the verdict reads as run).
Measured: the README's SDLM verdict table, generated from
results/sdlm_verdict/sdlm_paper_mu025/results.json.
"""
from experiments import sdlm_paper

CHANGES = "sdlm_paper with mu 0.25 (not 0.02)"
PAPER_ROW = "LeNet-5"


def get_config():
  c = sdlm_paper.get_config()
  c.experiment = "sdlm_paper_mu025"
  c.sdlm_mu = 0.25
  return c

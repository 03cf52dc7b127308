"""c3_partial with ReLU max(0, a) in place of the paper's scaled tanh f(a) = 1.7159 tanh(2a/3)
(Appendix A: a symmetric squashing function with f(+-1) = +-1). Every other choice, the RBF
output and SDLM among them, stays the paper's; ReLU is unbounded, so the F6 outputs are no
longer kept in [-1.7159, 1.7159] around the +-1 codes.

  python launch.py --experiment=act_relu
  python launch.py --experiment=act_relu --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/act_relu/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/act_relu.json. Under the earlier recipe's +-2.4/F initialisation the
seeds split (two stalled); with the authors' initialisation every seed trains, and ReLU gives the
sweep's lowest mean, suggestively below c3_partial by RESULTS.md's rule (z between 2 and 3).
"""
from lenet_jax.config import paper_config

CHANGES = "ReLU activation (not scaled tanh)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "act_relu"
  c.activation = "relu"
  return c

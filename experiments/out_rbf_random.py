"""c3_partial with random +-1 codes (seeded by prototype_seed) as the RBF output's fixed centres
instead of the stylised 7x12 bitmaps. The paper's claim: the codes could have been random +-1
(or an error-correcting code); the bitmaps were chosen so that confusable characters get
similar codes, which matters for the full ASCII set rather than for ten digits.

  python launch.py --experiment=out_rbf_random
  python launch.py --experiment=out_rbf_random --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/out_rbf_random/results.json (`launch.py --sweep=paper_ablations
--seeds=5 --sweep_workers=2 --set=train_eval=last_pass`); the
earlier recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/out_rbf_random.json.
"""
from lenet_jax.config import paper_config

CHANGES = "random +-1 RBF codes (not 7x12 bitmaps)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "out_rbf_random"
  c.output = "rbf_random"
  return c

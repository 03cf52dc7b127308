"""c3_partial with every S2 map connected to every C3 map (2,416 C3 parameters instead of 1,516;
60,900 in all). The paper's claim: partial connectivity keeps the number of connections down
and breaks symmetry, so that maps learn different features.

  python launch.py --experiment=c3_full

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/c3_full/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/c3_full.json.
"""
from lenet_jax.config import paper_config

CHANGES = "C3 fully connected to S2 (not Table I)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "c3_full"
  c.c3 = "full"
  return c

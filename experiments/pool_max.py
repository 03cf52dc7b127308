"""c3_partial with S2 and S4 as 2x2 max pooling (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling (coefficient x sum of the window + bias, then the
squashing function). Tests whether the paper's trainable subsampling matters against the
pooling later networks use.

  python launch.py --experiment=pool_max
  python launch.py --experiment=pool_max --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/pool_max/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/pool_max.json.
"""
from lenet_jax.config import paper_config

CHANGES = "2x2 max pooling (not trainable subsampling)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "pool_max"
  c.pooling = "max"
  return c

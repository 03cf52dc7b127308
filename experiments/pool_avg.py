"""c3_partial with S2 and S4 as plain 2x2 averages (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling. The paper's claim: each subsampling map has a
trainable coefficient and bias followed by the squashing function, so that it can act as a
near-linear blur or, with a large coefficient, as a noisy OR / AND.

  python launch.py --experiment=pool_avg
  python launch.py --experiment=pool_avg --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/pool_avg/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/pool_avg.json.
"""
from lenet_jax.config import paper_config

CHANGES = "2x2 average pooling (not trainable subsampling)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "pool_avg"
  c.pooling = "avg"
  return c

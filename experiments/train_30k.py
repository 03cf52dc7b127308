"""c3_partial trained on the first 30,000 training images instead of all 60,000 (20 passes over
those). Paper: Figure 6 plots the training and test error of LeNet-5 trained on 15,000, 30,000
and 60,000 examples; the test error falls with more data and the gap between training and test
error narrows. The figure's values are not stated numerically here, so there is no paper number
to compare against.

  python launch.py --experiment=train_30k
  python launch.py --experiment=train_30k --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/train_30k/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/train_30k.json. Also RESULTS.md's Figure 6 table
(results/sweep_figure6/summary.json).
"""
from lenet_jax.config import paper_config

CHANGES = "30,000 training images (not 60,000)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "train_30k"
  c.train_size = 30000
  return c

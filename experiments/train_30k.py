"""c3_partial trained on the first 30,000 training images instead of all 60,000 (20 passes over
those). Paper: Figure 6 plots the training and test error of LeNet-5 trained on 15,000, 30,000
and 60,000 examples; the test error falls with more data and the gap between training and test
error narrows. The figure's values are not stated numerically here, so there is no paper number
to compare against.

  python launch.py --experiment=train_30k --mnist_dir=../shared/data/mnist
  python launch.py --experiment=train_30k --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.19 ± 0.06% over 5 seeds (min 1.12, max 1.26),
training error 0.33%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
1.30 ± 0.08% against 1.05 ± 0.05%.
"""
from lenet_jax.config import paper_config

CHANGES = "30,000 training images (not 60,000)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "train_30k"
  c.train_size = 30000
  return c

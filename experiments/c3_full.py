"""c3_partial with every S2 map connected to every C3 map (2,416 C3 parameters instead of 1,516;
60,900 in all). The paper's claim: partial connectivity keeps the number of connections down
and breaks symmetry, so that maps learn different features.

  python launch.py --experiment=c3_full --mnist_dir=../shared/data/mnist

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.06 ± 0.07% over 5 seeds (min 0.97, max 1.14),
training error 0.38%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
1.04 ± 0.10% against 1.05 ± 0.05%.
"""
from lenet_jax.config import paper_config

CHANGES = "C3 fully connected to S2 (not Table I)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "c3_full"
  c.c3 = "full"
  return c

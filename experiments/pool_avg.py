"""c3_partial with S2 and S4 as plain 2x2 averages (no trainable coefficient or bias, no squashing)
instead of the paper's trainable subsampling. The paper's claim: each subsampling map has a
trainable coefficient and bias followed by the squashing function, so that it can act as a
near-linear blur or, with a large coefficient, as a noisy OR / AND.

  python launch.py --experiment=pool_avg --mnist_dir=../shared/data/mnist
  python launch.py --experiment=pool_avg --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.08 ± 0.07% over 5 seeds (min 1.00, max 1.16),
training error 0.52%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
0.82 ± 0.09% against 1.05 ± 0.05%.
"""
from lenet_jax.config import paper_config

CHANGES = "2x2 average pooling (not trainable subsampling)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "pool_avg"
  c.pooling = "avg"
  return c

"""c3_partial with random +-1 codes (seeded by prototype_seed) as the RBF output's fixed centres
instead of the stylised 7x12 bitmaps. The paper's claim: the codes could have been random +-1
(or an error-correcting code); the bitmaps were chosen so that confusable characters get
similar codes, which matters for the full ASCII set rather than for ten digits.

  python launch.py --experiment=out_rbf_random --mnist_dir=../shared/data/mnist
  python launch.py --experiment=out_rbf_random --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.01 ± 0.08% over 5 seeds (min 0.89, max 1.11),
training error 0.32%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
0.96 ± 0.06% against 1.05 ± 0.05%.
"""
from lenet_jax.config import paper_config

CHANGES = "random +-1 RBF codes (not 7x12 bitmaps)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "out_rbf_random"
  c.output = "rbf_random"
  return c

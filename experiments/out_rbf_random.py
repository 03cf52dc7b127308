"""c3_partial with random +-1 codes (seeded by prototype_seed) as the RBF output's fixed centres
instead of the stylised 7x12 bitmaps. The paper's claim: the codes could have been random +-1
(or an error-correcting code); the bitmaps were chosen so that confusable characters get
similar codes, which matters for the full ASCII set rather than for ten digits.

  python launch.py --experiment=out_rbf_random --mnist_dir=../shared/data/mnist
  python launch.py --experiment=out_rbf_random --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 0.96 ± 0.06%
over 5 seeds (min 0.89, max 1.05), training error 0.33%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/)
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "out_rbf_random"
  c.output = "rbf_random"
  return c

"""LeNet-5 as LeCun et al. 1998 publish it, read through their own code where the paper
contradicts itself: partial C3 (Table I), trainable subsampling, scaled tanh, RBF output with
the 7x12 bitmaps, MAP loss (Eq. 9), SDLM with the paper's eta schedule and h estimated on 500
patterns before each pass, batch size 1, 20 passes. Two departures (lenet_jax/config.py, the
DEVIATION fields): the initialisation of the authors' code (+-1/sqrt(F), biases 0,
subsampling coefficients 0.5) instead of the paper's +-2.4/F, and mu 0.25 instead of 0.02,
chosen on the validation split. The claim: this is the reading of the paper that trains best
(the SDLM verdict, RESULTS.md).

  python launch.py --experiment=c3_partial --mnist_dir=../shared/data/mnist
  python launch.py --experiment=c3_partial --mnist_dir=../shared/data/mnist --seeds=5

Paper: 0.95% test error, 0.35% training error.
Measured (as sdlm_paper_mu025, the same config, in `--sweep=sdlm_verdict --seeds=5`; seeds
0-4, 20 passes, 2-core Intel Xeon CPU, JAX 0.10.2, 2026-12-01, commit c30afb8): test error
1.03 +- 0.11% (min 0.92, max 1.21), training error 0.38%. results/sdlm_verdict/. Since 883b8c5
the initialisation's bound is computed on the host, which moves the last bits of the initial
weights (up to 7e-9). Re-measured at that code in the ablation sweep (commit c7cfc4c, the five
lanes on one core): 1.02 +- 0.10% (min 0.94, max 1.20), training error 0.39%,
results/sweep_ablations_v3/.
"""
from lenet_jax.config import paper_config

CHANGES = "the headline recipe (authors' init, mu 0.25)"
PAPER_ROW = "LeNet-5"


def get_config():
  c = paper_config()
  c.experiment = "c3_partial"
  return c

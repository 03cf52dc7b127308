"""c3_partial with Flax's default initialisation (LeCun-normal kernels, zero biases) instead of
the authors' uniform [-1/sqrt(F), +1/sqrt(F)] with F the fan-in (the paper's text: +-2.4/F,
experiments/init_paper_text.py). The paper's claim (Appendix A): scaling by the fan-in keeps the
initial spread of every unit's weighted sum within the squashing function's normal operating
region (neither saturated nor too small).

  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist
  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 0.99 ± 0.08% over 5 seeds (min 0.90, max 1.07),
training error 0.42%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
1.04 ± 0.06% against 1.05 ± 0.05%.
"""
from lenet_jax.config import paper_config

CHANGES = "Flax default init (not +-1/sqrt(fan-in))"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "init_default"
  c.init = "flax_default"
  return c

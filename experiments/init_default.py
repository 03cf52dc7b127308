"""c3_partial with Flax's default initialisation (LeCun-normal kernels, zero biases) instead of
the authors' uniform [-1/sqrt(F), +1/sqrt(F)] with F the fan-in (the paper's text: +-2.4/F,
experiments/init_paper_text.py). The paper's claim (Appendix A): scaling by the fan-in keeps the
initial spread of every unit's weighted sum within the squashing function's normal operating
region (neither saturated nor too small).

  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist
  python launch.py --experiment=init_default --mnist_dir=../shared/data/mnist --seeds=5

Measured against the earlier recipe (sdlm_refresh), `--sweep=paper_ablations --seeds=5`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 1.04 ± 0.06%
(min 0.99, max 1.13), training error 0.40%; that recipe in the same sweep: 1.05 ± 0.05%
(results/sweep_paper_ablations/). Against the present recipe: results/sweep_ablations_v2/.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "init_default"
  c.init = "flax_default"
  return c

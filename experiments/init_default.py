"""c3_partial with Flax's default initialisation (LeCun-normal kernels, zero biases) instead of
the authors' uniform [-1/sqrt(F), +1/sqrt(F)] with F the fan-in (the paper's text: +-2.4/F,
experiments/init_paper_text.py). The paper's claim (Appendix A): scaling by the fan-in keeps the
initial spread of every unit's weighted sum within the squashing function's normal operating
region (neither saturated nor too small).

  python launch.py --experiment=init_default
  python launch.py --experiment=init_default --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/init_default/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/init_default.json.
"""
from lenet_jax.config import paper_config

CHANGES = "Flax default init (not +-1/sqrt(fan-in))"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "init_default"
  c.init = "flax_default"
  return c

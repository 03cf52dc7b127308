"""c3_partial with the logistic function 1/(1+e^-a) in place of the paper's scaled tanh
f(a) = 1.7159 tanh(2a/3). The paper's claim (Appendix A): symmetric squashing functions give
faster convergence, and with A and S so chosen f(+-1) = +-1 keeps units in their
near-linear range; the logistic function is not symmetric about zero.

  python launch.py --experiment=act_logistic
  python launch.py --experiment=act_logistic --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/act_logistic/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/act_logistic.json. Every seed predicts one class (8) for every image
from the first pass to the last, as under the earlier recipe's +-2.4/F initialisation: the logistic
function leaves F6's output almost independent of the input (experiments/signal_spread.py), and
SDLM's steps never recover it. The paper's claim holds in its strongest form.
"""
from lenet_jax.config import paper_config

CHANGES = "logistic activation (not scaled tanh)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "act_logistic"
  c.activation = "logistic"
  c.expect_stall = True   # saturating is the measured result (exit 0)
  return c

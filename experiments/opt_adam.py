"""c3_partial trained with Adam (learning rate 1e-4, batch size 1, 20 passes) instead of SDLM.
The paper's claim (Appendix C): per-parameter rates eta/(mu + h_kk), h_kk a diagonal
Gauss-Newton estimate averaged over 500 patterns before each pass, train LeNet-5 at batch size 1
in 20 passes; most later reproductions drop SDLM for Adam or per-layer rates.

An earlier single run (seed 0, full MNIST, batch 1, 20 passes, the earlier recipe's code):
results/opt_adam_lr1e-4_seed0.json, quoted in RESULTS.md (Other runs on the way there).

  python launch.py --experiment=opt_adam
  python launch.py --experiment=opt_adam --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/opt_adam/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/opt_adam.json.
"""
from lenet_jax.config import paper_config

CHANGES = "Adam, lr 1e-4 (not SDLM)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "opt_adam"
  c.optimizer = "adam"
  c.learning_rate = 1e-4
  return c

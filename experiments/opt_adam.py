"""c3_partial trained with Adam (learning rate 1e-4, batch size 1, 20 passes) instead of SDLM.
The paper's claim (Appendix C): per-parameter rates eta/(mu + h_kk), h_kk a diagonal
Gauss-Newton estimate averaged over 500 patterns before each pass, train LeNet-5 at batch size 1
in 20 passes; most later reproductions drop SDLM for Adam or per-layer rates.

Earlier single run (2-core AMD EPYC CPU, seed 0, full MNIST, batch 1, 20 passes): 1.22% test
error (results/opt_adam_lr1e-4_seed0.json); c3_partial seed 0: 1.08%.

  python launch.py --experiment=opt_adam --mnist_dir=../shared/data/mnist
  python launch.py --experiment=opt_adam --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist
--sweep_workers=2 --set=train_eval=last_pass` (seeds 0-4, 20 passes, 2-core Intel Xeon CPU, JAX
0.10.2, 2026-12-01, commit c7cfc4c): test error 1.10 ± 0.14% over 5 seeds (min 0.92, max 1.32),
training error 0.24%; c3_partial in the same sweep 1.02 ± 0.10% (results/sweep_ablations_v3/). From
the earlier recipe (sdlm_refresh: +-2.4/F, h refreshed in pass 1; results/sweep_paper_ablations/):
1.12 ± 0.16% against 1.05 ± 0.05%.
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

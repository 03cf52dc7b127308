"""c3_partial trained with Adam (learning rate 1e-4, batch size 1, 20 passes) instead of SDLM.
The paper's claim (Appendix C): per-parameter rates eta/(mu + h_kk), h_kk a diagonal
Gauss-Newton estimate averaged over 500 patterns before each pass, train LeNet-5 at batch size 1
in 20 passes; most later reproductions drop SDLM for Adam or per-layer rates.

Earlier single run (2-core AMD EPYC CPU, seed 0, full MNIST, batch 1, 20 passes): 1.22% test
error (results/opt_adam_lr1e-4_seed0.json); c3_partial seed 0: 1.08%.

  python launch.py --experiment=opt_adam --mnist_dir=../shared/data/mnist
  python launch.py --experiment=opt_adam --mnist_dir=../shared/data/mnist --seeds=5

Measured: not yet run.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "opt_adam"
  c.optimizer = "adam"
  c.learning_rate = 1e-4
  return c

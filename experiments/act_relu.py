"""c3_partial with ReLU max(0, a) in place of the paper's scaled tanh f(a) = 1.7159 tanh(2a/3)
(Appendix A: a symmetric squashing function with f(+-1) = +-1). Every other choice, the RBF
output and SDLM among them, stays the paper's; ReLU is unbounded, so the F6 outputs are no
longer kept in [-1.7159, 1.7159] around the +-1 codes.

  python launch.py --experiment=act_relu --mnist_dir=../shared/data/mnist
  python launch.py --experiment=act_relu --mnist_dir=../shared/data/mnist --seeds=5

Measured by `launch.py --sweep=paper_ablations --seeds=5 --mnist_dir=../shared/data/mnist`
(seeds 0-4, 20 passes, 2-core AMD EPYC CPU, JAX 0.10.2, 2026-11-28): test error 6.21 ± 4.91%
over 5 seeds (min 1.52, max 11.31), training error 5.78%. c3_partial in the same sweep: 1.05 ±
0.05%. (results/sweep_paper_ablations/) The seeds split: 0 and 1 end at 1.56% and 1.52%,
4 at 5.34%, 2 and 3 at 11.31% and 11.30% with training errors as high (10.8%, 10.6%): those
stall early (12.1% and 11.7% after pass 3) rather than overfit. Even the good seeds are
0.5 points worse than the scaled tanh.
"""
from lenet_jax.config import paper_config


def get_config():
  c = paper_config()
  c.experiment = "act_relu"
  c.activation = "relu"
  return c

"""LeNet-5 as most later code writes it, for contrast with the paper's recipe: every S2 map
connected to every C3 map, 2x2 average pooling, ReLU, a trainable linear output with softmax
cross-entropy, Adam at learning rate 1e-3 and batch size 32. Unlike the other experiments this
changes several choices at once, and each of them also has its own one-change experiment
(c3_full, pool_avg, act_relu, out_linear, opt_adam).

Why these values: full C3 connectivity because current frameworks have no connection table and
nobody writes one; average pooling rather than max to stay closest to the paper's subsampling
(pool_max covers max pooling); ReLU, linear output + cross-entropy and Adam because they are the
defaults of present-day classifiers; 1e-3 is Adam's usual default rate, and batch 32 the usual
default mini-batch (batch 1 with Adam is opt_adam's setting). The recipe's initialisation (the
authors' +-1/sqrt(F)), input scaling and 20 passes stay as they are (init_default covers the
initialisation).

  python launch.py --experiment=modern
  python launch.py --experiment=modern --seeds=5

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/modern/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/modern.json.
"""
from lenet_jax.config import paper_config

CHANGES = "full C3, avg pool, ReLU, linear + CE, Adam 1e-3, batch 32"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "modern"
  c.c3 = "full"
  c.pooling = "avg"
  c.activation = "relu"
  c.output = "linear"
  c.loss = "cross_entropy"
  c.optimizer = "adam"
  c.learning_rate = 1e-3
  c.batch_size = 32
  return c

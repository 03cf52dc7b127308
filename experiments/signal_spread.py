"""How much of the input reaches each layer at the paper's initialisation, per squashing function:
the spread over input images of every layer's output (the standard deviation over images of
each unit, averaged over the layer's units). Explains act_logistic's result in the ablation
sweep: there every seed stayed at chance, one class for every image.

The paper's weights, uniform in +-2.4/F (F the fan-in), make each layer's sums smaller than its
inputs; the scaled tanh has slope 1.14 at zero and gives some of that back, the logistic
function has slope 0.25 and loses more at every one of the six squashing layers.

  python launch.py --experiment=signal_spread

Measured: the command prints each layer's spread per function (seed 0, the first 1,000
training images; no results file is kept). At F6 the logistic function's spread is thousands of
times below the scaled tanh's, ReLU's between the two. All three give one class for every image
before training; with the scaled tanh and ReLU training separates them, with the logistic
function it did not (act_logistic in the ablation tables, generated from
results/sweep_ablations_v3/act_logistic/results.json; a short Adam run, lr 1e-3, batch 32, on
6,000 images, stayed at chance too).
"""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lenet_jax import data
from lenet_jax.layers import ACTIVATIONS
from lenet_jax.model import LeNet5


def get_config():
  return ml_collections.ConfigDict({"experiment": "signal_spread", "mnist_dir": "",
                                    "images": 1000, "seed": 0})


def spread(h) -> float:
  """Standard deviation over the leading (image) axis of each unit, averaged over the units."""
  h = jnp.reshape(h, (h.shape[0], -1))
  return float(jnp.mean(jnp.std(h, axis=0)))


def layer_spreads(activation: str, x, seed: int = 0):
  """[(layer, spread of its output)] and the number of distinct predicted classes on x, for the
  paper's LeNet-5 with `activation`, freshly initialised with `seed`."""
  m = LeNet5(activation=activation)
  params = m.init(jax.random.PRNGKey(seed), x[:1])["params"]
  rows, h = [], x
  for s in m.stages():
    h = s.apply(params.get(s.name, {}), h)
    if s.act is not None:
      h = s.act(h)
    rows.append((s.name, spread(h)))
  classes = len(np.unique(np.asarray(jnp.argmin(m.apply({"params": params}, x), axis=1))))
  return rows, classes


def run(config, workdir):
  ds = data.load_mnist(config.mnist_dir or None, train_size=config.images)
  x = jnp.asarray(ds.train_x)
  print(f"spread over {config.images} training images of each layer's output at the paper's "
        f"initialisation (seed {config.seed})")
  for activation in ACTIVATIONS:
    rows, classes = layer_spreads(activation, x, config.seed)
    cells = "  ".join(f"{name} {value:.1e}" for name, value in rows)
    print(f"  {activation:12s} {cells}  | classes predicted: {classes}")

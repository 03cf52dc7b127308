"""How much of the input reaches each layer at the paper's initialisation, per squashing function:
the spread over input images of every layer's output (the standard deviation over images of
each unit, averaged over the layer's units). Explains act_logistic's result in the ablation
sweep: there every seed stayed at 90.26% test error, one class for every image.

The paper's weights, uniform in +-2.4/F (F the fan-in), make each layer's sums smaller than its
inputs; the scaled tanh has slope 1.14 at zero and gives some of that back, the logistic
function has slope 0.25 and loses more at every one of the six squashing layers.

  python launch.py --experiment=signal_spread --mnist_dir=../shared/data/mnist

Measured (seed 0, the first 1,000 training images, 2-core AMD EPYC CPU, JAX 0.10.2,
2026-11-28): at F6, 4.6e-04 for the scaled tanh, 7.0e-08 for the logistic function (6,600x
less), 2.0e-05 for ReLU. All three give one class for every image before training; with the
scaled tanh and ReLU training separates them, with the logistic function it did not
(act_logistic: 90.26% on all 5 seeds after 20 passes of SDLM; also 90.26% after 3 passes of
Adam, lr 1e-3, batch 32, on 6,000 images).
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

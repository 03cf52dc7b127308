"""LeNet-4 / K-NN (Figure 9: 1.1% test error): LeNet-4's output layer replaced by a Euclidean
k-nearest-neighbour classifier on the 120 outputs of the layer below it, with the 60,000
training images' outputs as the references. The paper's claim: this does not improve the raw
error of LeNet-4 (1.1%), only its rejection performance.

The LeNet-4s are the `lenet4` experiment's (the finished run in ../lenet4 beside the workdir if
it has the same config, as in the figure9 sweep; else trained in WORKDIR/lenet4), one k-NN per
seed. k is not stated: chosen among KS on the validation split (the last 10,000 training images'
outputs against the first 50,000's; the net has seen those images, so this only ranks k), then
the test error is measured once with all 60,000 references.

  python launch.py --experiment=lenet4_knn
  python launch.py --experiment=lenet4_knn --seeds=5

Measured: the README's Figure 9 table, generated from results/figure9/lenet4_knn/results.json.
"""
import numpy as np

from lenet_jax import baselines, derived, trained
from lenet_jax.config import ConfigError, figure9_config
from lenet_jax.train import load_data

KS = (1, 3, 5)

CHANGES = "LeNet-4 / K-NN (on its 120 outputs)"
PAPER_ROW = "LeNet-4 / K-NN"


def get_config():
  c = figure9_config("lenet4_knn", "lenet4")
  c.k = 0   # 0: chosen on the validation split among KS
  return c


def run(config, workdir):
  if config.k < 0:
    raise ConfigError(f"k: must be >= 1, or 0 to choose it on the validation split, got "
                      f"{config.k}; e.g. --set=k=3")
  clock = derived.clock()
  net = derived.base_run(derived.base_config(config, "lenet4", ("k",)), workdir, "lenet4")
  ds = load_data(net.config)
  lanes, chosen = [], {}
  for lane, seed in enumerate(l["seed"] for l in net.results["lanes"]):
    params = trained.lane_params(net, lane)
    train_f = trained.features(net.model, params, ds.train_x)
    test_f = trained.features(net.model, params, ds.test_x)
    held = min(10_000, len(train_f) // 6)   # 10,000 of 60,000; a sixth of a smaller set
    val = {k: 100.0 * np.mean(baselines.knn_predict(train_f[:-held], ds.train_y[:-held],
                                                    train_f[-held:], k) != ds.train_y[-held:])
           for k in KS}
    k = config.k or min(KS, key=lambda v: (val[v], v))
    chosen[seed] = {"k": k, "validation_error": val}
    errors = int(np.sum(baselines.knn_predict(train_f, ds.train_y, test_f, k) != ds.test_y))
    net_errors = net.results["lanes"][lane]["passes"][-1]["test_errors"]
    lanes.append({"seed": seed, "final_test_error": 100.0 * errors / len(ds.test_y),
                  "test_errors": errors, "net_test_errors": net_errors, "k": k})
    print(f"seed {seed}: k-NN (k={k}) on LeNet-4's outputs {errors} test errors, LeNet-4 itself "
          f"{net_errors}", flush=True)
  return derived.write(workdir, config, lanes, net.results["parameters"], _multiply_adds(net),
                       clock(), validation=chosen)


def _multiply_adds(net) -> int:
  """LeNet-4's connections below its output layer, plus 60,000 distances of 120 terms."""
  layers = {r["layer"]: r for r in net.results["layers"]}
  return layers["total"]["connections"] - layers["OUTPUT"]["connections"] + 60_000 * 120

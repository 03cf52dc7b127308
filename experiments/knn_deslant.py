"""Figure 9's [deslant] K-NN Euclidean (LeCun et al. 1998, Section III.C): 2.4% test error.

The paper: K-NN with the Euclidean distance, k = 3, on the deslanted 20x20 images (each image
sheared so that the principal axis of its ink is vertical), all 60,000 training images stored.
Here experiments/knn.py's classifier (baselines.knn_predict, ties between classes going to the
nearest neighbour's) on lenet_jax.versions.deslant_fit's images (the sheared ink's box scaled to
20x20, the [deslant] rows' version: RESULTS.md); 60,000 x 400 stored pixels.

  python launch.py --experiment=knn_deslant

Nothing is chosen on the validation split: k is the paper's.
"""
import ml_collections

from experiments import knn
from lenet_jax import baseline_rows as rows
from lenet_jax import paper, versions

CHANGES = "[deslant] K-NN Euclidean, k = 3"
PAPER_ROW = "[deslant] K-NN Euclidean"


def get_config():
  return ml_collections.ConfigDict({"experiment": "knn_deslant", "mnist_dir": "", "seed": 0,
                                    "k": 3})


def run(config, workdir):
  rows.check_whole(config, "seed")
  rows.check_whole(config, "k", low=1)
  return knn.evaluate(config, workdir, paper.figure9_row(PAPER_ROW)["test_error"], (config.k,),
                      transform=versions.deslant_fit)

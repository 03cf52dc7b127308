"""The paper's recipe plus random affine distortions of the training images (the paper's 0.8%
run, Figure 9: "LeNet-5 with distortions"). The paper added 540,000 distorted copies to the
60,000 originals (a fixed 600,000-image set); here every presentation of a training image draws
a fresh translation (+-2 px), scaling (+-10%), squeezing (+-10%) and shear (+-0.2) on the device
inside the jitted step (lenet_jax/distort.py), and the test images are never distorted. One
pass here shows 60,000 distorted views, so 20 passes show 1.2 million: twice the paper's set
once, or a tenth of 20 passes over it (the paper does not say how many passes that run took).

  python launch.py --experiment=distortions
  python launch.py --experiment=distortions --seeds=2

Paper: 0.8% test error.
Measured: RESULTS.md's distortions table, generated from results/distortions_seeds0-1.json (the
second command), and the README's Figure 9 table (results/figure9/distortions/results.json).
With one lane per device, seed 0 runs the same single-model program as the first command
(bit-identical over 50 steps in tests/test_lanes.py).
"""
from lenet_jax.config import paper_config

CHANGES = "random affine distortions at every presentation"
PAPER_ROW = "[dist] LeNet-5"


def get_config():
  c = paper_config()
  c.experiment = "distortions"
  c.distort = True
  return c

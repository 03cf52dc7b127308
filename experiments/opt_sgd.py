"""c3_partial trained with plain SGD at one fixed learning rate (1e-3, batch size 1, 20 passes)
instead of SDLM. The paper's claim (Appendix C): SDLM's per-parameter rates eta/(mu + h_kk),
h_kk a diagonal Gauss-Newton estimate averaged over 500 patterns before each pass, with eta
lowered from 5e-4 to 1e-5 over the 20 passes, are how LeNet-5 was trained; here every parameter
gets the same rate, held fixed.

  python launch.py --experiment=opt_sgd
  python launch.py --experiment=opt_sgd --seeds=5

The rate: a small check on the first 5,000 training images, batch 1, 2 passes, test error on
the full 10,000 test images after pass 2 (candidates trained together with
--vary=learning_rate=...; no results file was kept, so the check's numbers stay here):
  1e-4: 52.00% (seed 0; still near chance after pass 1)
  3e-4:  8.54% (seed 0)
  5e-4:  8.11%, 5.78% (seeds 0, 1; mean 6.95)
  1e-3:  6.00%, 5.07% (seeds 0, 1; mean 5.54)   <- chosen
  2e-3:  6.36%, 7.41% (seeds 0, 1; mean 6.89)
  3e-3:  9.24% (seed 0)
  1e-2: 89.68% (seed 0; stuck at chance from the first pass, the loss growing, not NaN)
  (c3_partial with SDLM on the same check, seed 0: 5.19%.)
1e-3 gave the lowest error for both seeds, with a factor of 2 either side worse and 1e-2 failing.
A short check favours fast early progress: over 20 full passes a smaller fixed rate might end
lower, which the sweep does not test (there is no decay, unlike SDLM's eta schedule).

Measured: the ablation tables of the README and RESULTS.md, generated from
results/sweep_ablations_v3/opt_sgd/results.json (`launch.py --sweep=paper_ablations --seeds=5
--sweep_workers=2 --set=train_eval=last_pass`); the earlier
recipe's row (sdlm_refresh: +-2.4/F, h refreshed in pass 1) from
results/sweep_paper_ablations/opt_sgd.json.
"""
from lenet_jax.config import paper_config

CHANGES = "plain SGD (not SDLM)"
PAPER_ROW = None


def get_config():
  c = paper_config()
  c.experiment = "opt_sgd"
  c.optimizer = "sgd"
  c.learning_rate = 1e-3
  return c

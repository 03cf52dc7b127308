"""Named lists of experiments run together (lenet_jax.runner), and what each experiment changes.

  SWEEPS["paper_ablations"]: c3_partial (the paper's recipe) and one experiment per design choice
  of the paper, each changing that one choice (modern changes several: the usual LeNet-5 of
  later code, for contrast).
"""
from __future__ import annotations

SWEEPS: dict[str, list[str]] = {
    "paper_ablations": [
        "c3_partial", "c3_full", "pool_avg", "pool_max", "act_logistic", "act_relu",
        "out_rbf_random", "out_linear", "loss_mle", "opt_sgd", "opt_adam", "init_default",
        "train_15k", "train_30k", "modern", "init_paper_text",
    ],
    "smoke": ["c3_partial", "c3_full", "pool_max"],
    # Which reading of the paper's SDLM is LeNet-5 (RESULTS.md): the first two train as one
    # program (they differ only in mu, a lane field).
    "sdlm_verdict": ["sdlm_paper", "sdlm_paper_mu025", "sdlm_paper_authors", "sdlm_paper_once",
                     "sdlm_lush_demo", "sdlm_refresh", "init_paper_text"],
    # The paper's Figure 6: test error against training-set size.
    "figure6": ["train_15k", "train_30k", "c3_partial"],
    # The paper's Figure 9, its neural rows and its cheap reference rows, and the study note's
    # two claims (sections 1.1 and 1.6). The longest programs first, so that two workers finish
    # together; lenet4 before the two experiments built on it (they reuse its run).
    "figure9": [
        "mlp_1000_dist", "mlp_1000", "mlp_500_150_dist", "distortions", "mlp_500_150",
        "lenet4", "lenet5_local", "c3_partial", "lenet1", "mlp_300_100_dist", "mlp_300_dist",
        "lenet5_permuted", "mlp_300_100", "mlp_300", "mlp_300_permuted", "mlp_300_deslant",
        "boosted_lenet4", "lenet4_knn", "knn", "knn_deslant", "rbf_linear", "pca_quadratic",
        "pairwise_linear", "linear", "linear_deslant",
    ],
}

# The choice of the paper's recipe each experiment changes (one line, for tables).
CHANGES: dict[str, str] = {
    "c3_partial": "the headline recipe (authors' init, mu 0.25)",
    "c3_full": "C3 fully connected to S2 (not Table I)",
    "pool_avg": "2x2 average pooling (not trainable subsampling)",
    "pool_max": "2x2 max pooling (not trainable subsampling)",
    "act_logistic": "logistic activation (not scaled tanh)",
    "act_relu": "ReLU activation (not scaled tanh)",
    "out_rbf_random": "random +-1 RBF codes (not 7x12 bitmaps)",
    "out_linear": "linear output + cross-entropy (not RBF + MAP)",
    "loss_mle": "MLE loss, Eq. 8 (not MAP, Eq. 9)",
    "opt_sgd": "plain SGD (not SDLM)",
    "opt_adam": "Adam, lr 1e-4 (not SDLM)",
    "init_default": "Flax default init (not +-1/sqrt(fan-in))",
    "train_15k": "15,000 training images (not 60,000)",
    "train_30k": "30,000 training images (not 60,000)",
    "modern": "full C3, avg pool, ReLU, linear + CE, Adam 1e-3, batch 32",
    "sdlm_paper": "the paper's SDLM, the authors' init (+-1/sqrt(F))",
    "sdlm_paper_authors": "sdlm_paper + the authors' code's curvature choices",
    "sdlm_paper_mu025": "sdlm_paper with mu 0.25 (not 0.02)",
    "sdlm_paper_once": "sdlm_paper with h estimated once (authors' demo)",
    "sdlm_lush_demo": "the authors' demo's SDLM: h once on 100, eta 1e-4",
    "sdlm_refresh": "+-2.4/F, mu 0.25, h refreshed 17 more times in pass 1",
    "init_paper_text": "+-2.4/F init with the paper's SDLM (saturates)",
    "distortions": "random affine distortions at every presentation",
}


class UnknownSweep(ValueError):
  pass


def names() -> list[str]:
  return sorted(SWEEPS)


def get(name: str) -> list[str]:
  """The experiments of sweep `name`, in order."""
  if name not in SWEEPS:
    raise UnknownSweep(f"unknown sweep {name!r}; valid sweeps: " + ", ".join(names()))
  return list(SWEEPS[name])

"""The numbers of LeCun et al. 1998 that lenet_jax reproduces, and the values it chose where the
paper is silent; plain Python, no JAX."""

# Architecture and counts (section II.B).
PARAMETERS = 60_000
CONNECTIONS = 340_908
LAYERS = (  # (layer, trainable parameters, connections)
    ("C1", 156, 122_304), ("S2", 12, 5_880), ("C3", 1_516, 151_600), ("S4", 32, 2_000),
    ("C5", 48_120, 48_120), ("F6", 10_164, 10_164), ("OUTPUT", 0, 840),
    ("total", PARAMETERS, CONNECTIONS))
TRAIN_IMAGES = 60_000

# Squashing function f(a) = A tanh(S a) (Appendix A): f(+-1) = +-1.
SQUASH_A = 1.7159
SQUASH_S = 2.0 / 3.0
# Initialisation (Appendix A): uniform in +-2.4/F, F the receiving unit's fan-in.
INIT_FAN_IN = 2.4

# SDLM (Appendix C): eta per pass (0.0005 for passes 1-2, 0.0002 for 3-5, 0.0001 for 6-8,
# 0.00005 for 9-12, 0.00001 after), mu, h on 500 patterns before each pass, 20 passes.
ETAS = (0.0005, 0.0002, 0.0001, 0.00005, 0.00001)
ETA_PASSES = (2, 3, 3, 4)   # passes spent at each eta but the last
MU = 0.02
HESSIAN_SAMPLES = 500
EPOCHS = 20
# "The effective learning rates ... in the first pass ranged from about 7e-5 to 0.016."
FIRST_PASS_RATES = (7e-5, 0.016)

# Results (Figures 5, 8 and 9), in percent.
TEST_ERROR = 0.95             # LeNet-5, undistorted training set
TRAIN_ERROR = 0.35            # after 19 passes
DISTORTIONS_TEST_ERROR = 0.8  # with 540,000 distorted extra copies
MISCLASSIFIED = 82            # test digits LeNet-5 gets wrong (Figure 8)
# Figure 9's rows (test error %) with Figures 11 and 12's multiply-adds and memory (thousands;
# None where the figures leave the row out). Experiments name the row they reproduce
# (experiments/*.py, PAPER_ROW).
FIGURE9 = (
    ("linear", 12.0, 4, 4), ("[deslant] linear", 8.4, None, None),
    ("pairwise linear", 7.6, 36, 35), ("K-NN Euclidean", 5.0, None, None),
    ("[deslant] K-NN Euclidean", 2.4, None, None), ("40 PCA + quadratic", 3.3, 39, 40),
    ("1000 RBF + linear", 3.6, 794, 794), ("28x28-300-10", 4.7, None, None),
    ("[dist] 28x28-300-10", 3.6, None, None), ("[deslant] 20x20-300-10", 1.6, 123, 123),
    ("28x28-1000-10", 4.5, 795, 795), ("[dist] 28x28-1000-10", 3.8, None, None),
    ("28x28-300-100-10", 3.05, 267, 267), ("[dist] 28x28-300-100-10", 2.5, None, None),
    ("28x28-500-150-10", 2.95, 469, 469), ("[dist] 28x28-500-150-10", 2.45, None, None),
    ("[16x16] LeNet-1", 1.7, 100, 3), ("LeNet-4", 1.1, 260, 17),
    ("LeNet-4 / K-NN", 1.1, None, None), ("LeNet-5", TEST_ERROR, 401, 60),
    ("[dist] LeNet-5", DISTORTIONS_TEST_ERROR, None, None),
    ("[dist] boosted LeNet-4", 0.7, 460, 51),
    ("SVM poly 4", 1.1, None, None), ("reduced-set SVM", 1.0, None, None),
    ("virtual SVM", 0.8, None, None),
)
# Figure 10: the share of test patterns (%) rejected to reach 0.5% error on the rest, by the
# difference between the scores of the top two classes.
FIGURE10 = {"[deslant] 20x20-300-10": 3.2, "[16x16] LeNet-1": 3.7, "[dist] boosted LeNet-4": 0.5}
# "The uncertainty in the quoted error rates is about 0.1%" (the caption of Figures 9-12).
FIGURE9_UNCERTAINTY = 0.1


def figure9_row(label: str) -> dict:
  """Figure 9's row `label`: its test error, multiply-adds and memory (thousands), rejection."""
  for name, error, macs, memory in FIGURE9:
    if name == label:
      return {"row": name, "test_error": error, "multiply_adds_k": macs, "memory_k": memory,
              "rejection": FIGURE10.get(name)}
  raise KeyError(f"no row {label!r} in Figure 9; rows: {', '.join(r[0] for r in FIGURE9)}")


# Chosen where the paper is silent.
# The distortions' ranges (the paper names translation, scaling, squeezing and shear, not how
# much): +- pixels, fractions of the size, and the shear.
DISTORTIONS = dict(max_shift=2.0, max_scale=0.1, max_squeeze=0.1, max_shear=0.2)
# Eq. 9's j: a small j keeps Eq. 8's pull of the correct distance towards zero at full strength
# and lets the penalty act only on incorrect classes within a few units of zero.
MAP_J = 0.1

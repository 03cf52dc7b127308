"""sdlm_paper plus the two curvature choices of the authors' code: h's recursion starts from the
correct class's squared-distance curvature (2 per F6 output), the log-add term of Eq. 9 not
back-propagated (Lush `edist-cost bbprop`, gblearn2/gb-modules.lsh; EBLearn
`edist_cost::bbprop`), and the subsampling coefficient's h is d2E/da2 * (sum_j x_j)^2 (Lush
`s-layer bbprop`, gb-modules-nn.lsh; EBLearn `subsampling_module::bbprop1`). The claim tested:
the paper's text, not its authors' code, is what matters for the result.

  python launch.py --experiment=sdlm_paper_authors
  python launch.py --sweep=sdlm_verdict --seeds=5

Measured: the README's SDLM verdict table, generated from
results/sdlm_verdict/sdlm_paper_authors/results.json: the same pass-2 instability as
sdlm_paper, milder.
"""
from experiments import sdlm_paper

CHANGES = "sdlm_paper + the authors' code's curvature choices"
PAPER_ROW = "LeNet-5"


def get_config():
  c = sdlm_paper.get_config()
  c.experiment = "sdlm_paper_authors"
  c.sdlm_output_curvature = "constant"
  c.sdlm_subsample_curvature = "window_sum"
  return c

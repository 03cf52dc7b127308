"""Figure helpers shared by the sweep summary and the report (matplotlib's Figure API: the Agg
canvas, pyplot's global state untouched)."""
from __future__ import annotations

import math

from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from lenet_jax import files


def figure(**kw) -> Figure:
  return Figure(**kw)


def save_png(fig, path: str, dpi: int = 110) -> None:
  files.atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi,
                                                   bbox_inches="tight"), ".png")


def colors(n: int):
  cmap = colormaps["tab10" if n <= 10 else "tab20"]
  return [cmap(i % cmap.N) for i in range(n)]


def log_axis(ax, low: float, high: float) -> None:
  """Log-scale y over [low, high], labelled with plain numbers at 1, 2, 5 times powers of ten."""
  ax.set_yscale("log")
  ax.set_ylim(low, high)
  ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
           for m in (1, 2, 5) if low <= m * 10.0 ** e <= high]
  ax.yaxis.set_major_locator(FixedLocator(ticks))
  ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
  ax.yaxis.set_minor_formatter(NullFormatter())

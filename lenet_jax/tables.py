"""Constants of the networks: LeNet-5's C3 connection table (Table I), the connection tables
chosen for LeNet-1 and LeNet-4 where the paper gives only counts, and the fixed RBF output
codes."""
from __future__ import annotations

import numpy as np

# Table I of the paper. Rows: S2 map 0-5; columns: C3 map 0-15; X = connected.
_TABLE_I = """
X...XXX..XXXX.XX
XX...XXX..XXXX.X
XXX...XXX..X.XXX
.XXX..XXXX..X.XX
..XXX..XXXX.XX.X
...XXX..XXXX.XXX
"""

C3_PARTIAL = np.array([[c == "X" for c in row] for row in _TABLE_I.split()], dtype=bool)
C3_FULL = np.ones((6, 16), dtype=bool)


def c3_table(kind: str) -> np.ndarray:
  if kind == "partial":
    return C3_PARTIAL
  if kind == "full":
    return C3_FULL
  raise ValueError(f"unknown C3 connectivity {kind!r}; use 'partial' or 'full'")


def _table(rows: str) -> np.ndarray:
  return np.array([[c == "X" for c in row] for row in rows.split()], dtype=bool)


# LeNet-1's H3 (LeCun et al. 1990, as the 1998 paper's LeNet-1): 12 maps, each reading one or
# two of H2's 4 maps, 20 of the 48 possible kernels, in two almost independent halves (maps
# 0-5 read H2 maps 0-1, maps 6-11 read maps 2-3). Which maps read one input is not published:
# here the first two of each half (chosen; the counts are the paper's either way).
LENET1_H3 = _table("""
X.XXXX......
.XXXXX......
......X.XXXX
.......XXXXX
""")

# LeNet-4's layers are published, its connectivity is not: both of its counts (about 17,000
# parameters, 260,000 connections) hold only if C3 and the 120-unit layer are sparse. Chosen:
# C3 map j reads 4 consecutive S2 maps (of 8, cyclically) from 2j mod 8 for j < 12 and 3 for
# j >= 12 (60 of 128 kernels); F5 unit u reads 5 consecutive S4 maps (of 16) from u mod 16 for
# u < 80 and 4 for u >= 80 (560 of 1,920). Parameters 16,998, connections 258,306.
def _consecutive(n_in: int, n_out: int, width, step: int = 1) -> np.ndarray:
  table = np.zeros((n_in, n_out), bool)
  for j in range(n_out):
    for i in range(width(j)):
      table[(step * j + i) % n_in, j] = True
  return table


LENET4_C3 = _consecutive(8, 16, lambda j: 4 if j < 12 else 3, step=2)
LENET4_F5 = _consecutive(16, 120, lambda u: 5 if u < 80 else 4)


# Stylised 7x12 bitmaps of the digits after the paper's Figure 3: '#' = +1 (ink), '.' = -1.
# Digits sit in rows 1-9 of the 12-row cell, leaving room below for descenders as in the paper.
_BITMAPS = """
.......  .......  .......  .......  .......  .......  .......  .......  .......  .......
..###..  ...#...  .#####.  #######  ....##.  #######  ..####.  #######  .#####.  .#####.
.#...#.  ..##...  #.....#  .....#.  ...#.#.  #......  .#.....  ......#  #.....#  #.....#
#.....#  .#.#...  ......#  ....#..  ..#..#.  #......  #......  .....#.  #.....#  #.....#
#.....#  ...#...  .....#.  ...#...  .#...#.  ######.  ######.  ....#..  #.....#  #.....#
#.....#  ...#...  ...##..  ..####.  #....#.  ......#  #.....#  ...#...  .#####.  .######
#.....#  ...#...  ..#....  ......#  #######  ......#  #.....#  ...#...  #.....#  ......#
#.....#  ...#...  .#.....  ......#  .....#.  ......#  #.....#  ..#....  #.....#  ......#
.#...#.  ...#...  #......  #.....#  .....#.  #.....#  #.....#  ..#....  #.....#  .....#.
..###..  .#####.  #######  .#####.  .....#.  .#####.  .#####.  ..#....  .#####.  .####..
.......  .......  .......  .......  .......  .......  .......  .......  .......  .......
.......  .......  .......  .......  .......  .......  .......  .......  .......  .......
"""

BITMAP_HEIGHT, BITMAP_WIDTH = 12, 7
CODE_SIZE = BITMAP_HEIGHT * BITMAP_WIDTH  # 84 = the F6 width
NUM_CLASSES = 10


def bitmap_prototypes() -> np.ndarray:
  """The ten digit bitmaps as (10, 84) float32 codes of +1/-1, row-major 12 rows of 7."""
  rows = [line.split() for line in _BITMAPS.strip("\n").splitlines()]
  cells = np.array([[[c == "#" for c in digit_row] for digit_row in row] for row in rows])
  # cells: (12 rows, 10 digits, 7 columns) -> (10, 84)
  return np.where(cells.transpose(1, 0, 2).reshape(NUM_CLASSES, CODE_SIZE), 1.0, -1.0).astype(
      np.float32)


def random_prototypes(seed: int = 0) -> np.ndarray:
  """Random +1/-1 codes, the alternative the paper mentions."""
  rng = np.random.default_rng(seed)
  return rng.choice(np.array([-1.0, 1.0], np.float32), size=(NUM_CLASSES, CODE_SIZE))


def onehot_prototypes() -> np.ndarray:
  """Class i's code is +1 on unit i and -1 on the other 83 units."""
  codes = -np.ones((NUM_CLASSES, CODE_SIZE), np.float32)
  codes[np.arange(NUM_CLASSES), np.arange(NUM_CLASSES)] = 1.0
  return codes


def prototypes(kind: str, seed: int = 0) -> np.ndarray:
  if kind == "bitmap":
    return bitmap_prototypes()
  if kind == "random":
    return random_prototypes(seed)
  if kind == "onehot":
    return onehot_prototypes()
  raise ValueError(f"unknown prototype kind {kind!r}; use 'bitmap', 'random' or 'onehot'")


def render(code: np.ndarray) -> str:
  """A code of 84 values back to 12 lines of 7 characters, for eyes and tests."""
  grid = np.asarray(code).reshape(BITMAP_HEIGHT, BITMAP_WIDTH) > 0
  return "\n".join("".join("#" if v else "." for v in row) for row in grid)

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
  if not MNIST_DIR.is_dir():
    pytest.skip(f"MNIST IDX files not found at {MNIST_DIR}")
  return str(MNIST_DIR)

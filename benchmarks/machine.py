"""The machine and library versions a benchmark ran on, recorded with its numbers."""
from __future__ import annotations

import os
import platform

import flax
import jax
import jaxlib
import numpy as np
import optax

from plain import torch


def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def machine_info() -> dict:
  cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  info = {"cpu": cpu_model(), "cores": cores, "python": platform.python_version(),
          "jax": jax.__version__, "jaxlib": jaxlib.__version__, "flax": flax.__version__,
          "optax": optax.__version__, "numpy": np.__version__, "jax_device": str(jax.devices()[0]),
          "jax_platform": jax.devices()[0].platform,
          "load_average_1min": os.getloadavg()[0]}
  if torch is not None:
    info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
  else:
    info["torch"] = None
  return info


def print_machine(info):
  print(f"cpu     {info['cpu']} ({info['cores']} cores available)")
  torch_text = (f"torch {info['torch']} ({info['torch_threads']} threads)" if info["torch"]
                else "torch -")
  print(f"libs    python {info['python']}, jax {info['jax']}, jaxlib {info['jaxlib']}, "
        f"flax {info['flax']}, optax {info['optax']}, numpy {info['numpy']}, {torch_text}")
  print(f"device  {info['jax_device']}")
  load = info["load_average_1min"]
  print(f"load    {load:.2f} (1-min average at start)"
        + (" -- the machine is busy: numbers will be low and noisy" if load > 0.5 else ""))

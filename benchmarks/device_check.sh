#!/usr/bin/env bash
# The checks that matter on an accelerator, in one script that fits in 8 minutes on one GPU:
# the tests whose numbers an accelerator could change, the benchmark table, one pass of
# c3_partial at batch 1, 64 seeds trained together, batch 128; then a table with the card and
# the library versions (also written to $OUT/device_check.md when $OUT is set).
#
#   bash benchmarks/device_check.sh            # on the accelerator
#   bash benchmarks/device_check.sh --small    # the same steps shrunk, on a CPU (CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
MNIST=${MNIST_DIR:-}   # empty: the copy in the repository (lenet_jax/mnist)
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

if [ "${1:-}" = "--small" ]; then
  TRAIN=300; SEEDS=2; B128_TRAIN=1280; BENCH="--repeats=1 --steps_b1=20 --steps_b128=2 --eval_batches=1 --lanes=2 --train_size=1000 --warmup=2"
  TESTS=(tests/test_ops.py::test_worked_example_vertical_edges tests/test_layout.py)
elif [ -n "${1:-}" ]; then
  echo "error: unknown option $1; use --small or nothing" >&2; exit 2
else
  TRAIN=60000; SEEDS=64; B128_TRAIN=60000; BENCH="--repeats=3"
  TESTS=(tests/test_ops.py tests/test_model.py tests/test_sdlm.py tests/test_sdlm_readings.py
         tests/test_losses.py tests/test_lanes.py tests/test_train.py)
fi

step() {   # step NAME COMMAND...: runs it, its output to $OUT/NAME.log, its seconds to the table
  local name=$1; shift
  local t0=$SECONDS
  if "$@" > "$OUT/$name.log" 2>&1; then status=ok; else status="FAILED (see $OUT/$name.log)"; fi
  printf '| %s | %s | %ss |\n' "$name" "$status" "$((SECONDS - t0))" >> "$OUT/steps.md"
}
run() {    # run NAME ARGS...: one launch.py training run into $OUT/NAME
  local name=$1; shift
  step "$name" "$PY" launch.py ${MNIST:+"--mnist_dir=$MNIST"} --workdir="$OUT/$name" --overwrite \
    --noprogress "$@"
}

: > "$OUT/steps.md"
step tests "$PY" -m pytest -q -n0 "${TESTS[@]}"
# shellcheck disable=SC2086
step bench "$PY" benchmarks/bench.py $BENCH ${MNIST:+"--mnist_dir=$MNIST"} --json="$OUT/bench.json"
run c3_partial_b1 --experiment=c3_partial --epochs=1 --set=train_size=$TRAIN
run seeds_b1 --experiment=c3_partial --epochs=1 --seeds=$SEEDS --set=train_size=$TRAIN
run modern_b128 --experiment=modern --epochs=1 --batch_size=128 --set=train_size=$B128_TRAIN

"$PY" - "$OUT" <<'EOF'
import json, os, sys
import flax, jax, optax
out = sys.argv[1]
d = jax.devices()[0]
lines = ["# device check", "", f"device: {d.device_kind} ({d.platform}, {jax.device_count()} "
         f"devices); jax {jax.__version__}, flax {flax.__version__}, optax {optax.__version__}",
         "", "| step | status | wall time |", "|---|---|---|"]
lines += open(os.path.join(out, "steps.md")).read().splitlines()
lines += ["", "| run | lanes | images/s summed (pass 1) | test error % (pass 1) | seconds |",
          "|---|---:|---:|---:|---:|"]
for name in ("c3_partial_b1", "seeds_b1", "modern_b128"):
  path = os.path.join(out, name, "results.json")
  if not os.path.exists(path):
    lines.append(f"| {name} | - | - | - | - |")
    continue
  r = json.load(open(path))
  passes = [l["passes"][0] for l in r["lanes"] if l["passes"]]
  rate = sum(p["images_per_second"] for p in passes)
  err = sum(p["test_error"] for p in passes) / max(1, len(passes))
  lines.append(f"| {name} | {len(r['lanes'])} | {rate:,.0f} | {err:.2f} | "
               f"{r.get('total_seconds', 0):.1f} |")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "device_check.md"), "w").write(text)
print(text)
EOF
! grep -q FAILED "$OUT/steps.md"

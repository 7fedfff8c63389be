#!/usr/bin/env bash
# GPU readiness check (issue 18): one script, <= 8 minutes on a machine with one CUDA GPU.
#
#   bash benchmarks/gpu_check.sh            # writes artifacts/gpu_check/*.json|txt (or $OUT/ when set)
#
# STATUS: this script has NOT yet run on a GPU. No session of this project has been lent a device
# machine so far (`status`: not drawn); every step below was run on the 2-core CPU machine with
# CUDA absent, where the GPU parts report "not available". The first session with a GPU runs it and
# puts the figures in README.md and docs/reliability.md.
#
# Everything it needs is generated locally (no download): the `full` profile's SynthShapes data
# (reduced counts: the rates do not depend on them), synthetic SHREC'14-sized similarity matrices and a
# synthetic 10^6-shape gallery. Steps, each under its own time limit:
#   1. one `full`-profile epoch of every stage with AMP: images/s of the sketch and view networks and the
#      data-loading share of the step time (benchmarks/train_epoch.py);
#   2. SHREC'14-size metric evaluation (5,130 x 8,987) on CUDA, target <= 50 ms (benchmarks/retrieval_metrics.py);
#   3. exact search over 10^6 shapes with the torch backend on CUDA (benchmarks/gallery_1m.py);
#   4. a one-GPU torchrun smoke run of `sbsr-lab train` (nccl).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export PYTHONPATH=.
OUTDIR=${OUT:-artifacts/gpu_check}
mkdir -p "$OUTDIR"
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUTDIR/NAME.txt, remember failures
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUTDIR/$name.txt" 2>&1
  local rc=$?
  tail -n 25 "$OUTDIR/$name.txt"
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || status=1
}

"$PY" - <<'PYEOF' | tee "$OUTDIR/device.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, f"{p.total_memory / 2**30:.0f} GiB", "count", torch.cuda.device_count())
PYEOF

step train_epoch 300 "$PY" benchmarks/train_epoch.py --profile full --set pretrained=false \
  --set shapes_per_class=16 --set sketches_per_class=24 --workers 8 --data "$OUTDIR/data-full" \
  --json "$OUTDIR/train_epoch.json"
step retrieval_metrics 90 "$PY" benchmarks/retrieval_metrics.py --repeats 5 --peer-size ""
step gallery_1m 150 "$PY" benchmarks/gallery_1m.py --skip-hnsw --queries 200
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  "$PY" -m sbsr_lab.cli data build --profile ci --root "$OUTDIR/data-ci" > "$OUTDIR/data_ci.txt" 2>&1
  step torchrun_smoke 120 "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 -m sbsr_lab.cli \
    train teacher --profile ci --set device=cuda --data "$OUTDIR/data-ci" --out "$OUTDIR/torchrun-teacher"
else
  echo "== torchrun_smoke: skipped (no CUDA device)"
fi
echo "gpu_check: done, exit $status; logs in $OUTDIR"
exit $status

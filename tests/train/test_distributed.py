"""Training under ``torchrun``: two CPU processes (gloo) against one, resume, and the one-process path.

What is expected of two processes with DistributedDataParallel (``sbsr_lab.train.distributed``):
``batch_size`` is the global batch (each rank takes half), so the steps per epoch and the schedule are
those of one process, and one step's averaged gradient equals the one-process gradient of the whole
batch up to floating-point order (checked to 1e-5 with BatchNorm in eval mode). Whole runs are not
bit-identical to one process: BatchNorm normalises each rank's half batch, each rank augments with its
own seed and the sampler orders the data differently; so the runs are compared within a tolerance
(validation accuracy within one third, the mean training loss within 40 %), while both ranks must hold
identical weights and a resumed run must replay the uninterrupted one exactly.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sbsr_lab.config import get_profile
from sbsr_lab.train.fit import fit

pytestmark = pytest.mark.slow

TINY = dict(image_size=32, epochs=2, sketch_epochs=2, batch_size=4, num_views=4, train_views=2, lr=3e-3,
            eval_batch_size=16)

# Runs fit() in each process, dumps what every rank holds, then checks one step's gradient against the
# one-process gradient of the same (un-split) batch.
DRIVER = r'''
import hashlib, json, os, sys
import torch
from sbsr_lab.config import get_profile
from sbsr_lab.data.datasets import MultiViewDataset
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.train import distributed
from sbsr_lab.train import fit as fit_module
from sbsr_lab.train.stage import get_stage

data, out, save_after, tiny = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
profile = get_profile("ci", **tiny)
if save_after >= 0:  # rank 0 keeps a copy of the run as it was after epoch `save_after` (as a crash leaves it)
    import shutil
    write = fit_module._write_csv
    def keep(path, history):
        write(path, history)
        if len(history) == save_after + 1:
            shutil.copytree(path.parent, path.parent.with_name(path.parent.name + "-crashed"))
    fit_module._write_csv = keep
models = []
wrap = distributed.wrap
def spy(model, criterion, device):
    models.append(model)
    return wrap(model, criterion, device)
fit_module.distributed.wrap = spy
res = fit_module.fit("teacher", profile, data, out, resume=os.environ.get("RESUME") == "1", progress=True)
model = models[0]
h = hashlib.sha256()
for k, v in sorted(model.named_parameters()):
    h.update(k.encode()); h.update(v.detach().contiguous().numpy().tobytes())

# one step's gradient: each rank its half of 4 shapes through DDP, against all 4 in one process
stage = get_stage("teacher")
shapes = MultiViewDataset(load_manifest(data), profile.image_size, profile.num_views, profile.view_style)
x = torch.stack([shapes[i][0] for i in range(4)])[:, :2]
y = shapes.labels[:4]
model.eval()  # BatchNorm on running statistics: the loss of a batch is the mean of per-sample losses
criterion = stage.loss(profile, None)
r, w = distributed.rank(), distributed.world_size()
model.zero_grad(set_to_none=True)
step = distributed.wrap(model, criterion, torch.device("cpu"))  # kept: DDP's backward needs it alive
step(model, (x[r::w], y[r::w]))[0].backward()
ddp_grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
model.zero_grad(set_to_none=True)
criterion(model, (x, y))[0].backward()
full_grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
err = float((ddp_grad - full_grad).abs().max() / full_grad.abs().max())
json.dump({"rank": r, "world": w, "hash": h.hexdigest(), "history": res.history, "best_val": res.best_val,
           "best_epoch": res.best_epoch, "grad_rel_err": err}, open(os.path.join(out, f"rank{r}.json"), "w"))
'''


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # what torchrun sets: one process and two compute alike
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    return env


def _run(cmd: list[str], tmp: Path, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=tmp, env={**_env(), **(env or {})}, capture_output=True, text=True, timeout=180)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _torchrun(nproc: int, args: list[str], tmp: Path, env: dict[str, str] | None = None,
              check: bool = True) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
                 *args], tmp, env, check)


def _train_cli(tmp: Path, data: Path, out: str) -> list[str]:
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    return ["-m", "sbsr_lab.cli", "--quiet", "train", "teacher", "--profile", "ci", *sets, "--data", str(data),
            "--out", str(tmp / out)]


def _drive(nproc: int, data: Path, out: Path, tmp: Path, save_after: int = -1, resume: bool = False,
           check: bool = True) -> subprocess.CompletedProcess:
    driver = tmp / "driver.py"
    driver.write_text(DRIVER)
    return _torchrun(nproc, [str(driver), str(data), str(out), str(save_after), json.dumps(TINY)], tmp,
                     {"RESUME": "1" if resume else "0"}, check)


def _ranks(out: Path) -> list[dict]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


@pytest.fixture(scope="module")
def setup(tiny_dataset, tmp_path_factory):
    tmp, data = tmp_path_factory.mktemp("distributed"), tiny_dataset  # 15 shapes: 4 steps of 4 (2 per rank)
    proc = _drive(2, data, tmp / "two", tmp, save_after=0)  # also keeps two-crashed/, the run after epoch 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as torchrun's processes (OMP_NUM_THREADS=1): the same floating-point sums
    try:
        fit("teacher", get_profile("ci", **TINY), data, tmp / "one", progress=False)  # one plain process
    finally:
        torch.set_num_threads(threads)
    return tmp, data, proc


def test_two_processes_agree_and_write_once(setup):
    tmp, data, proc = setup
    out = tmp / "two"
    r0, r1 = _ranks(out)
    assert (r0["world"], r1["world"]) == (2, 2)
    assert r0["hash"] == r1["hash"], "DDP must keep the ranks' weights identical"
    for r in (r0, r1):
        assert r["grad_rel_err"] < 1e-5, r["grad_rel_err"]  # averaged half-batch gradients = whole batch
    # every rank took the same validation (rank 0's) and so the same best epoch
    assert [h["val_acc"] for h in r0["history"]] == [h["val_acc"] for h in r1["history"]]
    assert r0["best_epoch"] == r1["best_epoch"] and r0["best_val"] == r1["best_val"]
    # rank 0 alone writes: 2 rows in metrics.csv, one progress line per epoch
    assert len(_csv(out / "metrics.csv")) == 2
    text = proc.stdout + proc.stderr
    assert text.count("teacher epoch 1/2:") == 1 and text.count("teacher epoch 2/2:") == 1, text[-2000:]
    assert sorted(p.name for p in out.glob("*.json")) == ["best.json", "last.json", "rank0.json", "rank1.json"]
    meta = json.loads((out / "last.json").read_text())
    assert meta["epoch"] == 1 and len(meta["history"]) == 2


def test_two_processes_match_one_within_tolerance(setup):
    tmp, data, _ = setup
    one = [{k: float(v) for k, v in row.items()} for row in _csv(tmp / "one" / "metrics.csv")]
    two = _ranks(tmp / "two")[0]["history"]
    assert len(one) == len(two) == 2
    assert abs(max(h["val_acc"] for h in one) - max(h["val_acc"] for h in two)) <= 1 / 3 + 1e-9
    loss1, loss2 = sum(h["loss"] for h in one) / 2, sum(h["loss"] for h in two) / 2
    assert abs(loss1 - loss2) <= 0.4 * loss1, (loss1, loss2)
    # the same schedule: one process and two step through the same learning rates
    assert [h["lr"] for h in one] == pytest.approx([h["lr"] for h in two])


def test_resume_under_torchrun_replays_the_uninterrupted_run(setup):
    """Every rank loads ``last`` of a run stopped after epoch 0; rank 0 writes; the end is the uninterrupted run's."""
    tmp, data, _ = setup
    out = tmp / "two-crashed"
    assert json.loads((out / "last.json").read_text())["epoch"] == 0 and len(_csv(out / "metrics.csv")) == 1
    _drive(2, data, out, tmp, resume=True)
    resumed, whole = _ranks(out), _ranks(tmp / "two")
    assert resumed[0]["hash"] == resumed[1]["hash"] == whole[0]["hash"]
    keys = ("epoch", "lr", "val_acc", "loss", "am")
    assert [[h[k] for k in keys] for h in resumed[0]["history"]] == [[h[k] for k in keys] for h in whole[0]["history"]]
    assert len(_csv(out / "metrics.csv")) == 2


def test_one_process_torchrun_cli_trains_as_a_plain_run(setup):
    """``torchrun --nproc_per_node 1 -m sbsr_lab.cli train`` (WORLD_SIZE=1, the GPU check's smoke run):
    a process group of one, DDP around the loss, the plain loaders: exactly the numbers of a plain run."""
    tmp, data, _ = setup
    _torchrun(1, _train_cli(tmp, data, "cli1"), tmp)
    keys = ("epoch", "lr", "val_acc", "loss")
    got = [[row[k] for k in keys] for row in _csv(tmp / "cli1" / "metrics.csv")]
    want = [[row[k] for k in keys] for row in _csv(tmp / "one" / "metrics.csv")]
    assert got == want

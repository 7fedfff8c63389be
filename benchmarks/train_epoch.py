"""Benchmark: one training epoch of every stage, with the images per second of the sketch and view networks.

    PYTHONPATH=. python benchmarks/train_epoch.py --profile full     # on a GPU (AMP on): issue 4's check
    PYTHONPATH=. python benchmarks/train_epoch.py --profile default  # on a CPU, a few minutes
    PYTHONPATH=. python benchmarks/train_epoch.py --profile ci --json out.json

The dataset of the profile is built first if it is missing (``--data``, default ``data/synthshapes-<profile>``;
``--workers`` processes). Then the five stages train for one epoch each, in the demo's order and with their
``--from`` runs (teacher -> student, sketch-uncertainty -> shape-transfer, joint), with the real training
loop (:func:`sbsr_lab.train.fit.fit`: data loading, augmentation, AMP and channels_last on CUDA, one
checkpoint). "images/s" counts training images through a backbone over the epoch's training loop
(validation excluded): sketches for the sketch network, rendered views (shapes x ``train_views``) for the
view network; the joint stage trains both at once, so its two rates share one clock. The first stage of a
run also pays for CUDA start-up and cuDNN autotuning: the table marks it. The rates do not depend on the
weights: on a machine without internet add ``--set pretrained=false`` (the ImageNet weights cannot be fetched).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from sbsr_lab.config import get_profile, parse_overrides
from sbsr_lab.data.build import default_root, ensure_dataset
from sbsr_lab.train.stage import method_stages
from sbsr_lab.train.fit import fit, resolve_device

#: (stage, the run it is pulled onto), in the demo's order.
STAGES: list[tuple[str, str | None]] = [pair for stages in method_stages().values() for pair in stages]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="full", choices=["ci", "default", "full"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="profile override")
    ap.add_argument("--data", type=Path, default=None, help="dataset folder (built if missing)")
    ap.add_argument("--workers", type=int, default=None, help="processes for building the data")
    ap.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = ap.parse_args()

    profile = get_profile(args.profile, **parse_overrides(args.set)).replace(epochs=1, sketch_epochs=1)
    data = args.data or default_root(profile)
    t0 = time.perf_counter()
    ensure_dataset(profile, data, workers=args.workers, progress=True)
    data_seconds = time.perf_counter() - t0
    device = resolve_device(profile.device)
    amp = profile.amp and device.type == "cuda"
    print(f"profile {profile.name}: {profile.backbone} at {profile.image_size} px, batch {profile.batch_size}, "
          f"{profile.train_views} training views per shape; device {device_name(device)}, AMP {'on' if amp else 'off'}; "
          f"data ready in {data_seconds:.0f} s")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, Path] = {}
        for i, (stage, parent) in enumerate(STAGES):
            run = Path(tmp) / stage
            res = fit(stage, profile, data, run, from_run=runs.get(parent) if parent else None, progress=False)
            runs[stage] = run
            h = res.history[-1]
            rows.append({"stage": stage, "epoch_seconds": round(h["seconds"], 2),
                         "sketch_images_per_s": round(h["sketch_images_per_s"], 1),
                         "view_images_per_s": round(h["view_images_per_s"], 1), "warm_up": i == 0})

    print(f"\n{'stage':20s} {'epoch s':>8s} {'sketch img/s':>13s} {'view img/s':>11s}")
    for r in rows:
        note = "  (includes start-up)" if r["warm_up"] else ""
        print(f"{r['stage']:20s} {r['epoch_seconds']:8.1f} {r['sketch_images_per_s']:13.1f} "
              f"{r['view_images_per_s']:11.1f}{note}")
    if args.json:
        args.json.write_text(json.dumps({"profile": profile.to_dict(), "device": device_name(device), "amp": amp,
                                         "data_seconds": round(data_seconds, 1), "stages": rows}, indent=1))


if __name__ == "__main__":
    main()

"""Benchmark: `data prepare` throughput (views/s) on SHREC-like meshes, projected to SHREC'14.

    PYTHONPATH=. python benchmarks/prepare.py                  # 40 meshes, full profile (224 px), workers 1 and 2
    PYTHONPATH=. python benchmarks/prepare.py --quick          # 8 meshes, a few seconds per setting
    PYTHONPATH=. python benchmarks/prepare.py --profile default --workers 1 2 4

The meshes mimic the SHREC'14 target models (a few thousand to ~10k faces on average): 40 OFF files
with 2k-20k faces (log-uniform), each a deformed UV sphere (the bulk of the faces, smooth bumps, so
shading and depth vary) with a few boxes and cylinders attached (legs, handles: self-occlusion and
several connected parts, like real models). They are written as ASCII OFF in the plain-folder layout
(``shapes/<class>/*.off``), and the *real* :func:`sbsr_lab.data.benchmarks.prepare.prepare_benchmark` runs on them:
OFF parsing, normalisation, ray casting of every view in the profile's style plus depth, PNG writing.

For each worker count it prints the wall time of the view stage (process start-up included), views/s
(one view = one camera of the rig, all styles) and views/s per core. The projection for SHREC'14
(8,987 models x 12 views) on 16 cores assumes **linear scaling per core**: rendering is embarrassingly
parallel (one shape per job, no shared state) and each worker is single-threaded, so 16 cores give
16x the one-core rate, as long as the machine has 16 real cores and the disk keeps up (~1 MB/s of PNGs).
The one-worker rate is the basis; on a busy shared machine the two-worker rate per core is lower
because the cores are not free, which is why both are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh

from sbsr_lab.config import get_profile
from sbsr_lab.data.benchmarks.off import write_off
from sbsr_lab.data.benchmarks.prepare import prepare_benchmark

SHREC14_MODELS = 8_987
TARGET_MINUTES = 15.0
TARGET_CORES = 16


def make_mesh(rng: np.random.Generator, faces: int) -> trimesh.Trimesh:
    """A closed-ish object of about ``faces`` triangles: a bumpy ellipsoid with 2-4 attached parts."""
    n = max(8, int(round(np.sqrt(faces / 3.9))))
    body = trimesh.creation.uv_sphere(radius=1.0, count=[n, n])
    v = body.vertices
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    bumps = sum(rng.uniform(0.03, 0.12) * np.sin(rng.uniform(2, 6) * (u @ rng.normal(size=3)) + rng.uniform(0, 6))
                for _ in range(3))
    body.vertices = u * (1.0 + bumps)[:, None] * rng.uniform(0.4, 1.2, 3)
    parts = [body]
    for _ in range(int(rng.integers(2, 5))):
        if rng.random() < 0.5:
            part = trimesh.creation.box(extents=rng.uniform(0.1, 0.6, 3))
        else:
            part = trimesh.creation.cylinder(radius=rng.uniform(0.05, 0.2), height=rng.uniform(0.5, 1.5), sections=24)
        part.apply_translation(rng.uniform(-1.0, 1.0, 3))
        parts.append(part)
    return trimesh.util.concatenate(parts)


def make_dataset(root: Path, count: int, seed: int = 0, classes: int = 4) -> list[int]:
    """``count`` OFF meshes in ``root/shapes/c<k>/`` with 2k-20k faces; returns their face counts."""
    rng = np.random.default_rng(seed)
    faces = []
    for i in range(count):
        mesh = make_mesh(rng, int(np.exp(rng.uniform(np.log(2_000), np.log(20_000)))))
        write_off(root / "shapes" / f"c{i % classes}" / f"m{i:04d}.off", mesh)
        faces.append(len(mesh.faces))
    return faces


def time_loading(root: Path) -> float:
    """Seconds to parse every OFF file once (one process): the I/O share of the work."""
    from sbsr_lab.data.benchmarks.off import read_off

    t0 = time.perf_counter()
    for path in sorted(root.glob("shapes/*/*.off")):
        read_off(path)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", type=int, default=40, help="number of generated meshes")
    parser.add_argument("--profile", default="full", help="profile giving rig, view size and style (default full)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    parser.add_argument("--quick", action="store_true", help="8 meshes only")
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated data in this folder")
    args = parser.parse_args()
    count = 8 if args.quick else args.meshes
    profile = get_profile(args.profile, orient="file")  # the render rate alone (orient=auto adds the model's judgement)
    views = profile.views_per_shape()
    styles = "+".join(dict.fromkeys((profile.view_style, "depth")))

    work = args.keep or Path(tempfile.mkdtemp(prefix="sbsr_prepare_bench_"))
    try:
        t0 = time.perf_counter()
        faces = make_dataset(work / "raw", count)
        print(f"{count} OFF meshes, {min(faces)}-{max(faces)} faces (mean {np.mean(faces):.0f}), "
              f"generated in {time.perf_counter() - t0:.1f}s")
        load_s = time_loading(work / "raw")
        print(f"OFF parsing alone: {load_s / count * 1000:.0f} ms per mesh")
        print(f"profile {profile.name}: rig {profile.rig} ({views} views), {profile.view_size} px, styles {styles}; "
              f"{os.cpu_count()} CPU cores visible")
        print(f"{'workers':>7} {'seconds':>8} {'views/s':>8} {'views/s/core':>13} {'s/shape/core':>13}")
        per_core = {}
        for w in args.workers:
            out = work / f"out_w{w}"
            shutil.rmtree(out, ignore_errors=True)
            report = prepare_benchmark("folder", work / "raw", profile, workers=w, progress=False, out=out)
            assert report.shapes_built == count and not report.failed, str(report)
            secs = report.seconds["views"]
            rate = count * views / secs
            per_core[w] = rate / max(w, 1)
            print(f"{w:>7} {secs:>8.1f} {rate:>8.1f} {per_core[w]:>13.1f} {secs * max(w, 1) / count:>13.2f}")

        total_views = SHREC14_MODELS * views
        print(f"\nProjection for SHREC'14 ({SHREC14_MODELS:,} models x {views} views = {total_views:,} views) on "
              f"{TARGET_CORES} cores, assuming linear scaling per core (one single-threaded worker per core):")
        for w, rate in per_core.items():
            minutes = total_views / (rate * TARGET_CORES) / 60
            verdict = "meets" if minutes <= TARGET_MINUTES else "misses"
            print(f"  from the {w}-worker rate ({rate:.1f} views/s/core): {minutes:.1f} min "
                  f"-> {verdict} the target of <= {TARGET_MINUTES:.0f} min")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""`sbsr-lab index` throughput against its floor: a bare Embree cast of the same views plus one forward pass.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/index_throughput.py [--count 24] [--workers 0] [--orient auto]

Writes ``--count`` SynthShapes meshes (turned at random onto one of the 24 axis orientations, as a real
collection comes) into a temporary folder and times, on the same meshes, side by side in one run:

* **index**: ``index_meshes`` with the packaged UACTN (drawn views, ``--orient``), everything included
  (reading, orientation, drawing, embedding, thumbnails, parts, the final gallery);
* **floor**: the Embree rays of every view index casts (per mesh: 6 candidates x 4 views and the 8 final
  views at 256 px, the 8 thumbnail views at 64 px x 2 supersampling) with :func:`sbsr_lab.render.rays.cast_rays`,
  plus one forward pass of the sketch network over as many drawings.

Target (issue 28): index <= 1.5 x floor. Also the peak resident memory of the process (bounded: parts
of :data:`sbsr_lab.serve.gallery.CHUNK` shapes are written as they finish) at this count. Run with
nothing else on the machine.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from sbsr_lab.data.synthshapes import make_shape
from sbsr_lab.render import normalize_mesh, ring_rig
from sbsr_lab.render.orient import stand_up, up_candidates
from sbsr_lab.render.rays import cast_rays
from sbsr_lab.serve.engine import load_engine
from sbsr_lab.serve.gallery import index_meshes
from sbsr_lab.serve.shape_encoder import CANDIDATE_VIEWS

CLASSES = ("airplane", "bed", "bench", "bottle", "car", "chair", "house", "lamp", "mug", "rocket", "table", "tree")


def write_collection(root: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    turns = Rotation.create_group("O").as_matrix()
    paths = []
    for i in range(count):
        cls = CLASSES[i % len(CLASSES)]
        mesh, _ = make_shape(cls, 900 + i // len(CLASSES), 0)
        mesh.vertices = np.asarray(mesh.vertices) @ turns[rng.integers(len(turns))].T
        path = root / cls / f"{cls}_{i:05d}.obj"
        path.parent.mkdir(parents=True, exist_ok=True)
        mesh.export(path)
        paths.append(path)
    return paths


def floor_seconds(paths: list[Path], engine, orient: str, views: int = 8) -> float:
    """The bare casts and one batched forward pass of the views index makes for these meshes."""
    import trimesh

    t0 = time.perf_counter()
    n_drawings = 0
    final, cand, thumbs = ring_rig(views, 20.0), ring_rig(CANDIDATE_VIEWS, 20.0), ring_rig(views, 20.0)
    for path in paths:
        mesh = trimesh.load(path, process=False)
        if orient == "auto":
            for _, up in up_candidates(mesh):
                cast_rays(normalize_mesh(stand_up(mesh, up)), cand, 256)
                n_drawings += len(cand)
        flat = normalize_mesh(mesh)
        cast_rays(flat, final, 256)
        cast_rays(flat, thumbs, 128)
        n_drawings += views
    with torch.no_grad():
        engine.class_cosines(torch.rand(n_drawings, 1, engine.image_size, engine.image_size))
    return time.perf_counter() - t0


def _rss_mb() -> float:
    """Resident memory of this process now, MB (Linux /proc; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--orient", default="auto", choices=["auto", "file"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    engine = load_engine("bundle:uactn")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write_collection(root / "meshes", args.count)
        start_mb = _rss_mb()
        t0 = time.perf_counter()
        desc = index_meshes(root / "meshes", root / "gallery", engine, orient=args.orient, workers=args.workers,
                            progress=False)
        index = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the floor runs
        floor = floor_seconds(paths, engine, args.orient)
    print(f"{args.count} meshes ({desc['count']} indexed), orient={args.orient}, workers={args.workers}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"index  {index:7.1f} s  ({1e3 * index / args.count:6.0f} ms per mesh)")
    print(f"floor  {floor:7.1f} s  ({1e3 * floor / args.count:6.0f} ms per mesh: bare Embree casts + one forward pass)")
    print(f"ratio  {index / floor:7.2f} x  (target <= 1.5)")
    print(f"resident memory: {start_mb:.0f} MB before indexing, peak {peak_mb:.0f} MB by its end "
          f"(the process's peak so far, meshes written included)")


if __name__ == "__main__":
    main()

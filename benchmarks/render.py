"""Benchmark: CPU ray-cast rendering speed in views per second per core.

    PYTHONPATH=. python benchmarks/render.py            # ring12 at 128 px and 224 px, several meshes
    PYTHONPATH=. python benchmarks/render.py --quick    # fewer meshes and rounds

What is timed: ``render_views(mesh, get_rig("ring12"), size, styles=("shaded", "depth", "lines"))``
with the default 2 x 2 supersampling, i.e. one cast for the 12 views giving all three styles. Each
round renders every benchmark mesh once, in turn, so the Embree scene (BVH) of each mesh is built
inside the timing, as when a dataset is rendered; the rays of the rig are cached per rig and size, as
in real use. Mesh normalisation is done beforehand and not timed.

Per core: the views are divided by the process CPU time (user + system, all threads), so the figure
does not depend on other programs sharing the machine; ``threads`` = CPU time / wall time shows how
many cores the process really used (BLAS/OpenMP pools are pinned to one thread; Embree traces rays
on the calling thread and only builds its BVH in parallel). Target: >= 60 views/s per core at 128 px.

The floor: a bare Embree first-hit cast (``embreex``: scene build + ``run(origins, dirs)``) of exactly the
rays ``render_views`` casts for the same meshes, sizes and supersampling, with no shading, depth or
line extraction; the ratio ours / floor says what everything around the cast costs.

Meshes: trimesh primitive combinations of ~2-4k faces, plus SynthShapes shapes when that package is
importable.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from sbsr_lab.render import get_rig, normalize_mesh, render_views  # noqa: E402

STYLES = ("shaded", "depth", "lines")
TARGET = 60.0


def _rot(axis: tuple[float, float, float], angle: float = np.pi / 2) -> np.ndarray:
    return trimesh.transformations.rotation_matrix(angle, axis)


def primitive_meshes() -> dict[str, trimesh.Trimesh]:
    """A few furniture-like combinations of primitives, ~2-4k faces each."""
    c = trimesh.creation
    table = [c.box((1.6, 0.08, 1.0)).apply_translation((0, 0.75, 0))]
    table += [c.cylinder(0.04, 0.75, sections=64).apply_transform(_rot((1, 0, 0))).apply_translation((x, 0.375, z))
              for x in (-0.7, 0.7) for z in (-0.4, 0.4)]
    lamp = [c.cylinder(0.25, 0.04, sections=96).apply_transform(_rot((1, 0, 0))),
            c.cylinder(0.02, 1.2, sections=48).apply_transform(_rot((1, 0, 0))).apply_translation((0, 0.6, 0)),
            c.cone(0.35, 0.35, sections=96).apply_transform(_rot((1, 0, 0), -np.pi / 2)).apply_translation((0, 1.1, 0)),
            c.icosphere(4, radius=0.08).apply_translation((0, 1.15, 0))]
    mug = [c.annulus(0.3, 0.35, 0.8, sections=256),
           c.cylinder(0.3, 0.04, sections=128).apply_translation((0, 0, -0.38)),
           c.torus(0.2, 0.04, major_sections=64, minor_sections=16).apply_transform(_rot((1, 0, 0)))
           .apply_translation((0.4, 0, 0))]
    rocket = [c.capsule(1.4, 0.2, count=(48, 48)),
              *[c.box((0.02, 0.4, 0.3)).apply_translation((0.25 * np.cos(a), -0.6, 0.25 * np.sin(a)))
                .apply_transform(_rot((0, 1, 0), a)) for a in np.linspace(0, 2 * np.pi, 4, endpoint=False)]]
    combos = {"table": table, "lamp": lamp, "mug": mug, "rocket": rocket}
    return {k: normalize_mesh(trimesh.util.concatenate(v)) for k, v in combos.items()}


def synthshapes_meshes(count: int) -> dict[str, trimesh.Trimesh]:
    """``count`` SynthShapes meshes of different classes, or none if the package is not importable."""
    try:
        from sbsr_lab.data.synthshapes import available_classes, make_shape
    except ImportError as exc:  # being written concurrently; the benchmark still runs without it
        print(f"(SynthShapes not importable: {exc}; timing primitive meshes only)")
        return {}
    out = {}
    for name in list(available_classes())[:count]:
        mesh, _ = make_shape(name, 0)
        out[f"synth:{name}"] = normalize_mesh(mesh)
    return out


def time_rendering(meshes: dict[str, trimesh.Trimesh], size: int, rounds: int, **kwargs) -> dict[str, float]:
    """Render every mesh ``rounds`` times (mesh after mesh); views/s per core and the threads used."""
    rig = get_rig("ring12")
    first = next(iter(meshes.values()))
    render_views(first, rig, size=size, styles=STYLES, **kwargs)  # warm the ray cache (per rig and size)
    render_views(trimesh.creation.box(), rig, size=8)  # so the first mesh's scene is rebuilt in the timing
    views = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for mesh in meshes.values():
            render_views(mesh, rig, size=size, styles=STYLES, **kwargs)
            views += len(rig)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"views": views, "wall_s": wall, "cpu_s": cpu, "per_core": views / cpu, "wall_views_s": views / wall,
            "threads": cpu / wall}


def time_bare_embree(meshes: dict[str, trimesh.Trimesh], size: int, rounds: int, supersample: int = 2) -> dict[str, float]:
    """The floor: per mesh, an Embree scene and one first-hit cast of the rig's rays, nothing else."""
    from embreex import rtcore_scene
    from embreex.mesh_construction import TriangleMesh

    from sbsr_lab.render.rays import camera_rays  # the very rays render_views casts (cached per rig, size)

    rig = tuple(get_rig("ring12"))
    rays = camera_rays(rig, size * supersample)
    views = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for mesh in meshes.values():
            scene = rtcore_scene.EmbreeScene()
            TriangleMesh(scene=scene, vertices=np.asarray(mesh.vertices, dtype=np.float32),
                         indices=np.asarray(mesh.faces, dtype=np.int32))
            scene.run(rays.origins, rays.dirs, output=1)
            views += len(rig)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"views": views, "wall_s": wall, "cpu_s": cpu, "per_core": views / cpu, "wall_views_s": views / wall,
            "threads": cpu / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer meshes and rounds")
    parser.add_argument("--build-profiles", default="ci,default",
                        help="profiles whose full data build is timed (comma-separated; '' for none)")
    parser.add_argument("--workers", type=int, default=None, help="build worker processes (default: all cores)")
    args = parser.parse_args()
    meshes = primitive_meshes()
    meshes.update(synthshapes_meshes(2 if args.quick else 6))
    rounds = 1 if args.quick else 3
    faces = [len(m.faces) for m in meshes.values()]
    print(f"{len(meshes)} meshes ({min(faces)}-{max(faces)} faces): {', '.join(meshes)}")
    print(f"styles {STYLES} from one cast, ring12 (12 views), supersample 2; {rounds} round(s)\n")
    print(f"{'setting':<34}{'views':>7}{'CPU s':>8}{'wall s':>8}{'threads':>9}{'views/s/core':>14}"
          f"{'bare Embree':>13}{'ours/floor':>12}")
    results = {}
    for label, size, kwargs in [("128 px, supersample 2 (default)", 128, {}),
                                ("128 px, supersample 1", 128, {"supersample": 1}),
                                ("224 px, supersample 2 (default)", 224, {}),
                                ("224 px, supersample 1", 224, {"supersample": 1})]:
        r = time_rendering(meshes, size, rounds, **kwargs)
        floor = time_bare_embree(meshes, size, rounds, kwargs.get("supersample", 2))
        results[label] = r
        # per-core rates: ours takes floor_rate / our_rate times the CPU time of the bare cast
        print(f"{label:<34}{r['views']:>7}{r['cpu_s']:>8.2f}{r['wall_s']:>8.2f}{r['threads']:>9.2f}"
              f"{r['per_core']:>14.1f}{floor['per_core']:>13.1f}{floor['per_core'] / r['per_core']:>11.2f}x")
    got = results["128 px, supersample 2 (default)"]["per_core"]
    verdict = "met" if got >= TARGET else "MISSED"
    print(f"\ntarget >= {TARGET:.0f} views/s per core at 128 px (default settings): {got:.1f} -> {verdict}")
    time_builds([p for p in args.build_profiles.split(",") if p], args.workers)


def time_builds(profiles: list[str], workers: int | None) -> None:
    """Time `sbsr-lab data build` per profile from scratch into a temporary folder (targets: ci < 60 s,
    default <= 180 s)."""
    import tempfile
    import time

    from sbsr_lab.data.build import build_synthshapes

    targets = {"ci": 60.0, "default": 180.0}
    if profiles:
        print(f"\n{'data build':<12}{'shapes':>8}{'sketches':>10}{'seconds':>10}{'target':>9}")
    for name in profiles:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            report = build_synthshapes(name, Path(tmp) / name, workers=workers, progress=False)
            secs = time.perf_counter() - t0
        target = targets.get(name)
        verdict = "" if target is None else f"{'<=' if secs <= target else '>'} {target:.0f}"
        print(f"{name:<12}{report.shapes_built:>8}{report.sketches_built:>10}{secs:>10.1f}{verdict:>9}")


if __name__ == "__main__":
    main()

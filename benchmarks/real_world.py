"""SynthShapes -> the real world, one table: drawings -> class, drawings -> real meshes, real-mesh classification.

    PYTHONPATH=. python benchmarks/real_world.py --sketches ../shared/realdata/sketches \\
        --shapes ../shared/realdata/shapes --work build/real-world --json build/real-world.json
    PYTHONPATH=. python benchmarks/real_world.py ... --methods uactn --settings drawn/auto drawn/file shaded/file
    PYTHONPATH=. python benchmarks/real_world.py ... --bundle B1 --seed 1 --work build/rw-s1 --json s1.json
    PYTHONPATH=. python benchmarks/real_world.py --combine s0.json s1.json s2.json --json docs/results/real-world-seeds.json

For every method of the bundle (``--methods``) and shape-side setting (``--settings ENCODER/ORIENT``:
encoder ``drawn`` or ``shaded``, orientation ``auto``, ``file`` or ``pca``), the meshes of ``--shapes``
(class sub-folders) are indexed with ``sbsr-lab index`` (galleries kept under ``--work``, reused), and
the drawings of ``--sketches`` are queried against them (:mod:`sbsr_lab.serve.real_world` has the
definitions). Also prints, for comparison, the drawings against each method's own SynthShapes gallery.
Run with ``OMP_NUM_THREADS=1`` and nothing else on the machine for the timings in the JSON.

``--bundle DIR`` measures an exported bundle instead of the packaged one (e.g. the bundle recipe trained at
another seed, ``--seed`` recording which; each bundle has its own default ``--work``); ``--combine`` gathers such
tables, one per seed, into mean ± std (:func:`sbsr_lab.serve.real_world.combine_seeds`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch

from sbsr_lab.serve.bundle import default_bundle_path
from sbsr_lab.serve.engine import bundle_methods, load_engine
from sbsr_lab.errors import SbsrError
from sbsr_lab.serve.real_world import SETTINGS, combine_seeds, format_real_world, real_world_table
from sbsr_lab.serve.sketch_files import score_sketch_folder


def default_work(bundle: str | None) -> Path:
    """``build/real-world-<first 10 hex digits of the SHA-256 of bundle.json>``: the galleries of one bundle. A
    retrained bundle (new weights, so a new temperature and threshold in its bundle.json) gets folders of its
    own, where one named after the bundle's folder would hand it the galleries of the model it replaced."""
    desc = (Path(bundle) if bundle else default_bundle_path()) / "bundle.json"
    digest = hashlib.sha256(desc.read_bytes()).hexdigest()[:10] if desc.is_file() else "none"
    return Path("build") / f"real-world-{digest}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sketches", help="drawings in class sub-folders")
    ap.add_argument("--shapes", help="meshes in class sub-folders")
    ap.add_argument("--bundle", help="an exported bundle folder (default: the packaged bundle)")
    ap.add_argument("--seed", type=int, help="the training seed of that bundle's recipe (recorded in the JSON)")
    ap.add_argument("--combine", nargs="+", metavar="JSON",
                    help="instead of measuring: gather the --json tables of several seeds into mean ± std")
    ap.add_argument("--work", help="where the galleries are kept (reused; default build/real-world-<digest of the "
                                   "bundle's bundle.json>: a gallery belongs to one model)")
    ap.add_argument("--methods", nargs="+", help="bundle methods (default: all)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), help="ENCODER/ORIENT (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json", help="write the table as JSON")
    args = ap.parse_args()
    if args.combine:
        try:
            combined = combine_seeds([json.loads(Path(p).read_text()) for p in args.combine])
        except (OSError, ValueError, KeyError, SbsrError) as e:
            ap.exit(2, f"real_world.py --combine: {e}\n")
        for r in combined["rows"]:
            cells = "  ".join(f"{k} {r['mean'][k]:.3f} ± {r['std'][k]:.3f}" for k in r["mean"] if r["mean"][k] is not None)
            print(f"{r['method']:<8} {r['setting']:<12} {cells}")
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(combined, indent=1))
        return
    if not (args.sketches and args.shapes):
        ap.error("--sketches and --shapes are needed (or --combine JSON...)")
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    work = args.work or default_work(args.bundle)
    try:
        table = real_world_table(args.sketches, args.shapes, work, args.methods, args.settings, bundle=args.bundle,
                                 workers=args.workers)
    except SbsrError as e:
        ap.exit(2, f"real_world.py: {e}\n")
    table["seed"] = args.seed
    table["synthshapes_gallery"] = {}
    for method in args.methods or bundle_methods(args.bundle):
        overall = score_sketch_folder(load_engine(f"bundle:{method}", bundle=args.bundle), args.sketches)["overall"]
        table["synthshapes_gallery"][method] = {k: overall[k] for k in ("top1", "p10", "map", "class_accuracy")}
    table["seconds"] = round(time.perf_counter() - t0, 1)
    table["torch_threads"] = torch.get_num_threads()
    print(format_real_world(table))
    print("\nthe same drawings against each method's SynthShapes gallery:")
    for method, m in table["synthshapes_gallery"].items():
        print(f"  {method:<8} top-1 {m['top1']:.3f}  P@10 {m['p10']:.3f}  mAP {m['map']:.3f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()

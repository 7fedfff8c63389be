"""``sbsr-lab``: a thin command line over the functions the notebooks call.

    sbsr-lab demo [--profile default] [--out DIR]         the main job on the embedded data
    sbsr-lab demo --methods all                           ... with the field's other approaches too
    sbsr-lab data build --profile ci --root DIR           SynthShapes: meshes, views, sketches, manifest
    sbsr-lab data sheet --profile ci --root DIR --out F   contact sheet PNG of a dataset
    sbsr-lab data fetch shrec13 --root DIR                download a real benchmark (resumable, verified)
    sbsr-lab data prepare shrec13 --root DIR              validate it, render views, write manifest.json
    sbsr-lab data prepare shrec14 --root DIR --shape-split part-shrec14   ... PART-SHREC14: shapes split too
    sbsr-lab render MESH --out PNG                        every view style of one mesh file
    sbsr-lab train STAGE --data DIR --out RUN [--from RUN] train one stage of a method
    sbsr-lab evaluate RUN | --queries Q --gallery G       SHREC metrics of a method or of saved embeddings
    sbsr-lab course build | check                         learner notebooks from the solutions
    sbsr-lab course grade FOLDER [--timeout S] [--out CSV]  run a class's notebooks: one CSV row per learner and exercise
    sbsr-lab query SKETCH... [--k 10] [--model RUN] [--json]  ranked gallery shapes for sketch files/folders
    sbsr-lab score-sketches FOLDER [--model RUN] [--json]  top-1, P@10, mAP per class of your own drawings
    sbsr-lab app [--port N] [--host H] [--no-browser]      the live sketch demo as a web page (one process)

The commands that build, render or train (``demo``, ``data build|sheet|prepare``, ``render``, ``train``)
take ``--profile`` and ``--set key=value`` overrides of the profile (see ``sbsr_lab/config.py``); the
others read the profile recorded in the run or bundle they are given. Errors that sbsr_lab raises on purpose are printed without a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from sbsr_lab.config import PROFILES, Profile, check_root, get_profile, parse_overrides
from sbsr_lab.data.shape_split import SHAPE_SPLITS
from sbsr_lab.errors import SbsrError, SketchError
from sbsr_lab.io import atomic_write_bytes

__all__ = ["main", "build_parser"]

# Each command imports what it runs inside its function (torch, trimesh, Jupyter's libraries take seconds):
# `sbsr-lab --help`, argument parsing and the quick commands never wait for them
# (tests/test_cli.py::test_help_and_parsing_never_import_torch).


def _profile(args: argparse.Namespace) -> Profile:
    overrides = parse_overrides(getattr(args, "set", None))
    if getattr(args, "workers", None) is not None:
        overrides["workers"] = args.workers
    return get_profile(args.profile, **overrides)


def _add_profile(p: argparse.ArgumentParser, default: str = "default") -> None:
    p.add_argument("--profile", default=default, choices=sorted(PROFILES), help=f"size of everything (default: {default})")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile field, e.g. --set epochs=3")


# -- data ---------------------------------------------------------------------------------------------

def cmd_data_build(args: argparse.Namespace) -> int:
    from sbsr_lab.data.build import build_synthshapes

    profile = _profile(args)
    t0 = time.perf_counter()
    report = build_synthshapes(profile, args.root, workers=args.workers, progress=not args.quiet, shard=args.shard)
    print(report)
    part = f" --shard {args.shard} (merge with `sbsr-lab data merge` once every shard is done)" if args.shard else ""
    print(f"data build --profile {profile.name}{part}: {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_data_merge(args: argparse.Namespace) -> int:
    from sbsr_lab.data.build import build_synthshapes, default_root
    from sbsr_lab.data.shards import PARTS_DIR

    profile = _profile(args)
    root = Path(args.root) if args.root else default_root(profile)
    if not (root / PARTS_DIR).is_dir():
        raise SbsrError(f"{root} holds no {PARTS_DIR}/ to merge. Fix: run `sbsr-lab data build --shard I/N` "
                        "for I = 0..N-1 into that --root first.")
    build_synthshapes(profile, root, workers=0, progress=False)  # no shard: checks every part, then merges
    print(f"data merge: {root / 'manifest.json'}")
    return 0


def cmd_data_sheet(args: argparse.Namespace) -> int:
    from sbsr_lab.data.build import ensure_dataset
    from sbsr_lab.data.contact_sheet import contact_sheet

    profile = _profile(args)
    manifest = ensure_dataset(profile, args.root, workers=args.workers, progress=not args.quiet)
    out = contact_sheet(manifest, args.out)
    print(f"contact sheet: {out}")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from sbsr_lab.data.benchmarks import scan_benchmark, validate
    from sbsr_lab.data.benchmarks.fetch import fetch_dataset

    path = fetch_dataset(args.name, args.root, base_url=args.url, progress=not args.quiet,
                         max_extract_gb=args.max_extract_gb, max_ratio=args.max_extract_ratio)
    print(validate(scan_benchmark(args.name, path), raise_on_error=False))
    print(f"{args.name}: ready in {path}; next: sbsr-lab data prepare {args.name} --root {path}")
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from sbsr_lab.data.benchmarks.prepare import prepare_benchmark

    profile = _profile(args)
    orienter = None
    if profile.orient == "auto":  # the packaged model judges which way is up (render/orient.py)
        from sbsr_lab.serve.engine import load_engine
        from sbsr_lab.serve.shape_encoder import DrawnViewEncoder

        orienter = DrawnViewEncoder(load_engine(), orient="auto").orientation
    report = prepare_benchmark(args.name, args.root, profile, workers=args.workers, strict=not args.allow_missing,
                               progress=not args.quiet, out=args.out, shard=args.shard, orienter=orienter,
                               shape_split=args.shape_split)
    print(report)
    return 0


# -- render -------------------------------------------------------------------------------------------

def cmd_render(args: argparse.Namespace) -> int:
    import numpy as np

    from sbsr_lab.data.meshes import load_mesh
    from sbsr_lab.io import save_png
    from sbsr_lab.render import STYLES, get_rig, normalize_mesh, render_views

    profile = _profile(args)
    mesh = normalize_mesh(load_mesh(args.mesh), upright=profile.upright, pca=profile.pca_align)
    styles = [s for s in STYLES if s != "normals"]
    views = render_views(mesh, get_rig(profile.rig), size=args.size, styles=tuple(styles))
    rows = [np.concatenate(list(views[s]), axis=1) for s in styles]
    save_png(args.out, np.concatenate(rows, axis=0))
    print(f"{args.mesh}: {len(styles)} styles x {rows[0].shape[1] // args.size} views -> {args.out}")
    return 0


# -- course -------------------------------------------------------------------------------------------

def cmd_course(args: argparse.Namespace) -> int:
    from sbsr_lab.course import build_course, check_course

    if args.action == "grade":
        from sbsr_lab.grade import grade_folder

        if not args.folder:
            raise SbsrError("course grade needs the folder of the class's notebooks: sbsr-lab course grade FOLDER")
        csv_path = grade_folder(args.folder, args.root, args.out, timeout=args.timeout, resume=not args.regrade)
        print(f"course grade: {csv_path}")
        return 0
    if args.action == "build":
        written = build_course(args.root)
        print(f"course build: {len(written)} notebook(s) written" + "".join(f"\n  {p}" for p in written))
        return 0
    problems = check_course(args.root)
    for p in problems:
        print(p)
    print("course check: " + ("all notebooks in sync" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


# -- demo ---------------------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    from sbsr_lab.pipeline import run_demo

    profile = _profile(args)
    run_demo(profile, args.data, args.out, workers=args.workers, progress=not args.quiet, methods=args.methods)
    return 0


# -- train / evaluate -----------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    from sbsr_lab.data.build import default_root
    from sbsr_lab.train.fit import fit

    profile = _profile(args)
    data = args.data or default_root(profile)
    result = fit(args.stage, profile, data, args.out, from_run=args.from_run, resume=args.resume,
                 overwrite=args.overwrite, progress=not args.quiet)
    from sbsr_lab.train.distributed import is_main

    if is_main():  # under torchrun: once, by rank 0
        print(f"{result.stage}: best val_acc {result.best_val:.3f} at epoch {result.best_epoch + 1}, "
              f"{result.seconds:.1f} s -> {result.run}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sbsr_lab.io import atomic_write_json
    from sbsr_lab.retrieval.evaluate import metrics_table_text

    if args.run:
        from sbsr_lab.retrieval.runs import evaluate_method

        ev = evaluate_method(args.run, args.data, split=args.split, ties=args.ties)
        report = {"method": ev.method, "metrics": ev.metrics, "per_class": ev.per_class,
                  "pr": {"recall": ev.pr_recall, "precision": ev.pr_precision},
                  "uncertainty_noise_spearman": ev.spearman_sigma_noise,
                  "uncertainty_noise_spearman_within_class": ev.spearman_sigma_noise_within_class,
                  "per_style": ev.per_style, "map_per_group": ev.map_per_group, "ties": args.ties,
                  "split": args.split,  # which sketches: test, or val (choose settings there), or train
                  "shape_split": ev.shape_split}  # the gallery: None = every shape, else that split's test shapes
    elif args.queries and args.gallery:
        from sbsr_lab.retrieval.evaluate import evaluate_files

        report = evaluate_files(args.queries, args.gallery, ties=args.ties)
    else:
        raise SbsrError("evaluate needs a RUN folder, or both --queries and --gallery embedding files.")
    print(metrics_table_text({report.get("method", "embeddings"): report["metrics"]}))
    if report.get("shape_split"):
        print(f"gallery: the test shapes of {report['shape_split']}; long-tail groups count its training shapes")
    if args.out:
        atomic_write_json(args.out, report)
        print(f"report: {args.out}")
    return 0


# -- query / app ----------------------------------------------------------------------------------------

def _report_failure(path: Path, err: Exception, as_json: bool) -> None:
    """One refused file of a batch: a JSON line on stdout (``--json``) or an error line on stderr."""
    if as_json:
        print(json.dumps({"path": str(path), "error": str(err)}), flush=True)
    else:
        print(f"sbsr-lab: error: {err}", file=sys.stderr)


def cmd_query(args: argparse.Namespace) -> int:
    from sbsr_lab.serve.sketch_files import collect_sketch_files, read_sketch_file

    if args.k < 1:
        raise SbsrError(f"--k must be at least 1, got {args.k}.")
    paths = collect_sketch_files(args.sketch)
    figure = _figure_path(args.figure, paths) if args.figure else None
    engine = None
    failed = 0
    for path in paths:
        try:  # a file that cannot be read or answered (a blank page) is reported, and the batch goes on
            sketch = read_sketch_file(path)  # read and checked before the model is loaded
            if engine is None:
                from sbsr_lab.serve.engine import load_engine

                engine = load_engine(args.model, args.data, args.bundle, gallery=args.gallery)  # once for every sketch
            result = engine.query(sketch, k=args.k)
        except SketchError as err:
            if len(paths) == 1:
                raise
            failed += 1
            _report_failure(path, err, args.json)
            continue
        if figure is not None:
            from sbsr_lab.serve.figure import result_figure

            out = io.BytesIO()
            result_figure(engine.prepare(sketch), result, engine.thumbnails_of(result)).save(out, format="PNG")
            atomic_write_bytes(figure, out.getvalue())
        if args.json:
            print(json.dumps({"path": str(path), **result.to_json()}), flush=True)
            continue
        unc = "" if result.uncertainty is None else f", uncertainty {result.uncertainty:.4f}"
        p = result.probabilities[result.predicted_class]
        if result.is_ood:
            head = (f"this does not look like any class I know (OOD score {result.ood['score']:.3f} < "
                    f"{result.ood['threshold']:.3f}; nearest class {result.predicted_class}, p={p:.2f}")
        else:
            article = "an" if result.predicted_class[:1].lower() in "aeiou" else "a"
            head = f"looks like {article} {result.predicted_class} (p={p:.2f}"
        print(f"{_shown(path)}: {head}{unc}; {engine.method}, {len(engine.index)} shapes, {1e3 * result.seconds:.0f} ms)")
        print(f"{'rank':>4}  {'score':>7}  {'class':<14} id")
        for r in result.results:
            print(f"{r['rank']:>4}  {r['score']:>7.4f}  {str(r['class']):<14} {r['id']}")
        if len(paths) > 1:
            print()
    if failed:
        print(f"sbsr-lab query: {failed} of {len(paths)} sketch file(s) could not be read or answered (see above).",
              file=sys.stderr)
        return 2
    return 0


def cmd_score_sketches(args: argparse.Namespace) -> int:
    from sbsr_lab.serve.engine import load_engine
    from sbsr_lab.serve.sketch_files import SKETCH_SUFFIXES, class_folders, format_folder_score, score_sketch_folder

    suffixes = tuple(s if s.startswith(".") else f".{s}" for s in (args.only or SKETCH_SUFFIXES))
    unknown = [s for s in suffixes if s.lower() not in SKETCH_SUFFIXES]
    if unknown:
        raise SbsrError(f"--only {', '.join(unknown)}: not a sketch format; use some of {', '.join(SKETCH_SUFFIXES)}.")
    engine = load_engine(args.model, args.data, args.bundle, gallery=args.gallery)
    if args.gallery is not None and not engine.index.classes:
        raise SbsrError(f"--gallery {args.gallery}: its shapes have no labels (the meshes were not in class sub-folders), "
                        "so top-1, P@10 and mAP cannot be scored against it. Fix: index a folder with one sub-folder "
                        "per class, or score without --gallery.")
    class_folders(args.folder, engine.class_names, suffixes)  # the clear error for unknown class folders first
    report = score_sketch_folder(engine, args.folder, suffixes)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_folder_score(report))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from sbsr_lab.serve.engine import load_engine, load_shape_net
    from sbsr_lab.serve.gallery import find_meshes, index_meshes

    if args.workers is not None and not 0 <= args.workers <= 256:
        raise SbsrError(f"--workers must be between 0 and 256, got {args.workers}.")
    find_meshes(args.folder)  # the clear error for a folder without meshes before the model loads
    engine = load_engine(args.model, args.data, args.bundle)
    shape_net, profile = load_shape_net(args.model, args.bundle) if args.encoder == "shaded" else (None, None)
    desc = index_meshes(args.folder, args.out, engine, shape_net, profile, encoder=args.encoder, orient=args.orient,
                        workers=args.workers or 0, progress=not args.quiet, overwrite=args.overwrite)
    print(f"sbsr-lab index: gallery of {desc['count']} shapes written to {args.out}; query it with "
          f"`sbsr-lab query SKETCH --gallery {args.out}`" + (f" ({len(desc['failed'])} mesh{'es' if len(desc['failed']) != 1 else ''} skipped)" if desc["failed"] else ""))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    import webbrowser

    from sbsr_lab.widgets.server import AppConfig, is_loopback, serve

    history: str | bool | None = False if args.no_history else args.history
    config = AppConfig(model=args.model, bundle=args.bundle, data=args.data, gallery=args.gallery, k=args.k, history=history,
                       host=args.host, port=args.port or 0, token=args.token, workers=args.workers)

    def on_listening(url: str, state) -> None:
        print(f"sbsr-lab app: the sketch demo is at {url} (Ctrl-C or SIGTERM to stop)", flush=True)
        if not is_loopback(config.host):
            print("sbsr-lab app: anyone who can reach this machine and has the address (it holds the token) "
                  "can use the app; the address without the token is refused.", flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    code = serve(config, on_listening)
    print("sbsr-lab app: stopped.", flush=True)
    return code


# -- parser -------------------------------------------------------------------------------------------

def _port(text: str) -> int:
    """``--port``: an integer in 1..65535 (argparse turns the ValueError into a usage error, exit 2)."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is not in 1..65535")
    return value


_port.__name__ = "port"  # argparse names the type in its message: "invalid port value: '70000'"


def _figure_path(figure: str, sketches: list[Path]) -> Path:
    """``--figure``'s file, checked before anything runs: one sketch only, a new or PNG file, not a sketch."""
    out = Path(figure).expanduser()
    if len(sketches) != 1:
        raise SbsrError(f"--figure draws the result of one sketch, and {len(sketches)} were given. Fix: query one "
                        "sketch file with --figure, or leave --figure out.")
    if out.suffix.lower() != ".png":
        raise SbsrError(f"--figure {figure}: the picture is written as PNG; name a .png file.")
    if out.is_dir() or (out.exists() and out.resolve() == sketches[0].resolve()):
        raise SbsrError(f"--figure {figure}: that is {'a folder' if out.is_dir() else 'the sketch itself'}; "
                        "name a new .png file.")
    if not out.parent.is_dir():
        raise SbsrError(f"--figure {figure}: the folder {out.parent} does not exist. Fix: create it first.")
    return out


def _shown(path: Path) -> str:
    """A file name as printed in a result line: control characters (a newline that would forge a line)
    escaped, as Python writes them."""
    name = path.name
    return name if name.isprintable() else ascii(name)[1:-1]


def _add_app_arguments(app: argparse.ArgumentParser) -> None:
    app.add_argument("--port", type=_port, help="port, 1-65535 (default: a free one)")
    app.add_argument("--host", default="127.0.0.1",
                     help="interface to listen on (default 127.0.0.1; e.g. 0.0.0.0 for a room: a token is then required)")
    app.add_argument("--token", help="the token other hosts must give (default: generated when not on loopback)")
    app.add_argument("--no-browser", action="store_true", help="only print the URL")
    app.add_argument("--model", help="model spec as for `query` (default: the bundled UACTN)")
    app.add_argument("--bundle", help="bundle folder (default: the one in the package)")
    app.add_argument("--data", help="dataset a run folder's gallery is embedded from")
    app.add_argument("--gallery", help="a gallery folder made by `sbsr-lab index` (your own meshes) to search instead")
    app.add_argument("--k", type=int, default=8, help="shapes shown (default 8)")
    app.add_argument("--history", help="query history file (default: query_history.sqlite in the user's data folder)")
    app.add_argument("--no-history", action="store_true", help="keep no history")
    app.add_argument("--workers", type=int, help="query threads (default 2, or 1 on one core)")
    app.set_defaults(func=cmd_app)


def build_parser(with_stages: bool = True) -> argparse.ArgumentParser:
    """The command line. ``with_stages=False`` leaves the ``train`` stage names unchecked and the ``demo``
    methods unlisted, so that parsing never imports torch (``sbsr-lab --help`` in a fraction of a second);
    :func:`main` asks for them only when the command is ``train`` or ``demo``."""
    parser = argparse.ArgumentParser(prog="sbsr-lab", description="\n\n".join(__doc__.split("\n\n")[:2]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build data, train and evaluate on the embedded default data")
    _add_profile(demo)
    demo.add_argument("--out", help="output folder (default runs/demo-<profile>)")
    demo.add_argument("--data", help="dataset folder (default data/synthshapes-<profile>)")
    demo.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    demo.add_argument("--methods", help=_methods_help(with_stages))
    demo.set_defaults(func=cmd_demo)

    data = sub.add_parser("data", help="build, fetch and prepare datasets").add_subparsers(dest="action", required=True)
    build = data.add_parser("build", help="build SynthShapes (meshes, views, sketches, manifest)")
    _add_profile(build)
    build.add_argument("--root", help="dataset folder (default data/synthshapes-<profile>)")
    build.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    build.add_argument("--shard", metavar="I/N", help="make only shard I of N (0 <= I < N), e.g. a job array's "
                       "task; then `data merge`")
    build.set_defaults(func=cmd_data_build)
    merge = data.add_parser("merge", help="merge the manifest parts of `data build --shard I/N` runs")
    _add_profile(merge)
    merge.add_argument("--root", help="dataset folder (default data/synthshapes-<profile>)")
    merge.set_defaults(func=cmd_data_merge)
    sheet = data.add_parser("sheet", help="contact sheet PNG: shapes, views, sketches by noise, per class")
    _add_profile(sheet)
    sheet.add_argument("--root", help="dataset folder (built if missing)")
    sheet.add_argument("--workers", type=int)
    sheet.add_argument("--out", required=True, help="PNG to write")
    sheet.set_defaults(func=cmd_data_sheet)
    fetch = data.add_parser("fetch", help="download a real benchmark (resumable, checksummed)")
    fetch.add_argument("name", choices=["shrec13", "shrec14"])
    fetch.add_argument("--root", required=True)
    fetch.add_argument("--url", help="mirror base URL (default: the official site)")
    fetch.add_argument("--max-extract-gb", type=float, default=20.0,
                       help="refuse archives that would write more than this (default 20 GB)")
    fetch.add_argument("--max-extract-ratio", type=float, default=200.0,
                       help="refuse archives expanding more than this many times their size (zip bombs; default 200)")
    fetch.set_defaults(func=cmd_data_fetch)

    prep = data.add_parser("prepare", help="validate a real benchmark, render its views, write manifest.json")
    prep.add_argument("name", choices=["auto", "shrec13", "shrec14", "modelnet", "folder"])
    _add_profile(prep, default="full")
    prep.add_argument("--root", required=True, help="folder holding the benchmark files")
    prep.add_argument("--out", help="write views and manifest here instead of --root")
    prep.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    prep.add_argument("--allow-missing", action="store_true", help="skip missing files instead of stopping")
    prep.add_argument("--shard", metavar="I/N", help="render only shard I of N (0 <= I < N); the same command "
                      "without --shard then writes the manifest")
    prep.add_argument("--shape-split", default="none", choices=["none", *SHAPE_SPLITS],
                      help="hold shapes out of training as the test gallery: part-shrec14 (SHREC'14 only) keeps the "
                           "classes with more than 50 models and holds 20%% of each out (seed 1234); default none "
                           "(SHREC: every shape trains and is in the gallery)")
    prep.set_defaults(func=cmd_data_prepare)

    render = sub.add_parser("render", help="render one mesh file in every style to a PNG grid")
    _add_profile(render)
    render.add_argument("mesh")
    render.add_argument("--out", required=True)
    render.add_argument("--size", type=int, default=128)
    render.set_defaults(func=cmd_render)

    if with_stages:  # the stage registry imports torch (seconds): only when the command line is `train ...`
        from sbsr_lab.train.stage import registered_stages

        stages = list(registered_stages())
        train = sub.add_parser("train", help=f"train one stage ({', '.join(stages)})")
        train.add_argument("stage", choices=stages)
    else:
        train = sub.add_parser("train", help="train one stage (sbsr-lab train --help lists them)")
        train.add_argument("stage")
    _add_profile(train)
    train.add_argument("--data", help="dataset folder (default data/synthshapes-<profile>)")
    train.add_argument("--out", required=True, help="run folder for checkpoints and metrics.csv")
    train.add_argument("--from", dest="from_run", help="run whose fixed centres this stage is pulled onto")
    train.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    train.add_argument("--overwrite", action="store_true",
                       help="train afresh into an --out that already holds a run (refused otherwise)")
    train.add_argument("--workers", type=int, help="DataLoader worker processes")
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="SHREC metrics (NN FT ST E DCG mAP) of a run or of saved embeddings")
    ev.add_argument("run", nargs="?", help="run folder of a method's last stage (student, shape-transfer, joint)")
    ev.add_argument("--data", help="dataset folder (default: the one the run was trained on)")
    ev.add_argument("--split", default="test", choices=["train", "val", "test"],
                    help="the sketches scored: test (default), train, or val: the training sketches the run held "
                         "out for validation, against the training shapes (choose settings on it, not on test)")
    ev.add_argument("--queries", help="query embeddings (.safetensors written by sbsr_lab)")
    ev.add_argument("--gallery", help="gallery embeddings (.safetensors)")
    ev.add_argument("--out", help="write the full report as JSON")
    ev.add_argument("--ties", default="shuffle", choices=["shuffle", "index"],
                    help="how tied scores are ordered: a seeded shuffle of the gallery (default; the gallery's order "
                         "cannot decide) or by gallery index (the official SHREC rule, to compare with published numbers)")
    ev.set_defaults(func=cmd_evaluate)

    query = sub.add_parser("query", help="rank the gallery for sketch files (.png, .jpg, .ndjson, .svg) or folders of them")
    query.add_argument("sketch", nargs="+",
                       help="sketch files (PNG/JPEG black on white, QuickDraw .ndjson, .svg) or folders of them; "
                            "the model is loaded once for all")
    query.add_argument("--k", type=int, default=10, help="number of shapes to list (default 10)")
    query.add_argument("--model", help="run folder, bundle folder, METHOD or bundle:METHOD (default: the bundled UACTN)")
    query.add_argument("--bundle", help="bundle folder for METHOD names (default: the one in the package)")
    query.add_argument("--data", help="dataset of a run folder (default: the one it was trained on)")
    query.add_argument("--gallery", help="a gallery folder made by `sbsr-lab index` (your own meshes) to search instead")
    query.add_argument("--figure", metavar="OUT.png",
                       help="also draw the sketch, the answer and the top-k shapes as one PNG picture (one sketch only)")
    query.add_argument("--json", action="store_true",
                       help="print one JSON object per line and sketch: path, predicted_class, label, probabilities, "
                            "uncertainty, ood, results")
    query.set_defaults(func=cmd_query)

    index = sub.add_parser("index", help="turn a folder of your own meshes into a gallery to search by drawing")
    index.add_argument("folder", help="folder of meshes (.obj .off .ply .stl .glb .gltf): in one sub-folder per class "
                                      "(the labels) or loose (unlabelled)")
    index.add_argument("--out", required=True, help="the gallery folder to write (new, or one `index` made)")
    index.add_argument("--model", help="model spec as for `query` (default: the bundled UACTN)")
    index.add_argument("--bundle", help="bundle folder for METHOD names (default: the one in the package)")
    index.add_argument("--data", help="dataset of a run folder (default: the one it was trained on)")
    index.add_argument("--workers", type=int, help="worker processes (default 0: in this process)")
    index.add_argument("--encoder", default="drawn", choices=["drawn", "shaded"],
                       help="drawn: the sketch network on drawings of each view (default, best on real meshes); "
                            "shaded: the trained shape network on shaded views")
    index.add_argument("--orient", default="auto", choices=["auto", "file", "pca"],
                       help="auto: stand each mesh up on the axis the model is surest of (default); file: keep its +Y; "
                            "pca: upright PCA")
    index.add_argument("--overwrite", action="store_true", help="replace a finished gallery in --out")
    index.set_defaults(func=cmd_index)

    score = sub.add_parser("score-sketches", help="top-1, P@10 and mAP of a model on your own drawings "
                                                  "(a folder of class sub-folders)")
    score.add_argument("folder", help="folder with one sub-folder per class (named as the model's classes) of "
                                      "PNG/JPEG/ndjson/svg drawings")
    score.add_argument("--model", help="model spec as for `query` (default: the bundled UACTN)")
    score.add_argument("--bundle", help="bundle folder for METHOD names (default: the one in the package)")
    score.add_argument("--data", help="dataset of a run folder (default: the one it was trained on)")
    score.add_argument("--gallery", help="a labelled gallery folder made by `sbsr-lab index` to score retrieval against")
    score.add_argument("--only", nargs="+", metavar="SUFFIX", help="score only these formats, e.g. --only .ndjson")
    score.add_argument("--json", action="store_true", help="print the whole report as one JSON object")
    score.set_defaults(func=cmd_score_sketches)

    app = sub.add_parser("app", help="serve the live sketch demo as a web page (one process for a whole room)")
    _add_app_arguments(app)

    course = sub.add_parser("course", help="build or check the learner notebooks; grade a class's notebooks")
    course.add_argument("action", choices=["build", "check", "grade"])
    course.add_argument("folder", nargs="?", help="grade: the folder of the class's notebooks "
                        "(LEARNER/NN_name.ipynb or LEARNER-NN_name.ipynb)")
    course.add_argument("--timeout", type=float, default=600, help="grade: seconds per notebook (default 600)")
    course.add_argument("--regrade", action="store_true",
                        help="grade: grade every notebook again (default: keep the rows an interrupted run wrote)")
    course.add_argument("--out", help="grade: the CSV to write (default FOLDER/grades.csv)")
    course.add_argument("--root", default=".", help="course repository root (default: .)")
    course.set_defaults(func=cmd_course)
    return parser


def _methods_help(with_stages: bool) -> str:
    """``demo --methods``'s help: the registered methods (the registry imports torch: only ``with_stages``)."""
    if not with_stages:
        return "comma-separated methods, or all (sbsr-lab demo --help lists them)"
    from sbsr_lab.train.stage import default_methods, method_stages

    others = [m for m in method_stages() if m not in default_methods()]
    also = f"; also {', '.join(others)}" if others else ""
    return f"comma-separated methods, or all (default: {','.join(default_methods())}{also})"


def _explain(err: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception that escaped a command (see :func:`main`)."""
    import errno as _errno
    import traceback

    if isinstance(err, SbsrError):
        return str(err), 2
    if isinstance(err, MemoryError):
        return ("out of memory. Fix: a smaller profile or batch (--profile ci, --set batch_size=8, "
                "--set eval_batch_size=32) or fewer --workers"), 1
    if isinstance(err, OSError):
        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        fixes = {_errno.ENOSPC: "free some space or write to another disk (nothing was half-written)",
                 _errno.EDQUOT: "free some space or write to another disk (nothing was half-written)",
                 _errno.EACCES: "check the permissions, or choose a folder you can write to",
                 _errno.EPERM: "check the permissions, or choose a folder you can write to",
                 _errno.ENOENT: "check the path", _errno.ENOTDIR: "a file is where a folder is expected: check the path",
                 _errno.EISDIR: "a folder is where a file is expected: check the path",
                 _errno.EROFS: "the disk is read-only: write elsewhere"}
        fix = fixes.get(err.errno or -1, "check the path and the disk")
        return f"{err.strerror or err}:{where}. Fix: {fix}", 2
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "sbsr_lab" in f.filename.replace("\\", "/")]
    at = f" (in {Path(frames[-1].filename).name}:{frames[-1].lineno}, {frames[-1].name})" if frames else ""
    return (f"{type(err).__name__}: {err}{at}. sbsr-lab does not check this input yet: look at the files and "
            "settings you gave, run again with --debug for the full traceback, and please report it"), 1


def _check_folder_args(args: argparse.Namespace) -> None:
    """A file given where a folder is expected (--root, --data; --out of train and demo) is refused upfront."""
    for name in ("root", "data"):
        if getattr(args, name, None):
            check_root(getattr(args, name), f"--{name}")
    if getattr(args, "out", None) and getattr(args.func, "__name__", "") in ("cmd_train", "cmd_demo"):
        check_root(args.out, "--out")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Errors end as ``sbsr-lab: error: <what, which file, the fix>`` with exit code 2
    (bad input: every :class:`~sbsr_lab.errors.SbsrError` and OSError) or 1 (anything else); ``--debug``
    anywhere on the line (or ``SBSR_DEBUG=1``) shows the traceback instead. Ctrl-C exits with 130."""
    import os

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("SBSR_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    if argv[:1] == ["app"]:  # the app's page is served before torch loads: skip the full parser (it imports torch)
        parser = argparse.ArgumentParser(prog="sbsr-lab app", description="serve the live sketch demo as a web page")
        _add_app_arguments(parser)
        args = parser.parse_args(argv[1:])
    else:
        parser = build_parser(with_stages="train" in argv or "demo" in argv)
        args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        _check_folder_args(args)
        return func(args)
    except KeyboardInterrupt:
        print("sbsr-lab: interrupted; finished files are kept, run the same command again to resume.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `sbsr-lab ... | head`: the reader left
        return 0
    except Exception as err:  # noqa: BLE001 - the CLI's error boundary
        if debug:
            raise
        message, code = _explain(err)
        print(f"sbsr-lab: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

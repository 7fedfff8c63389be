"""Your own collection as a gallery: ``sbsr-lab index FOLDER --out DIR`` and ``--gallery DIR`` everywhere.

    index_meshes("my_meshes", "galleries/mine", load_engine("bundle:uactn"))   # renders, embeds, writes
    engine = load_engine("bundle:uactn", gallery="galleries/mine")   # queries answered from it

Input: a folder of meshes (:data:`~sbsr_lab.data.meshes.SUPPORTED_MESH_SUFFIXES`), either in class
sub-folders (the sub-folder names are the labels; any depth below them) or loose (unlabelled); both
may be mixed (loose files are unlabelled). Each mesh is stood up, rendered and embedded by
:mod:`sbsr_lab.serve.shape_encoder` (``encoder="drawn"`` by default; ``orient="auto"``).

A gallery folder::

    gallery.json                 what it is: format, the model it belongs to (method + fingerprint of its
                                 sketch network), encoder, orientation, labels, per-shape source and up,
                                 the meshes that failed, a SHA-256 of every data file
    gallery.safetensors          GalleryIndex: (N, d) embeddings, ids, labels (:mod:`sbsr_lab.serve.index`)
    views.safetensors            per-view embeddings (N, V, d) (:mod:`sbsr_lab.retrieval.best_view`)
    thumbs/<id>.png              one shaded view per shape (64 px); thumbs/views/<id>.png all V of them
    parts/                       while indexing only: finished chunks, so an interrupted run resumes

Bounded memory: meshes are read one at a time (in ``workers`` processes) and results are written in
chunks of :data:`CHUNK` shapes; only the final (N, V, d) float16 array is assembled at the end.
A gallery made by another model (another fingerprint) is refused with the fix.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from sbsr_lab.data.build import _worker_init
from sbsr_lab.data.meshes import SUPPORTED_MESH_SUFFIXES, load_mesh, summarise_warnings
from sbsr_lab.errors import CheckpointError, DatasetLayoutError, MeshError, SbsrError
from sbsr_lab.io import atomic_path, atomic_write_json, save_png, sha256_file
from sbsr_lab.progress import note, progress as show_progress
from sbsr_lab.render import normalize_mesh, render_views
from sbsr_lab.render.orient import ORIENT_MODES, stand_up
from sbsr_lab.retrieval.best_view import ShapeViews, read_view_embeddings, write_view_embeddings
from sbsr_lab.retrieval.report import THUMBNAIL_VIEW
from sbsr_lab.retrieval.store import read_tensors, write_tensors
from sbsr_lab.serve.index import GalleryIndex
from sbsr_lab.serve.shape_encoder import ENCODERS, make_encoder
from sbsr_lab.train.checkpoint import read_json_file

__all__ = ["GALLERY_FORMAT", "CHUNK", "find_meshes", "index_meshes", "read_gallery", "attach_gallery",
           "network_fingerprint", "mesh_id"]

GALLERY_FORMAT = "sbsr_lab.gallery"
#: Shapes per finished part (what an interruption can lose at most, per worker).
CHUNK = 32
THUMB_SIZE = 64
_PARTS = "parts"


# ----------------------------------------------------------------------------- inputs
def mesh_id(relative: str) -> str:
    """A file-safe, readable id from a mesh's path relative to the folder: ``chair/m12.off`` -> ``chair__m12``."""
    stem = relative.rsplit(".", 1)[0] if "." in Path(relative).name else relative
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem.replace("/", "__")).strip("._") or "mesh"


def find_meshes(folder: str | os.PathLike[str]) -> list[tuple[Path, str | None]]:
    """``[(mesh path, label or None)]`` of a folder: files in a class sub-folder (any depth) are labelled
    with the sub-folder's name, files directly in ``folder`` are not. Hidden files and folders are skipped.
    Raises :class:`DatasetLayoutError` naming the formats when there is no mesh."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetLayoutError(f"{root}: not a folder. Fix: pass a folder of meshes, loose or in one sub-folder "
                                 "per class (the sub-folder names become the labels).")
    found: list[tuple[Path, str | None]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in SUPPORTED_MESH_SUFFIXES:
            found.append((entry, None))
        elif entry.is_dir():
            for path in sorted(entry.rglob("*")):
                rel = path.relative_to(entry).parts
                if path.is_file() and path.suffix.lower() in SUPPORTED_MESH_SUFFIXES \
                        and not any(p.startswith(".") for p in rel):
                    found.append((path, entry.name))
    if not found:
        raise DatasetLayoutError(f"{root}: no mesh files ({', '.join(SUPPORTED_MESH_SUFFIXES)}) in it or in its "
                                 "sub-folders. Fix: point it at the folder that holds the meshes.")
    return found


def network_fingerprint(net: torch.nn.Module) -> str:
    """SHA-256 (first 16 hex digits) of a network's weights as float32: names, shapes and values. The same
    weights give the same fingerprint whether read from a run (float32) or a bundle (float16 -> float32)."""
    h = hashlib.sha256()
    for name, value in sorted(net.state_dict().items()):
        t = value.detach().cpu()
        t = t.float() if t.is_floating_point() else t
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]




# ----------------------------------------------------------------------------- the work of one mesh
_ENCODER: Any = None  # set in the parent before the pool forks; each worker inherits it


def _encode_one(path: str, sid: str, out: str) -> dict[str, Any]:
    """Load, encode and thumbnail one mesh; errors come back as ``{"error": ...}`` (the batch goes on)."""
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            mesh = load_mesh(path)
            caught = [str(w.message) for w in seen]
        enc = _ENCODER.encode(mesh, name=path)
        turned = stand_up(mesh, enc.up_vector) if enc.up_vector is not None else mesh
        flat = normalize_mesh(turned, upright=True, pca=enc.up == "pca")
        shaded = render_views(flat, _ENCODER.rig, size=THUMB_SIZE)["shaded"]  # (V, s, s)
        save_png(Path(out) / "thumbs" / f"{sid}.png", shaded[min(THUMBNAIL_VIEW, len(shaded) - 1)])
        save_png(Path(out) / "thumbs" / "views" / f"{sid}.png", np.concatenate(list(shaded), axis=1))
    except (SbsrError, ValueError, OSError) as err:
        return {"id": sid, "error": str(err)[:500], "warnings": caught}
    return {"id": sid, "embedding": enc.embedding, "views": enc.view_embeddings, "up": enc.up,
            "up_scores": {k: round(v, 4) for k, v in enc.up_scores.items()},
            "probabilities": enc.probabilities, "warnings": caught}


def _pool_init(parent: int) -> None:
    _worker_init(parent)


def _results(jobs: list[tuple[str, str, str]], workers: int) -> Iterator[dict[str, Any]]:
    """``_encode_one`` over ``jobs`` in order of completion, in this process or ``workers`` forked ones."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _encode_one(*job)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=_pool_init,
                             initargs=(os.getpid(),)) as pool:
        yield from pool.map(_encode_one, *zip(*jobs), chunksize=1)


# ----------------------------------------------------------------------------- parts (resumable)
def _write_part(out: Path, number: int, rows: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    ok = [r for r in rows if "error" not in r]
    tensors = {"embeddings": torch.from_numpy(np.stack([r["embedding"] for r in ok])) if ok else torch.zeros(0, 1),
               "views": torch.from_numpy(np.stack([r["views"] for r in ok])).half() if ok else torch.zeros(0, 1, 1)}
    meta = {"format": "sbsr_lab.gallery_part", "version": 1, "settings": settings,
            "ok": [{"id": r["id"], "up": r["up"], "up_scores": r["up_scores"],
                    "predicted": int(np.argmax(r["probabilities"])),
                    "confidence": round(float(np.max(r["probabilities"])), 4)} for r in ok],
            "failed": [{"id": r["id"], "error": r["error"]} for r in rows if "error" in r],
            "warnings": [[r["id"], w] for r in rows for w in r.get("warnings", [])]}
    with atomic_path(out / _PARTS / f"part-{number:05d}.safetensors") as tmp:
        write_tensors(tmp, tensors, meta)


def _read_parts(out: Path, settings: dict[str, Any]) -> list[tuple[dict[str, torch.Tensor], dict[str, Any]]]:
    """Finished parts made with the same settings (others are removed: their model or encoder changed)."""
    parts = []
    for path in sorted((out / _PARTS).glob("part-*.safetensors")):
        try:
            tensors, meta = read_tensors(path, "sbsr_lab.gallery_part")
        except Exception:  # noqa: BLE001 - a damaged part is made again
            path.unlink(missing_ok=True)
            continue
        if meta.get("settings") != settings:
            path.unlink(missing_ok=True)
            continue
        parts.append((tensors, meta))
    return parts


# ----------------------------------------------------------------------------- the command
def index_meshes(folder: str | os.PathLike[str], out: str | os.PathLike[str], engine: Any,
                 shape_net: torch.nn.Module | None = None, profile: dict[str, Any] | None = None,
                 encoder: str = "drawn", orient: str = "auto", workers: int = 0, progress: bool = True,
                 overwrite: bool = False) -> dict[str, Any]:
    """Render and embed every mesh of ``folder`` with the model of ``engine`` (a
    :class:`~sbsr_lab.serve.query.QueryEngine`, e.g. ``load_engine("bundle:uactn")``) into the gallery
    folder ``out``; returns its ``gallery.json``. ``encoder="shaded"`` also needs the method's
    ``shape_net`` and its ``profile`` (:func:`~sbsr_lab.serve.engine.load_shape_net`). Resumes an
    interrupted run of the same settings (``out/parts``); a finished gallery is only replaced with
    ``overwrite``."""
    global _ENCODER
    if encoder not in ENCODERS:
        raise DatasetLayoutError(f"--encoder {encoder!r}: choose one of {', '.join(ENCODERS)}.")
    if orient not in ORIENT_MODES:
        raise DatasetLayoutError(f"--orient {orient!r}: choose one of {', '.join(ORIENT_MODES)}.")
    out = Path(out)
    if (out / "gallery.json").is_file() and not overwrite:
        raise DatasetLayoutError(f"{out} already holds a finished gallery. Fix: pass --overwrite to make it again, "
                                 "or another --out.")
    if out.exists() and not out.is_dir():
        raise DatasetLayoutError(f"{out} is a file, not a folder. Fix: pass a folder for --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / _PARTS).is_dir() and not (out / "gallery.json").is_file():
        raise DatasetLayoutError(f"{out} is a folder with other files in it; a gallery only goes into a new or empty "
                                 "folder (or one it made). Fix: pass another --out.")
    meshes = find_meshes(folder)
    enc = make_encoder(encoder, engine, shape_net, profile, orient=orient)
    ids: list[str] = []
    seen: set[str] = set()
    for path, _ in meshes:
        sid = mesh_id(path.relative_to(folder).as_posix())
        base, n = sid, 1
        while sid in seen:
            n += 1
            sid = f"{base}_{n}"
        seen.add(sid)
        ids.append(sid)
    fingerprint = network_fingerprint(engine.sketch_net)
    settings = {"method": engine.method, "fingerprint": fingerprint, "encoder": encoder, "orient": orient,
                "views": len(enc.rig), "shape_fingerprint": network_fingerprint(shape_net) if shape_net else None}
    if overwrite and (out / "gallery.json").is_file():
        shutil.rmtree(out)
    (out / _PARTS).mkdir(parents=True, exist_ok=True)
    parts = _read_parts(out, settings)
    done = {row["id"] for _, meta in parts for row in meta["ok"] + meta["failed"]}
    todo = [(str(p), sid, str(out)) for (p, _), sid in zip(meshes, ids) if sid not in done]
    if done:
        note(f"sbsr-lab index: resuming, {len(done)} of {len(ids)} meshes already done")
    _ENCODER = enc
    number = len(parts)
    step = CHUNK * max(1, workers)
    bar = show_progress(range(len(todo)), total=len(todo), desc=f"index {len(todo)} meshes", enabled=progress)
    ticks = iter(bar)
    try:
        for start in range(0, len(todo), step):
            rows = []
            for row in _results(todo[start:start + step], workers):
                rows.append(row)
                next(ticks, None)
            _write_part(out, number, rows, settings)
            number += 1
    finally:
        _ENCODER = None
        for _ in ticks:  # close the bar
            pass
    return _assemble(out, folder, meshes, ids, settings, engine)


def _assemble(out: Path, folder: Any, meshes: list[tuple[Path, str | None]], ids: list[str],
              settings: dict[str, Any], engine: Any) -> dict[str, Any]:
    """Gather the finished parts into the gallery folder's files and ``gallery.json``; parts removed after."""
    parts = _read_parts(out, settings)
    rows: dict[str, dict[str, Any]] = {}
    emb: dict[str, torch.Tensor] = {}
    views: dict[str, torch.Tensor] = {}
    failed, warned = [], []
    for tensors, meta in parts:
        for i, row in enumerate(meta["ok"]):
            rows[row["id"]] = row
            emb[row["id"]] = tensors["embeddings"][i]
            views[row["id"]] = tensors["views"][i]
        failed += meta["failed"]
        warned += meta.get("warnings", [])
    source = {sid: (path, label) for (path, label), sid in zip(meshes, ids)}
    kept = [sid for sid in ids if sid in rows]
    if not kept:
        raise MeshError(f"{folder}: none of the {len(ids)} meshes could be indexed (first: "
                        f"{failed[0]['error'] if failed else '?'}). Fix: check the files with `sbsr-lab render MESH`.")
    labels = [source[sid][1] for sid in kept]
    labelled = any(lab is not None for lab in labels)
    index = GalleryIndex(torch.stack([emb[s] for s in kept]), ids=kept,
                         labels=[lab if lab is not None else "unlabelled" for lab in labels] if labelled else None,
                         thumbnails=[f"thumbs/{s}.png" for s in kept])
    index.save(out / "gallery.safetensors")
    write_view_embeddings(out / "views.safetensors", torch.stack([views[s] for s in kept]).float())
    folder_path = Path(folder).resolve()
    shapes = {}
    for sid in kept:
        path, label = source[sid]
        try:
            mesh = os.path.relpath(path.resolve(), out.resolve())
        except ValueError:  # another drive (Windows)
            mesh = str(path.resolve())
        shapes[sid] = {"mesh": Path(mesh).as_posix(), "class": label, "up": rows[sid]["up"],
                       "predicted": engine.class_names[rows[sid]["predicted"]], "confidence": rows[sid]["confidence"]}
    classes = sorted({lab for lab in labels if lab is not None})
    desc = {"format": GALLERY_FORMAT, "version": 1, "method": settings["method"],
            "fingerprint": settings["fingerprint"], "encoder": settings["encoder"], "orient": settings["orient"],
            "views": settings["views"], "shape_fingerprint": settings["shape_fingerprint"],
            "count": len(kept), "labelled": labelled, "classes": classes,
            "model_classes": list(engine.class_names), "source": folder_path.name,
            "shapes": shapes, "failed": [{"id": f["id"], "path": str(source[f["id"]][0]), "error": f["error"]}
                                         for f in failed if f["id"] in source],
            "warnings": summarise_warnings([(str(source[i][0]), w) for i, w in warned if i in source]),
            "files": {name: sha256_file(out / name) for name in ("gallery.safetensors", "views.safetensors")}}
    atomic_write_json(out / "gallery.json", desc)
    shutil.rmtree(out / _PARTS, ignore_errors=True)
    for line in desc["warnings"]:
        note(f"sbsr-lab index: {line}")
    for f in desc["failed"]:
        note(f"sbsr-lab index: skipped {f['path']}: {f['error']}")
    note(f"sbsr-lab index: {len(kept)} of {len(ids)} meshes in {out} ({settings['method']}, {settings['encoder']} "
         f"views, orient={settings['orient']}{', labelled' if labelled else ''})")
    return desc


# ----------------------------------------------------------------------------- reading a gallery
_FIX_GALLERY = "Fix: make it again with `sbsr-lab index FOLDER --out DIR --overwrite`."


def read_gallery(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked ``gallery.json`` of a gallery folder (format, fields, file checksums)."""
    root = Path(path)
    desc_path = root / "gallery.json"
    if not desc_path.is_file():
        hint = " (an interrupted `sbsr-lab index`: run it again to finish)" if (root / _PARTS).is_dir() else ""
        raise CheckpointError(f"{root}: not a gallery folder, it has no gallery.json{hint}. Fix: make one with "
                              "`sbsr-lab index FOLDER --out DIR`.")
    desc = read_json_file(desc_path, "gallery description", _FIX_GALLERY)
    if not isinstance(desc, dict) or desc.get("format") != GALLERY_FORMAT or desc.get("version") != 1:
        raise CheckpointError(f"{desc_path} is not an sbsr_lab gallery (version 1). {_FIX_GALLERY}")
    for key, kind in (("method", str), ("fingerprint", str), ("shapes", dict), ("files", dict), ("count", int)):
        if not isinstance(desc.get(key), kind):
            raise CheckpointError(f"{desc_path}: {key!r} is missing or not a {kind.__name__}. {_FIX_GALLERY}")
    for name, digest in desc["files"].items():
        if name not in ("gallery.safetensors", "views.safetensors"):
            raise CheckpointError(f"{desc_path}: it lists a file {name[:60]!r} a gallery does not have. {_FIX_GALLERY}")
        if not (root / name).is_file() or sha256_file(root / name) != digest:
            raise CheckpointError(f"{root / name} is missing or changed since it was indexed (its checksum differs). "
                                  f"{_FIX_GALLERY}")
    desc["root"] = str(root)
    return desc


def attach_gallery(engine: Any, path: str | os.PathLike[str]) -> Any:
    """Answer ``engine``'s queries from the gallery folder ``path`` (its index, views, thumbnails, meshes);
    refuses a gallery made by another model. Returns the engine."""
    desc = read_gallery(path)
    root = Path(desc["root"])
    mine = network_fingerprint(engine.sketch_net)
    if desc["fingerprint"] != mine or desc["method"] != engine.method:
        raise CheckpointError(f"{root} was indexed by another model ({desc['method']}, fingerprint {desc['fingerprint']}) "
                              f"than the one answering ({engine.method}, fingerprint {mine}): its shapes and your drawings "
                              f"would not be comparable. Fix: query it with that model, or index the meshes again "
                              f"with this one (`sbsr-lab index FOLDER --out DIR --model ...`).")
    index = GalleryIndex.load(root / "gallery.safetensors")
    if len(index) != desc["count"] or index.embeddings.shape[1] != engine.index.embeddings.shape[1]:
        raise CheckpointError(f"{root}: its index holds {len(index)} rows of {index.embeddings.shape[1]} numbers, not the "
                              f"{desc['count']} shapes it lists for this model. {_FIX_GALLERY}")
    index.thumbnails = [str(root / t) if t and (root / t).is_file() else None for t in index.thumbnails]
    emb = read_view_embeddings(root / "views.safetensors")
    strips = [str(root / "thumbs" / "views" / f"{i}.png") if (root / "thumbs" / "views" / f"{i}.png").is_file() else None
              for i in index.ids]
    engine.index = index
    engine.views = ShapeViews(emb, strips) if emb.shape[0] == len(index) else None
    engine.shapes = {sid: {"mesh": str((root / s["mesh"]).resolve()) if not Path(s["mesh"]).is_absolute() else s["mesh"],
                           "up": s.get("up")}
                     for sid, s in desc["shapes"].items() if isinstance(s, dict) and isinstance(s.get("mesh"), str)}
    engine.gallery = desc
    return engine

"""Bundles: trained methods packed for querying without training (the model shipped in the package).

A bundle folder holds, for each method, its sketch network and its gallery index, plus one
thumbnail per gallery shape and a ``bundle.json``::

    bundle.json                          {"format": "sbsr_lab.bundle", "version": 1, "methods": {...}, ...}
    <method>_sketch.safetensors / .json  sketch network (float16 weights) and its description
    <method>_shape.safetensors / .json   optional: the multi-view shape network (float16; `sbsr-lab index --encoder shaded`)
    <method>_gallery.safetensors         GalleryIndex: shape embeddings, ids, classes (no pickle)
    thumbs/<shape id>.png                one 64 px view per gallery shape
    <method>_views.safetensors           optional: per-view embeddings (N, V, d) float16 (best_view.py)
    thumbs/views/<shape id>.png          optional: the V rendered views of each shape, side by side

``export_bundle({"cfttsl": runs/student, "uactn": runs/shape-transfer}, data, out)`` writes one;
``sbsr_lab.serve.engine.load_engine("bundle:METHOD")`` loads the one inside the package (``sbsr_lab/assets/bundle``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sbsr_lab.config import BACKBONE_NAMES, CHOICES, RANGES, Profile
from sbsr_lab.data.datasets import MultiViewDataset, load_view_strip
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import CheckpointError, ConfigError
from sbsr_lab.io import atomic_write_json, portable_path, save_png
from sbsr_lab.models import KINDS, create_model, model_name_for
from sbsr_lab.retrieval.best_view import (
    VIEWS_TENSOR, ShapeViews, embed_views, read_view_embeddings, write_view_embeddings,
)
from sbsr_lab.retrieval.report import shape_thumbnail
from sbsr_lab.serve.calibration import Calibration, read_reference, write_reference
from sbsr_lab.serve.index import GalleryIndex
from sbsr_lab.serve.query import QueryEngine, build_engine
from sbsr_lab.train.checkpoint import (
    check_head_shapes, header_shapes, load_checkpoint, load_weights, read_json_file, save_checkpoint,
)
from sbsr_lab.train.runs import load_method

__all__ = ["BUNDLE_FORMAT", "default_bundle_path", "export_bundle", "read_bundle", "load_bundle_engine", "bundle_file",
           "bundle_calibration", "bundle_views", "load_bundle_shape_net"]

BUNDLE_FORMAT = "sbsr_lab.bundle"


def default_bundle_path() -> Path:
    """``sbsr_lab/assets/bundle`` inside the installed package."""
    return Path(__file__).resolve().parents[1] / "assets" / "bundle"


def export_bundle(runs: dict[str, str | Path], data: str | Path | None, out: str | Path, thumb_size: int = 64) -> Path:
    """Pack the methods' last-stage ``runs`` (method name -> run folder) into the folder ``out``."""
    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    desc: dict[str, Any] = {"format": BUNDLE_FORMAT, "version": 1, "methods": {}}
    for method, run in runs.items():
        nets = load_method(run)  # each run's checkpoints are read once
        manifest = load_manifest(data or nets.data)
        engine = build_engine(nets, manifest)
        profile = nets.profile
        net = engine.sketch_net
        kind = "sketch_unc" if engine.has_uncertainty else "sketch"
        half = _HalfState(net)
        save_checkpoint(tmp, f"{method}_sketch", half, {"model_kind": kind, "class_names": engine.class_names,
                                                        "method": method, "run": portable_path(run)})
        save_checkpoint(tmp, f"{method}_shape", _HalfState(nets.shape),
                        {"model_kind": "mvcnn", "class_names": engine.class_names, "method": method,
                         "run": portable_path(run), "pooling": profile.get("pooling", "mean")})
        engine.index.thumbnails = [f"thumbs/{i}.png" for i in engine.index.ids]
        engine.index.save(tmp / f"{method}_gallery.safetensors")
        desc["methods"][method] = {"sketch": f"{method}_sketch", "gallery": f"{method}_gallery.safetensors",
                                   "model_kind": kind, "backbone": profile["backbone"],
                                   "embed_dim": profile["embed_dim"], "shape": f"{method}_shape",
                                   "pooling": profile.get("pooling", "mean")}
        if profile.get("head", "mlp") != "mlp":  # the authors' heads (variant=paper); absent = ours
            desc["methods"][method]["head"] = profile["head"]
        # per-view embeddings: which rendered view of each shape a sketch matches best (best_view.py)
        p = Profile.from_dict(profile)
        views = embed_views(nets.shape, MultiViewDataset(manifest, p.image_size, p.num_views, p.view_style,
                                                         split="test"))  # the engine's gallery, row for row
        write_view_embeddings(tmp / f"{method}_views.safetensors", views)
        desc["methods"][method]["views"] = f"{method}_views.safetensors"
        desc["view_strips"] = "thumbs/views"
        if engine.calibration is not None:  # temperature + OOD detector, fitted on the run's validation sketches
            cal = engine.calibration.to_json()
            if engine.calibration.reference is not None:  # feature_knn: the reference features beside it
                cal["reference"] = f"{method}_ood.safetensors"
                write_reference(tmp / cal["reference"], engine.calibration.reference)
            desc["methods"][method]["calibration"] = cal
        desc.update(class_names=engine.class_names, sketch_size=engine.sketch_size, image_size=engine.image_size,
                    am_scale=engine.am_scale, profile=profile, shapes=engine.shapes)
        if not (tmp / "thumbs").exists():
            for sid in engine.index.ids:
                view = shape_thumbnail(manifest, sid, thumb_size)
                save_png(tmp / "thumbs" / f"{sid}.png", view)
                strip = load_view_strip(manifest.view_path(sid), views.shape[1], thumb_size)  # (V, s, s)
                save_png(tmp / "thumbs" / "views" / f"{sid}.png", np.concatenate(list(strip), axis=1))
    atomic_write_json(tmp / "bundle.json", desc)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


class _HalfState(torch.nn.Module):
    """Wraps a network so that its checkpoint stores float16 weights (halves the package size)."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def state_dict(self, *args, **kwargs):  # type: ignore[override]
        return {k: (v.half() if v.is_floating_point() else v) for k, v in self.net.state_dict().items()}


_FIX = "Export the bundle again with this version (`export_bundle`), or reinstall sbsr_lab."


def bundle_file(root: Path, relative: Any, what: str, desc_path: Path) -> Path:
    """``root / relative``, refused unless it is a relative path that stays inside the bundle folder
    (no absolute paths, no ``..``, no link leading out)."""
    if not isinstance(relative, str) or not relative or len(relative) > 1024 or "\x00" in relative:
        raise CheckpointError(f"{desc_path}: the {what} path {str(relative)[:60]!r} is not a file name. {_FIX}")
    if Path(relative).is_absolute() or relative.startswith(("/", "\\")) or ".." in Path(relative).parts:
        raise CheckpointError(f"{desc_path}: the {what} path {relative!r} leads outside the bundle folder {root}; "
                              f"a bundle only reads its own files. {_FIX}")
    full = root / relative
    real_root = root.resolve()
    if not full.resolve().is_relative_to(real_root):
        raise CheckpointError(f"{desc_path}: the {what} path {relative!r} leads outside the bundle folder {root} "
                              f"(through a link). {_FIX}")
    return full


def _check_desc(desc: Any, desc_path: Path) -> dict[str, Any]:
    """Types and ranges of every ``bundle.json`` field used to build a network (before any is built)."""
    def bad(key: str, want: str) -> CheckpointError:
        return CheckpointError(f"{desc_path}: {key} {want}. {_FIX}")

    if not isinstance(desc, dict) or desc.get("format") != BUNDLE_FORMAT:
        raise CheckpointError(f"{desc_path} is not an sbsr_lab bundle.")
    if desc.get("version") != 1:
        raise bad("version", f"is {str(desc.get('version'))[:20]}; this sbsr_lab reads version 1")
    names = desc.get("class_names")
    if not (isinstance(names, list) and 1 <= len(names) <= 100_000
            and all(isinstance(n, str) and 0 < len(n) <= 256 for n in names)):
        raise bad("'class_names'", "must be a list of 1 to 100,000 class names")
    for key, rng in (("sketch_size", RANGES["sketch_size"]), ("image_size", RANGES["image_size"]),
                     ("am_scale", RANGES["am_scale"])):
        value = desc.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not rng.holds(value) \
                or (key != "am_scale" and not isinstance(value, int)):
            raise bad(repr(key), f"is {str(value)[:20]}; it must be a number {rng.describe()}")
    if "view_strips" in desc and not isinstance(desc["view_strips"], str):
        raise bad("'view_strips'", "must name the folder of view strips")
    if "shapes" in desc and not isinstance(desc["shapes"], dict):
        raise bad("'shapes'", "must be an object")
    if "profile" in desc:
        try:
            if not isinstance(desc["profile"], dict):
                raise TypeError("not an object")
            Profile.from_dict(desc["profile"])
        except (ConfigError, TypeError, ValueError, KeyError) as err:
            raise bad("'profile'", f"is not valid ({err})") from None
    methods = desc.get("methods")
    if not isinstance(methods, dict) or not methods:
        raise bad("'methods'", "must be a non-empty object of methods")
    for method, m in methods.items():
        where = f"methods.{method}"
        if not isinstance(m, dict):
            raise bad(where, "must be an object")
        for key in ("sketch", "gallery", "model_kind", "backbone"):
            if not isinstance(m.get(key), str):
                raise bad(f"{where}.{key}", "must be a string")
        if m["model_kind"] not in KINDS or m["model_kind"] == "mvcnn":
            raise bad(f"{where}.model_kind", f"is {m['model_kind'][:40]!r}; a bundle holds sketch or sketch_unc networks")
        if m["backbone"] not in BACKBONE_NAMES:
            raise bad(f"{where}.backbone", f"is {m['backbone'][:40]!r}, not one of {', '.join(BACKBONE_NAMES)}")
        dim = m.get("embed_dim")
        if isinstance(dim, bool) or not isinstance(dim, int) or not RANGES["embed_dim"].holds(dim):
            raise bad(f"{where}.embed_dim", f"is {str(dim)[:20]}; it must be an integer {RANGES['embed_dim'].describe()}")
        if "head" in m and m["head"] not in CHOICES["head"]:  # optional: absent = "mlp"
            raise bad(f"{where}.head", f"is {str(m['head'])[:40]!r}, not one of {', '.join(CHOICES['head'])}")
        if "shape" in m and not isinstance(m["shape"], str):  # optional: the multi-view shape network
            raise bad(f"{where}.shape", "must name the shape network's files")
        if m.get("pooling", "mean") not in CHOICES["pooling"]:
            raise bad(f"{where}.pooling", f"is {str(m.get('pooling'))[:40]!r}, not one of {', '.join(CHOICES['pooling'])}")
        if "views" in m and not isinstance(m["views"], str):  # optional: per-view embeddings (best_view.py)
            raise bad(f"{where}.views", "must name the per-view embeddings file")
        if "calibration" in m:  # optional: temperature and OOD detector (absent in older bundles)
            try:
                cal = Calibration.from_json(m["calibration"], f"{where}.calibration")
            except ValueError as err:
                raise CheckpointError(f"{desc_path}: {err}. {_FIX}") from None
            if cal.ood_score == "feature_knn" and not isinstance(m["calibration"].get("reference"), str):
                raise bad(f"{where}.calibration.reference", "must name the feature_knn reference file")
    return desc


def read_bundle(path: str | Path | None = None) -> dict[str, Any]:
    """The ``bundle.json`` of ``path`` (default: the packaged bundle), checked, with clear errors.

    This is the validated entry point: every field that sizes a network or names a file is checked
    (types, ranges, paths inside the bundle folder) before anything is built or read.
    """
    path = Path(path) if path is not None else default_bundle_path()
    desc_path = path / "bundle.json"
    if not desc_path.is_file():
        raise CheckpointError(
            f"No model bundle at {path}. Train one with `sbsr-lab demo` and query it with `--model runs/demo-default/student`, "
            "or export one with sbsr_lab.serve.bundle.export_bundle."
        )
    desc = _check_desc(read_json_file(desc_path, "bundle description", _FIX), desc_path)
    k = len(desc["class_names"])
    for method, m in desc["methods"].items():
        bundle_file(path, m["sketch"] + ".json", f"{method} sketch network", desc_path)
        weights = bundle_file(path, m["sketch"] + ".safetensors", f"{method} sketch network", desc_path)
        if m.get("shape") is not None:
            bundle_file(path, m["shape"] + ".json", f"{method} shape network", desc_path)
            shape_weights = bundle_file(path, m["shape"] + ".safetensors", f"{method} shape network", desc_path)
            if shape_weights.is_file():
                shapes = header_shapes(shape_weights)
                check_head_shapes({n[len("model."):]: v for n, v in shapes.items() if n.startswith("model.")},
                                  m["embed_dim"], k, f"{desc_path} ({method} shape network)")
        gallery = bundle_file(path, m["gallery"], f"{method} gallery", desc_path)
        # the weights' and the gallery's headers must agree with the JSON before any network is built
        if weights.is_file():
            shapes = header_shapes(weights)
            check_head_shapes({n[len("model."):]: v for n, v in shapes.items() if n.startswith("model.")},
                              m["embed_dim"], k, f"{desc_path} ({method})")
        ref = m.get("calibration", {}).get("reference")
        if ref is not None:
            ref_path = bundle_file(path, ref, f"{method} calibration's OOD reference", desc_path)
            shape = header_shapes(ref_path).get("reference") if ref_path.is_file() else None
            if ref_path.is_file() and (shape is None or len(shape) != 2 or not 1 <= shape[0] <= 1_000_000
                                       or not 1 <= shape[1] <= 65536):
                raise CheckpointError(f"{ref_path}: its reference {shape} is not (rows, features) as the "
                                      f"calibration (OOD detector) of {desc_path} needs. {_FIX}")
        emb = None
        if gallery.is_file():
            emb = header_shapes(gallery).get("embeddings")
            if emb is None or len(emb) != 2 or emb[1] != m["embed_dim"]:
                raise CheckpointError(f"{gallery}: its embeddings {emb} are not rows of {m['embed_dim']} numbers as "
                                      f"{desc_path} says. {_FIX}")
        if m.get("views") is not None:
            views = bundle_file(path, m["views"], f"{method} per-view embeddings", desc_path)
            if views.is_file():
                shape = header_shapes(views).get(VIEWS_TENSOR)
                if (shape is None or len(shape) != 3 or not 1 <= shape[1] <= 64 or shape[2] != m["embed_dim"]
                        or (emb is not None and shape[0] != emb[0])):
                    raise CheckpointError(f"{views}: its per-view embeddings {shape} are not (shapes, views <= 64, "
                                          f"{m['embed_dim']}) for the {emb[0] if emb else '?'} gallery shapes of "
                                          f"{desc_path}. {_FIX}")
    if "view_strips" in desc:
        bundle_file(path, desc["view_strips"], "view strips folder", desc_path)
    desc["root"] = str(path)
    return desc


def load_bundle_engine(method: str = "uactn", path: str | Path | None = None):
    """A :class:`~sbsr_lab.serve.query.QueryEngine` for ``method`` from a bundle.

    The sketch network's weights must be finite and fit the bundle's ``embed_dim`` and classes
    (checked on the weights' shapes before the network is built); the gallery must have that many
    dimensions and thumbnails inside the bundle folder.
    """
    from safetensors import SafetensorError

    desc = read_bundle(path)
    root = Path(desc["root"])
    desc_path = root / "bundle.json"
    m = _method_entry(desc, method)
    net = _bundle_network(desc, method, "sketch", m["model_kind"], "model")
    gallery = bundle_file(root, m["gallery"], f"{method} gallery", desc_path)
    try:
        index = GalleryIndex.load(gallery)
    except CheckpointError:
        raise
    except (SafetensorError, KeyError, TypeError, ValueError, IndexError, OSError, RuntimeError) as err:
        raise CheckpointError(f"{gallery} is not a readable gallery index ({type(err).__name__}: {str(err)[:120]}). "
                              f"{_FIX}") from None
    emb = index.embeddings
    if emb.ndim != 2 or emb.shape[1] != m["embed_dim"] or not bool(torch.isfinite(emb).all()):
        raise CheckpointError(f"{gallery}: its embeddings {tuple(emb.shape)} are not finite rows of {m['embed_dim']} "
                              f"numbers as {desc_path} says. {_FIX}")
    index.thumbnails = [str(bundle_file(root, t, "thumbnail", gallery)) if t else None for t in index.thumbnails]
    engine = QueryEngine(method, net.eval(), index, desc["class_names"], desc["sketch_size"], desc["image_size"],
                         desc["am_scale"], desc.get("shapes", {}), bundle_calibration(m, desc_path))
    engine.views = bundle_views(m, desc, index)
    return engine


def bundle_views(method_desc: dict[str, Any], desc: dict[str, Any], index: Any):
    """The :class:`~sbsr_lab.retrieval.best_view.ShapeViews` of a (checked) method entry, row-aligned with
    its gallery ``index``; ``None`` when the bundle has no per-view embeddings (exported before them)."""
    if method_desc.get("views") is None:
        return None
    root = Path(desc["root"])
    desc_path = root / "bundle.json"
    emb = read_view_embeddings(bundle_file(root, method_desc["views"], "per-view embeddings", desc_path))
    if emb.shape[0] != len(index) or not bool(torch.isfinite(emb).all()):
        raise CheckpointError(f"{desc_path}: the per-view embeddings {tuple(emb.shape)} do not fit the gallery of "
                              f"{len(index)} shapes (or are not finite). {_FIX}")
    strips = None
    if desc.get("view_strips"):
        folder = bundle_file(root, desc["view_strips"], "view strips folder", desc_path)
        strips = [str(folder / f"{i}.png") if (folder / f"{i}.png").is_file() else None for i in index.ids]
    return ShapeViews(emb, strips)


def bundle_calibration(method_desc: dict[str, Any], desc_path: Path):
    """The :class:`~sbsr_lab.serve.calibration.Calibration` of a (checked) method entry of ``bundle.json``,
    or ``None`` when the bundle has none (exported before calibration existed)."""
    if "calibration" not in method_desc:
        return None
    try:
        cal = Calibration.from_json(method_desc["calibration"], "calibration")
        if cal.ood_score == "feature_knn":
            ref = bundle_file(desc_path.parent, method_desc["calibration"].get("reference"),
                              "calibration's OOD reference", desc_path)
            cal.reference = read_reference(ref)
    except ValueError as err:
        raise CheckpointError(f"{desc_path}: calibration: {err}. {_FIX}") from None
    return cal


def load_bundle_shape_net(method: str = "uactn", path: str | Path | None = None) -> torch.nn.Module | None:
    """The multi-view shape network of ``method`` in a bundle (eval mode, float32), checked like the sketch
    network; ``None`` when the bundle has none (exported before shape networks were packed)."""
    desc = read_bundle(path)
    if _method_entry(desc, method).get("shape") is None:
        return None
    return _bundle_network(desc, method, "shape", "mvcnn", "shape network").eval()


def _method_entry(desc: dict[str, Any], method: str) -> dict[str, Any]:
    """The ``bundle.json`` entry of ``method``; the error lists the bundle's methods."""
    if method not in desc["methods"]:
        raise CheckpointError(f"The bundle at {desc['root']} has no method {method!r}; it has "
                              f"{', '.join(desc['methods'])}.")
    return desc["methods"][method]


def _bundle_network(desc: dict[str, Any], method: str, key: str, model_kind: str, what: str) -> torch.nn.Module:
    """Build and load the network ``desc["methods"][method][key]`` names (``sketch`` or ``shape``), checked:
    trained on the bundle's classes, classifier ``(embed_dim, K)``, finite float16 weights made float32."""
    root = Path(desc["root"])
    desc_path = root / "bundle.json"
    m = desc["methods"][method]
    file = bundle_file(root, m[key], f"{method} {key} network", desc_path)
    state, _, meta = load_checkpoint(file.parent, file.name)
    source = f"The bundle's {method} {what} ({file}.safetensors)"
    if meta.get("class_names") != desc["class_names"]:
        raise CheckpointError(f"{source} was trained on other classes than {desc_path} lists. {_FIX}")
    check_head_shapes(state, m["embed_dim"], len(desc["class_names"]), source)
    extra = {"pooling": m.get("pooling", "mean")} if model_kind == "mvcnn" else {}
    net = create_model(model_name_for(model_kind, m["backbone"]), len(desc["class_names"]), embed_dim=m["embed_dim"],
                       head=m.get("head", "mlp"), **extra)
    load_weights(net, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, source, _FIX)
    return net

"""Bundles: trained methods packed for querying without training (the model shipped in the package).

A bundle folder holds, for each method, its sketch network and its gallery index, plus one
thumbnail per gallery shape and a ``bundle.json``::

    bundle.json                          {"format": "sbsr_lab.bundle", "version": 1, "methods": {...}, ...}
    <method>_sketch.safetensors / .json  sketch network (float16 weights) and its description
    <method>_gallery.safetensors         GalleryIndex: shape embeddings, ids, classes (no pickle)
    thumbs/<shape id>.png                one 64 px view per gallery shape

``export_bundle({"cfttsl": runs/student, "uactn": runs/shape-transfer}, data, out)`` writes one;
``QueryEngine.from_bundle(method)`` loads the one inside the package (``sbsr_lab/assets/bundle``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from sbsr_lab.errors import CheckpointError
from sbsr_lab.io import atomic_write_json, save_png

__all__ = ["BUNDLE_FORMAT", "default_bundle_path", "export_bundle", "read_bundle", "load_bundle_engine"]

BUNDLE_FORMAT = "sbsr_lab.bundle"


def default_bundle_path() -> Path:
    """``sbsr_lab/assets/bundle`` inside the installed package."""
    return Path(__file__).resolve().parents[1] / "assets" / "bundle"


def export_bundle(runs: dict[str, str | Path], data: str | Path | None, out: str | Path, thumb_size: int = 64) -> Path:
    """Pack the methods' last-stage ``runs`` (method name -> run folder) into the folder ``out``."""
    from sbsr_lab.data.datasets import load_view_strip
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.retrieval.query import QueryEngine
    from sbsr_lab.retrieval.runs import load_method
    from sbsr_lab.train.checkpoint import save_checkpoint

    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    desc: dict[str, Any] = {"format": BUNDLE_FORMAT, "version": 1, "methods": {}}
    for method, run in runs.items():
        nets = load_method(run)  # each run's checkpoints are read once
        manifest = load_manifest(data or nets.data)
        engine = QueryEngine.from_method(nets, manifest)
        profile = nets.profile
        net = engine.sketch_net
        kind = "sketch_unc" if engine.has_uncertainty else "sketch"
        half = _HalfState(net)
        save_checkpoint(tmp, f"{method}_sketch", half, {"model_kind": kind, "class_names": engine.class_names,
                                                        "method": method, "run": str(run)})
        engine.index.thumbnails = [f"thumbs/{i}.png" for i in engine.index.ids]
        engine.index.save(tmp / f"{method}_gallery.safetensors")
        desc["methods"][method] = {"sketch": f"{method}_sketch", "gallery": f"{method}_gallery.safetensors",
                                   "model_kind": kind, "backbone": profile["backbone"],
                                   "embed_dim": profile["embed_dim"]}
        desc.update(class_names=engine.class_names, sketch_size=engine.sketch_size, image_size=engine.image_size,
                    am_scale=engine.am_scale, profile=profile, shapes=engine.shapes)
        if not (tmp / "thumbs").exists():
            for sid in engine.index.ids:
                view = load_view_strip(manifest.view_path(sid), manifest.num_views, thumb_size)[1]
                save_png(tmp / "thumbs" / f"{sid}.png", view)
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


def read_bundle(path: str | Path | None = None) -> dict[str, Any]:
    """The ``bundle.json`` of ``path`` (default: the packaged bundle), with clear errors."""
    path = Path(path) if path is not None else default_bundle_path()
    desc_path = path / "bundle.json"
    if not desc_path.is_file():
        raise CheckpointError(
            f"No model bundle at {path}. Train one with `sbsr-lab demo` and query it with `--model runs/demo-default/student`, "
            "or export one with sbsr_lab.retrieval.bundle.export_bundle."
        )
    desc = json.loads(desc_path.read_text(encoding="utf-8"))
    if desc.get("format") != BUNDLE_FORMAT:
        raise CheckpointError(f"{desc_path} is not an sbsr_lab bundle.")
    desc["root"] = str(path)
    return desc


def load_bundle_engine(method: str = "uactn", path: str | Path | None = None):
    """A :class:`~sbsr_lab.retrieval.query.QueryEngine` for ``method`` from a bundle."""
    from sbsr_lab.models import create_model, model_name_for
    from sbsr_lab.retrieval.index import GalleryIndex
    from sbsr_lab.retrieval.query import QueryEngine
    from sbsr_lab.train.checkpoint import load_checkpoint, load_weights

    desc = read_bundle(path)
    root = Path(desc["root"])
    if method not in desc["methods"]:
        raise CheckpointError(f"The bundle at {root} has no method {method!r}; it has {', '.join(desc['methods'])}.")
    m = desc["methods"][method]
    state, _, _ = load_checkpoint(root, m["sketch"])
    net = create_model(model_name_for(m["model_kind"], m["backbone"]), len(desc["class_names"]), embed_dim=m["embed_dim"])
    load_weights(net, {k: v.float() if v.is_floating_point() else v for k, v in state.items()},
                 f"The bundle's {method} model ({root / m['sketch']}.safetensors)",
                 "Export the bundle again with this version (`export_bundle`), or reinstall sbsr_lab.")
    index = GalleryIndex.load(root / m["gallery"])
    index.thumbnails = [str(root / t) if t else None for t in index.thumbnails]
    return QueryEngine(method, net.eval(), index, desc["class_names"], desc["sketch_size"], desc["image_size"],
                       desc["am_scale"], desc.get("shapes", {}))

"""A tiny stroke dataset (ring / cross / bar) and a bundle trained on it, shared by the widget, CLI and
browser tests. The sketches go through the real query path (strokes -> normalize -> strokes_to_image),
so a ring drawn with the mouse looks like the training rings. Built once per test session (cached under
pytest's base temp folder), in a few seconds on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = ["ring", "cross", "bar"]
SKETCH_SIZE = 32


def class_strokes(cls: str, rng: np.random.Generator) -> list[np.ndarray]:
    """One hand-drawn-looking sketch of ``cls`` as strokes in [0, 1]^2 (jittered, slightly wobbly)."""
    c = 0.5 + rng.normal(0, 0.03, 2)
    rot = rng.normal(0, 0.15)
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    if cls == "ring":
        t = np.linspace(0, 2 * np.pi * rng.uniform(1.0, 1.15), 48) + rng.uniform(0, 2 * np.pi)
        r = rng.uniform(0.25, 0.38) * (1 + rng.normal(0, 0.02, t.size))
        ecc = rng.uniform(0.85, 1.15)
        strokes = [np.stack([r * np.cos(t) * ecc, r * np.sin(t)], 1)]
    elif cls == "cross":
        a, b = rng.uniform(0.3, 0.4, 2)
        strokes = [np.array([[0.0, -a], [0.0, a]]), np.array([[-b, 0.0], [b, 0.0]])]
    else:
        w, h = rng.uniform(0.35, 0.42), rng.uniform(0.06, 0.1)
        strokes = [np.array([[-w, -h], [w, -h], [w, h], [-w, h], [-w, -h]])]
    out = []
    for s in strokes:
        s = np.asarray(s, np.float64)
        if len(s) == 2:  # straight strokes: resample so that wobble bends them a little
            s = np.linspace(s[0], s[1], 12)
        s = s + rng.normal(0, 0.006, s.shape)
        out.append(np.clip(s @ R.T + c, 0.02, 0.98).astype(np.float32))
    return out


def class_mesh(cls: str):
    """A 3D stand-in of each class (trimesh): torus, two crossed boxes, one long box."""
    import trimesh

    if cls == "ring":
        return trimesh.creation.torus(major_radius=1.0, minor_radius=0.2, major_sections=24, minor_sections=8)
    if cls == "cross":
        return trimesh.util.concatenate([trimesh.creation.box((0.3, 2.0, 0.3)), trimesh.creation.box((2.0, 0.3, 0.3))])
    return trimesh.creation.box((2.0, 0.4, 0.4))


def make_stroke_dataset(root: Path, shapes_per_class: int = 4, sketches_per_class: int = 30, views: int = 12):
    """Manifest + views + meshes + sketches (PNG and ndjson) of the tiny stroke dataset in ``root``."""
    from sbsr_lab.data.manifest import Manifest, ShapeRecord, SketchRecord
    from sbsr_lab.data.stroke_io import sketch_record, write_ndjson
    from sbsr_lab.data.strokes import normalize_strokes, strokes_to_image
    from sbsr_lab.io import save_png

    rng = np.random.default_rng(0)
    m = Manifest(name="tiny-strokes", classes=list(CLASSES), rig="ring12", view_size=SKETCH_SIZE,
                 view_styles=["shaded"])
    for cls in CLASSES:
        for i in range(shapes_per_class):
            sid = f"{cls}_{i:03d}"
            strip = [strokes_to_image(normalize_strokes(class_strokes(cls, rng)), SKETCH_SIZE, width=2.0)
                     for _ in range(views)]
            save_png(root / "views" / f"shaded_{SKETCH_SIZE}" / f"{sid}.png", np.concatenate(strip, axis=1))
            mesh_rel = f"shapes/{cls}/{sid}.ply"
            (root / mesh_rel).parent.mkdir(parents=True, exist_ok=True)
            class_mesh(cls).export(root / mesh_rel)
            m.shapes.append(ShapeRecord(sid, cls, mesh_rel))
        for j in range(sketches_per_class):
            kid = f"{cls}_s{j:03d}"
            strokes = normalize_strokes(class_strokes(cls, rng))
            save_png(root / "sketches" / cls / f"{kid}.png", 1 - strokes_to_image(strokes, SKETCH_SIZE))
            write_ndjson(root / "sketches" / cls / f"{kid}.ndjson", [sketch_record(strokes, cls, kid)])
            split = "test" if j % 5 == 0 else "train"
            m.sketches.append(SketchRecord(kid, cls, split, f"sketches/{cls}/{kid}.png",
                                           f"sketches/{cls}/{kid}.ndjson", 0.0))
    m.profile = {"name": "tiny-strokes", "sketch_size": SKETCH_SIZE}
    m.save(root)
    return m


@dataclass
class TinyBundle:
    data: Path      # dataset folder
    runs: Path      # runs/{teacher,student,sketch-uncertainty,shape-transfer}
    bundle: Path    # exported bundle with "cfttsl" and "uactn"


def build_tiny_bundle(root: Path) -> TinyBundle:
    """Dataset, CFTTSL and UACTN runs, and their bundle under ``root`` (reused when already there)."""
    import torch

    tb = TinyBundle(root / "data", root / "runs", root / "bundle")
    if (tb.bundle / "bundle.json").is_file():
        return tb
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets: one thread is as fast, and does not thrash when the CPU is shared
    try:
        _build(tb)
    finally:
        torch.set_num_threads(threads)
    return tb


def _build(tb: TinyBundle) -> None:
    from sbsr_lab.config import get_profile
    from sbsr_lab.serve.bundle import export_bundle
    from sbsr_lab.train.fit import fit

    make_stroke_dataset(tb.data)
    p = get_profile("ci", image_size=SKETCH_SIZE, epochs=8, sketch_epochs=14, unc_weight=10.0, batch_size=8, num_views=4, train_views=2,
                    eval_batch_size=32, device="cpu")
    for stage, base in [("teacher", None), ("student", "teacher"), ("sketch-uncertainty", None),
                        ("shape-transfer", "sketch-uncertainty")]:
        fit(stage, p, tb.data, tb.runs / stage, from_run=tb.runs / base if base else None, progress=False)
    export_bundle({"cfttsl": tb.runs / "student", "uactn": tb.runs / "shape-transfer"}, tb.data, tb.bundle)


def tiny_bundle_for_session(tmp_path_factory) -> TinyBundle:
    """The session's tiny bundle: built on first use, then shared by every test folder."""
    return build_tiny_bundle(tmp_path_factory.getbasetemp() / "sbsr_tiny_bundle")

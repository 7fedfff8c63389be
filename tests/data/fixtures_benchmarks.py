"""Tiny benchmark trees in the exact official layouts, generated on the fly for the tests.

Each ``make_*`` writes a few classes of tiny meshes and 32x32 sketch PNGs under ``root`` and returns
a dict of what it wrote (``classes``, ``shapes``, ``train``, ``test``), so tests can compare counts.
The ``.cla`` text is written by hand here (not with ``sbsr_lab.data.benchmarks.psb.write_cla``) so that the reader
is tested against the real syntax, not against itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh
from PIL import Image, ImageDraw

CLASSES = ("airplane", "chair", "table")

TETRA_OFF = """OFF
4 4 0
0 0 0
1 0 0
0 1 0
0 0 1
3 0 2 1
3 0 1 3
3 0 3 2
3 1 2 3
"""

# Everything wrong that real SHREC/ModelNet files do: counts glued to the keyword, comments, blank
# lines, CRLF, scientific notation, a quad and a pentagon, per-face colours, extra vertex colours.
MALFORMED_OFF = (
    "OFF6 3 0\r\n"
    "# exported by some old tool\r\n"
    "\r\n"
    "0 0 0\r\n"
    "1.0e+00 0 0 # trailing comment\r\n"
    "1 1E0 0\r\n"
    "0 1 0\r\n"
    "\r\n"
    "0.5 0.5 1.5e-1 255 0 0\r\n"
    "0.5 -5e-1 0.25\r\n"
    "4 0 1 2 3 0.2 0.3 0.4\r\n"
    "3 0 1 4\r\n"
    "5 0 5 1 2 4\r\n"
)


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("latin-1"))
    return path


def write_sketch_png(path: Path, seed: int, size: int = 32) -> Path:
    """A black-on-white line drawing (like SHREC sketches), different for each seed."""
    rng = np.random.default_rng(seed)
    image = Image.new("L", (size, size), 255)
    pts = [tuple(int(v) for v in rng.integers(2, size - 2, 2)) for _ in range(3)]
    ImageDraw.Draw(image).line(pts, fill=0, width=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def cla_text(blocks: list[tuple[str, str, list[str]]]) -> str:
    """PSB ``.cla`` text as the SHREC organisers write it (CRLF-free, blank line between blocks)."""
    lines = ["PSB 1", f"{len(blocks)} {sum(len(ids) for _, _, ids in blocks)}", ""]
    for name, parent, ids in blocks:
        lines.append(f"{name} {parent} {len(ids)}")
        lines.extend(ids)
        lines.append("")
    return "\n".join(lines) + "\n"


def _box_off(seed: int) -> str:
    """A closed box with quad faces (OFF), its size drawn from ``seed``."""
    box = trimesh.creation.box(extents=np.random.default_rng(seed).uniform(0.5, 2.0, 3))
    verts = "\n".join(" ".join(f"{v:.6g}" for v in row) for row in box.vertices)
    faces = "\n".join("3 " + " ".join(str(i) for i in f) for f in box.faces)
    return f"OFF\n{len(box.vertices)} {len(box.faces)} 0\n{verts}\n{faces}\n"


def make_shrec13(root: Path, classes: tuple[str, ...] = CLASSES, models_per_class: int = 2,
                 train: int = 2, test: int = 1, malformed: bool = True,
                 combined_sketch_folder: bool = False) -> dict:
    """SHREC'13: ``SHREC13_SBR_TARGET_MODELS/models/m<id>.off`` (ids without the ``m`` in the .cla),
    ``SHREC2013_Sketch_Evaluation/*.cla``, ``SHREC13_SBR_{TRAINING,TESTING}_SKETCHES/<class>/<split>/<id>.png``
    (or one ``SHREC13_SBR_Sketches`` folder when ``combined_sketch_folder``). Model m0 is malformed OFF."""
    models = root / "SHREC13_SBR_TARGET_MODELS" / "models"
    evald = root / "SHREC2013_Sketch_Evaluation"
    model_blocks, train_blocks, test_blocks = [], [], []
    mid, sid = 0, 1
    for cls in classes:
        ids = []
        for _ in range(models_per_class):
            text = MALFORMED_OFF if (malformed and mid == 0) else _box_off(mid)
            write_text(models / f"m{mid}.off", text)
            ids.append(str(mid))
            mid += 1
        model_blocks.append((cls, "0", ids))
        for split, n, blocks in (("train", train, train_blocks), ("test", test, test_blocks)):
            folder = ("SHREC13_SBR_Sketches" if combined_sketch_folder else
                      "SHREC13_SBR_TRAINING_SKETCHES" if split == "train" else "SHREC13_SBR_TESTING_SKETCHES")
            sids = []
            for _ in range(n):
                write_sketch_png(root / folder / cls / split / f"{sid}.png", sid)
                sids.append(str(sid))
                sid += 1
            blocks.append((cls, "0", sids))
    write_text(evald / "SHREC13_SBR_Model.cla", cla_text(model_blocks))
    write_text(evald / "SHREC13_SBR_Sketch_Train.cla", cla_text(train_blocks))
    write_text(evald / "SHREC13_SBR_Sketch_Test.cla", cla_text(test_blocks))
    return {"classes": list(classes), "shapes": mid, "train": train * len(classes), "test": test * len(classes)}


def make_shrec14(root: Path, classes: tuple[str, ...] = CLASSES, models_per_class: int | dict[str, int] = 2,
                 train: int = 2, test: int = 1) -> dict:
    """SHREC'14: ``SHREC14LSSTB_TARGET_MODELS/M<6 digits>.off`` (the .cla writes the padded id),
    ``SHREC14_Sketch_Evaluation/SHREC14_SBR_{Model,Sketch_Train,Sketch_Test}.cla`` and the sketches doubled
    by unzipping, ``SHREC14LSSTB_SKETCHES/SHREC14LSSTB_SKETCHES/<class>/{train,test}/<id>.png``.
    ``models_per_class``: one number for every class, or ``{class: number}`` (a long tail)."""
    models = root / "SHREC14LSSTB_TARGET_MODELS"
    evald = root / "SHREC14_Sketch_Evaluation"
    sketches = root / "SHREC14LSSTB_SKETCHES" / "SHREC14LSSTB_SKETCHES"
    model_blocks, train_blocks, test_blocks = [], [], []
    mid, sid = 1, 1
    for cls in classes:
        ids = []
        n_models = models_per_class[cls] if isinstance(models_per_class, dict) else models_per_class
        for _ in range(n_models):
            write_text(models / f"M{mid:06d}.off", _box_off(mid))
            ids.append(f"{mid:06d}")
            mid += 1
        model_blocks.append((cls, "0", ids))
        for split, n, blocks in (("train", train, train_blocks), ("test", test, test_blocks)):
            sids = []
            for _ in range(n):
                write_sketch_png(sketches / cls / split / f"{sid}.png", sid)
                sids.append(str(sid))
                sid += 1
            blocks.append((cls, "0", sids))
    write_text(evald / "SHREC14_SBR_Model.cla", cla_text(model_blocks))
    write_text(evald / "SHREC14_SBR_Sketch_Train.cla", cla_text(train_blocks))
    write_text(evald / "SHREC14_SBR_Sketch_Test.cla", cla_text(test_blocks))
    return {"classes": list(classes), "shapes": mid - 1, "train": train * len(classes), "test": test * len(classes)}


def make_modelnet(root: Path, classes: tuple[str, ...] = CLASSES, train: int = 2, test: int = 1) -> dict:
    """ModelNet-style: ``<class>/{train,test}/<class>_0001.off`` (ModelNet's own naming)."""
    n = 0
    for cls in classes:
        for split, count in (("train", train), ("test", test)):
            for _ in range(count):
                n += 1
                write_text(root / cls / split / f"{cls}_{n:04d}.off", _box_off(n))
    return {"classes": list(classes), "shapes": n, "train": 0, "test": 0}


def make_plain_folder(root: Path, classes: tuple[str, ...] = CLASSES, train: int = 2, test: int = 1) -> dict:
    """``shapes/<class>/*.{off,obj,ply,glb}`` (one of each format) and ``sketches/<class>/{train,test}/*.png``."""
    n = 0
    for cls in classes:
        for suffix in (".off", ".obj", ".ply", ".glb"):
            n += 1
            box = trimesh.creation.box(extents=(1.0, 0.5 + 0.1 * n, 0.7))
            path = root / "shapes" / cls / f"s{n:03d}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            box.export(path)
        k = 0
        for split, count in (("train", train), ("test", test)):
            for _ in range(count):
                k += 1
                write_sketch_png(root / "sketches" / cls / split / f"{k}.png", 1000 * n + k)
    return {"classes": list(classes), "shapes": n, "train": train * len(classes), "test": test * len(classes)}

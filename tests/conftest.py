"""Shared fixtures: a tiny synthetic dataset folder in the exact manifest layout (no meshes needed),
so that training, retrieval and CLI tests run in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sbsr_lab.data.manifest import Manifest, ShapeRecord, SketchRecord
from sbsr_lab.io import save_png

TINY_CLASSES = ["ring", "cross", "bar"]


def _pattern(cls: str, rng: np.random.Generator, size: int, noise: float = 0.0) -> np.ndarray:
    """A class-specific drawing with random jitter: (size, size) float, ink = 1."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    cx, cy = 0.5 + rng.normal(0, 0.04, 2)
    r = np.hypot(xx - cx, yy - cy)
    w = 0.05 + 0.02 * noise
    if cls == "ring":
        img = np.abs(r - 0.3 * rng.uniform(0.8, 1.1)) < w
    elif cls == "cross":
        img = ((np.abs(xx - cx) < w) | (np.abs(yy - cy) < w)) & (r < 0.4)
    else:
        img = (np.abs(yy - cy) < w * 2) & (np.abs(xx - cx) < 0.4)
    img = img.astype(np.float32)
    img += noise * (rng.random((size, size)) < 0.05)
    return np.clip(img, 0, 1)


def make_tiny_dataset(root: Path, shapes_per_class: int = 5, sketches_per_class: int = 12, size: int = 32,
                      views: int = 12) -> Manifest:
    rng = np.random.default_rng(0)
    m = Manifest(name="tiny", classes=list(TINY_CLASSES), rig="ring12", view_size=size, view_styles=["shaded"])
    for cls in TINY_CLASSES:
        for i in range(shapes_per_class):
            sid = f"{cls}_{i:03d}"
            strip = np.concatenate([_pattern(cls, rng, size) * 0.8 for _ in range(views)], axis=1)
            save_png(root / "views" / f"shaded_{size}" / f"{sid}.png", strip)
            m.shapes.append(ShapeRecord(sid, cls, f"shapes/{cls}/{sid}.ply"))
        for j in range(sketches_per_class):
            kid = f"{cls}_s{j:03d}"
            noise = j / sketches_per_class
            save_png(root / "sketches" / cls / f"{kid}.png", 1 - _pattern(cls, rng, size, noise))
            split = "test" if j % 3 == 0 else "train"
            m.sketches.append(SketchRecord(kid, cls, split, f"sketches/{cls}/{kid}.png", None, noise))
    m.profile = {"name": "tiny"}
    m.save(root)
    return m


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_dataset")
    make_tiny_dataset(root)
    return root

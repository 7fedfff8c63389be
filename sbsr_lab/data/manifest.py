"""``manifest.json``: the one description of a dataset folder that every stage reads.

A manifest lists the classes, the shapes (all of them train and form the gallery, as in SHREC, unless
a shape split such as PART-SHREC14 holds some out: :attr:`Manifest.shape_split`,
:meth:`Manifest.shapes_of`), the sketches with their train/test split and noise level, and where the
rendered views are. SynthShapes
and the real benchmarks (SHREC'13/'14, ModelNet-style, plain folders) write the same format, so the
later stages work on any of them unchanged.

>>> m = Manifest(name="toy", classes=["a", "b"])
>>> m.class_index("b")
1
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sbsr_lab.config import RIG_VIEWS
from sbsr_lab.errors import DatasetLayoutError
from sbsr_lab.io import atomic_write_json

__all__ = ["MANIFEST_NAME", "MANIFEST_VERSION", "ShapeRecord", "SketchRecord", "Manifest", "load_manifest"]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


@dataclass
class ShapeRecord:
    """One shape: ``mesh`` is a path relative to the dataset root; ``params`` what made it (SynthShapes)
    and, where the collection splits its shapes, ``params["split"]``: "train" or "test"."""

    id: str
    cls: str
    mesh: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = {"id": self.id, "class": self.cls, "mesh": self.mesh}
        if self.params:
            d["params"] = self.params
        return d


@dataclass
class SketchRecord:
    """One sketch: ``png`` (and optionally ``strokes``) relative to the root; ``noise`` in [0, 1] or None.

    ``view``: the generator's drawing viewpoint; ``style``: how it was drawn (SynthShapes: one of
    :data:`sbsr_lab.data.sketchgen.STYLES`, e.g. ``"perspective"``, ``"front"``, ``"iconic"``; a
    benchmark may set its own labels), None when unknown. ``source``: the id of the gallery shape the
    sketch was drawn from (the instance level, :mod:`sbsr_lab.retrieval.instance`), None when it was
    drawn from no gallery shape or it is not known.
    """

    id: str
    cls: str
    split: str
    png: str
    strokes: str | None = None
    noise: float | None = None
    view: dict[str, float] | None = None
    style: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "class": self.cls, "split": self.split, "png": self.png}
        for key in ("strokes", "noise", "view", "style", "source"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


@dataclass
class Manifest:
    """A dataset: classes, gallery shapes, sketches and rendered-view settings."""

    name: str
    classes: list[str]
    shapes: list[ShapeRecord] = field(default_factory=list)
    sketches: list[SketchRecord] = field(default_factory=list)
    rig: str = "ring12"
    view_size: int = 128
    view_styles: list[str] = field(default_factory=lambda: ["shaded"])
    profile: dict[str, Any] = field(default_factory=dict)
    #: versions of the generators that made the files (SynthShapes: ``{"sketches": N}``); {} when unknown
    generators: dict[str, int] = field(default_factory=dict)
    #: the protocol that split the shapes (:meth:`sbsr_lab.data.shape_split.ShapeSplit.to_json`, e.g.
    #: ``{"name": "part-shrec14", ...}``); None: every shape trains and forms the gallery (SHREC)
    shape_split: dict[str, Any] | None = None
    root: Path | None = None  # set by load_manifest; not written

    # -- lookup --------------------------------------------------------------------------------------
    def class_index(self, cls: str) -> int:
        """Index of ``cls`` in :attr:`classes` (the one class-index mapping shared by all datasets)."""
        try:
            return self.classes.index(cls)
        except ValueError:
            raise KeyError(f"Class {cls!r} is not in this dataset; it has: {', '.join(self.classes)}") from None

    def sketches_of(self, split: str | None = None) -> list[SketchRecord]:
        """Sketch records of one split (``"train"`` / ``"test"``), or all when ``split`` is None."""
        return [s for s in self.sketches if split is None or s.split == split]

    def shapes_of(self, split: str | None = None) -> list[ShapeRecord]:
        """Shape records of one part: ``"train"`` the shapes training may see, ``"test"`` the gallery.

        With a :attr:`shape_split` these are the shapes whose ``params["split"]`` is ``split``; without
        one every shape is in both (SHREC's protocol). None: every shape of the manifest.
        """
        if split not in (None, "train", "test"):
            raise ValueError(f"shape split must be 'train', 'test' or None, got {split!r}")
        if split is None or self.shape_split is None:
            return list(self.shapes)
        return [s for s in self.shapes if s.params.get("split") == split]

    @property
    def shape_split_name(self) -> str | None:
        """The name of :attr:`shape_split` (e.g. ``"part-shrec14"``), None when the shapes are not split."""
        return None if self.shape_split is None else str(self.shape_split.get("name"))

    @property
    def num_views(self) -> int:
        """Views per shape in the view strips (the number of cameras of :attr:`rig`)."""
        if self.rig not in RIG_VIEWS:
            raise DatasetLayoutError(f"Unknown camera rig {self.rig!r} in the manifest; known: {', '.join(RIG_VIEWS)}.")
        return RIG_VIEWS[self.rig]

    def view_path(self, shape_id: str, style: str | None = None) -> Path:
        """Absolute path of the view strip of ``shape_id`` in ``style`` (default: the first style)."""
        style = style or self.view_styles[0]
        return self._root() / "views" / f"{style}_{self.view_size}" / f"{shape_id}.png"

    def path(self, relative: str) -> Path:
        """Absolute path of a file named relative to the dataset root."""
        return self._root() / relative

    def _root(self) -> Path:
        if self.root is None:
            raise DatasetLayoutError("This manifest has no root folder; load it with load_manifest(root).")
        return self.root

    # -- (de)serialisation ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "name": self.name,
            "profile": self.profile,
            "classes": list(self.classes),
            "rig": self.rig,
            "view_size": self.view_size,
            "view_styles": list(self.view_styles),
            "generators": dict(self.generators),
            "shapes": [s.to_json() for s in self.shapes],
            "sketches": [s.to_json() for s in self.sketches],
        }
        if self.shape_split is not None:  # written only when set: unsplit manifests stay as they were
            d["shape_split"] = dict(self.shape_split)
        return d

    def save(self, root: str | Path) -> Path:
        """Write ``root/manifest.json`` atomically; returns its path."""
        path = Path(root) / MANIFEST_NAME
        atomic_write_json(path, self.to_json())
        self.root = Path(root)
        return path

    @classmethod
    def from_json(cls, d: dict[str, Any], root: Path | None = None, source: str = "manifest") -> "Manifest":
        try:
            version = d.get("version")
            if version != MANIFEST_VERSION:
                raise DatasetLayoutError(
                    f"{source}: manifest version {version!r} is not supported (this sbsr_lab reads "
                    f"version {MANIFEST_VERSION}). Rebuild the dataset with `sbsr-lab data build`."
                )
            m = cls(
                name=d["name"],
                classes=list(d["classes"]),
                shapes=[ShapeRecord(s["id"], s["class"], s["mesh"], s.get("params", {})) for s in d["shapes"]],
                sketches=[
                    SketchRecord(s["id"], s["class"], s["split"], s["png"], s.get("strokes"), s.get("noise"),
                                 s.get("view"), s.get("style"), s.get("source"))
                    for s in d["sketches"]
                ],
                rig=d.get("rig", "ring12"),
                view_size=int(d.get("view_size", 128)),
                view_styles=list(d.get("view_styles", ["shaded"])),
                profile=d.get("profile", {}),
                generators={str(k): int(v) for k, v in d.get("generators", {}).items()},
                shape_split=d.get("shape_split"),
                root=root,
            )
        except KeyError as err:
            raise DatasetLayoutError(
                f"{source}: manifest entry is missing the key {err}. The file is damaged or was not written by "
                "sbsr_lab; rebuild it with `sbsr-lab data build` (SynthShapes) or `sbsr-lab data prepare`."
            ) from None
        m._check_consistency(source)
        return m

    def _check_consistency(self, source: str) -> None:
        known = set(self.classes)
        for rec in list(self.shapes) + list(self.sketches):
            if rec.cls not in known:
                raise DatasetLayoutError(f"{source}: {rec.id} has class {rec.cls!r}, which is not in 'classes'.")
        shape_ids = {s.id for s in self.shapes}
        if self.shape_split is not None:
            self._check_shape_split(source)
        for rec in self.sketches:
            if rec.split not in ("train", "test"):
                raise DatasetLayoutError(f"{source}: sketch {rec.id} has split {rec.split!r}; use train or test.")
            if rec.source is not None and rec.source not in shape_ids:
                raise DatasetLayoutError(f"{source}: sketch {rec.id} names the source shape {rec.source!r}, which is "
                                         "not in 'shapes'; fix the entry or drop its 'source'.")


    def _check_shape_split(self, source: str) -> None:
        """A split manifest names its protocol and puts every shape in "train" or "test", both non-empty."""
        fix = "prepare the dataset again (`sbsr-lab data prepare ... --shape-split NAME`)"
        if not isinstance(self.shape_split, dict) or not isinstance(self.shape_split.get("name"), str):
            raise DatasetLayoutError(f"{source}: 'shape_split' must be an object with a 'name'; {fix}.")
        parts = {"train": 0, "test": 0}
        for rec in self.shapes:
            part = rec.params.get("split") if isinstance(rec.params, dict) else None
            if part not in parts:
                raise DatasetLayoutError(f"{source}: shape {rec.id} has split {part!r} under the shape split "
                                         f"{self.shape_split['name']!r}; want train or test: {fix}.")
            parts[part] += 1
        if not parts["train"] or not parts["test"]:
            raise DatasetLayoutError(f"{source}: the shape split {self.shape_split['name']!r} leaves "
                                     f"{parts['train']} training and {parts['test']} test shapes; {fix}.")


def load_manifest(root: str | Path) -> Manifest:
    """Read ``root/manifest.json`` with clear errors for a missing, empty or foreign folder."""
    root = Path(root)
    if not root.exists():
        raise DatasetLayoutError(
            f"Dataset folder {root} does not exist. Build the default data with "
            f"`sbsr-lab data build --root {root}` or point --data/--root at an existing dataset."
        )
    path = root / MANIFEST_NAME
    if not path.is_file():
        contents = sorted(p.name for p in root.iterdir())[:8]
        what = "is empty" if not contents else f"holds {', '.join(contents)}{' ...' if len(contents) == 8 else ''}"
        raise DatasetLayoutError(
            f"{root} has no {MANIFEST_NAME} (the folder {what}). Build SynthShapes there with "
            f"`sbsr-lab data build --root {root}`, or prepare a real benchmark with `sbsr-lab data prepare NAME --root {root}`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetLayoutError(
            f"{path} is not valid JSON ({err}). It may be half-written by an old tool; delete it and rebuild."
        ) from None
    if not isinstance(data, dict):
        raise DatasetLayoutError(f"{path} does not hold a JSON object; it is not an sbsr_lab manifest.")
    return Manifest.from_json(data, root=root, source=str(path))

"""Shape splits: protocols that hold some of a collection's shapes out of training as the test gallery.

SHREC's own protocol splits only the sketches: every shape trains and every shape is in the gallery.
**PART-SHREC14** (Qi et al., "Semantic Embedding for Sketch-Based 3D Shape Retrieval", BMVC 2018; the
split of the public shrec-sketches-helpers) also splits the shapes: the SHREC'14 classes with more than
50 models, 20% of each class's models held out as the test gallery, the rest as training shapes, seed
1234. Which models land in the test part is our deterministic draw (:func:`part_shrec14_split`); the
helpers' own draw is not reachable from here, so the counts match but the members may differ.

``sbsr-lab data prepare shrec14 --shape-split part-shrec14`` applies it
(:func:`sbsr_lab.data.benchmarks.prepare.prepare_benchmark`): the manifest keeps the kept classes only,
records :meth:`ShapeSplit.to_json` as ``Manifest.shape_split`` and each shape's part in
``params["split"]``; training then sees ``Manifest.shapes_of("train")`` and evaluation ranks
``Manifest.shapes_of("test")``.

    >>> SHAPE_SPLITS["part-shrec14"].to_json()
    {'name': 'part-shrec14', 'layout': 'shrec14', 'min_models': 51, 'test_fraction': 0.2, 'seed': 1234}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from sbsr_lab.errors import ConfigError

__all__ = ["ShapeSplit", "SHAPE_SPLITS", "get_shape_split", "part_shrec14_split"]


def part_shrec14_split(shape_ids: Sequence[str], shape_classes: Sequence[str], min_models: int = 51,
                       test_fraction: float = 0.2, seed: int = 1234) -> dict[str, list[str]]:
    """PART-SHREC14's shape split: ``{"classes": [...], "train": [shape ids], "test": [shape ids]}``.

    Keeps the classes with at least ``min_models`` models (51: "more than 50"); in each kept class
    (sorted by name) the models, sorted by id, are permuted by one ``numpy.random.default_rng(seed)``
    drawn class after class, and the first ``round(test_fraction * n)`` form the test gallery. The
    same inputs always give the same split, whatever their order.
    """
    if len(shape_ids) != len(shape_classes):
        raise ValueError(f"want one class per shape, got {len(shape_ids)} ids and {len(shape_classes)} classes")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if len(set(shape_ids)) != len(shape_ids):
        raise ValueError("shape ids must be unique")
    members: dict[str, list[str]] = {}
    for sid, cls in zip(shape_ids, shape_classes):
        members.setdefault(str(cls), []).append(str(sid))
    rng = np.random.default_rng(seed)
    kept, train, test = [], [], []
    for cls in sorted(members):
        ids = sorted(members[cls])
        if len(ids) < min_models:
            continue
        kept.append(cls)
        order = rng.permutation(len(ids))
        n_test = int(round(test_fraction * len(ids)))
        test += [ids[i] for i in sorted(order[:n_test])]
        train += [ids[i] for i in sorted(order[n_test:])]
    return {"classes": kept, "train": train, "test": test}


@dataclass(frozen=True)
class ShapeSplit:
    """The settings of a shape split, as recorded in ``Manifest.shape_split`` (:meth:`to_json`).

    ``layout``: the benchmark layout it is defined on (``data prepare`` refuses others); ``min_models``:
    the fewest models a class needs to be kept; ``test_fraction``: share of each kept class's models in
    the test gallery (rounded); ``seed``: of the draw (:func:`part_shrec14_split`).
    """

    name: str = "part-shrec14"
    layout: str = "shrec14"
    min_models: int = 51
    test_fraction: float = 0.2
    seed: int = 1234

    def assign(self, shape_ids: Sequence[str], shape_classes: Sequence[str]) -> dict[str, str]:
        """``{shape id: "train" | "test"}`` for the shapes of the kept classes (the others are absent)."""
        split = part_shrec14_split(shape_ids, shape_classes, self.min_models, self.test_fraction, self.seed)
        return {**{sid: "train" for sid in split["train"]}, **{sid: "test" for sid in split["test"]}}

    def describe(self) -> str:
        """One line for reports, e.g. ``part-shrec14 (classes with >= 51 models, 20% test, seed 1234)``."""
        return (f"{self.name} (classes with >= {self.min_models} models, {self.test_fraction:.0%} of each "
                f"held out as the test gallery, seed {self.seed})")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ShapeSplit":
        return cls(**d)


#: The shape splits ``sbsr-lab data prepare --shape-split NAME`` knows, by name.
SHAPE_SPLITS: dict[str, ShapeSplit] = {"part-shrec14": ShapeSplit()}


def get_shape_split(split: str | ShapeSplit | None) -> ShapeSplit | None:
    """A :class:`ShapeSplit` from its name (:data:`SHAPE_SPLITS`), itself, or None for ``None`` / ``"none"``
    (SHREC's protocol: every shape trains and forms the gallery)."""
    if split is None or isinstance(split, ShapeSplit):
        return split
    if split == "none":
        return None
    if split not in SHAPE_SPLITS:
        raise ConfigError(f"Unknown shape split {split!r}; choose one of none, {', '.join(SHAPE_SPLITS)}.")
    return SHAPE_SPLITS[split]

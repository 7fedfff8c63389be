"""SynthShapes: parametric 3D shapes built from primitives, deterministic by (class, index, seed).

Each class has a generator ``fn(rng) -> (mesh, params)`` with continuous sizes and structural
variants (``params["variant"]`` is the main one), so that shapes of a class really differ and
near-neighbour classes (stool/chair, sofa/bed/bench, desk/table, vase/bottle, rocket/bottle) are
confusable. Meshes follow the library's conventions: +Y up, standing on y = 0, front facing +Z,
sizes in rough metres; every part is a closed surface with outward normals.

    >>> from sbsr_lab.data.synthshapes import make_shape
    >>> mesh, params = make_shape("chair", 3)
    >>> float(mesh.bounds[0, 1]), params["variant"] in ("four_legs", "pedestal", "sled", "three_legs")
    (0.0, True)
"""

from __future__ import annotations

import zlib
from functools import partial
from typing import Callable

import numpy as np
import trimesh

from sbsr_lab.data.synthshapes import furniture, household, outdoor, seating, vehicles
from sbsr_lab.data.synthshapes.params import ParamValue

__all__ = ["GENERATORS", "SHAPE_SETS", "available_classes", "make_shape", "class_id"]

Generator = Callable[[np.random.Generator], tuple[trimesh.Trimesh, dict[str, ParamValue]]]

#: Class name -> generator; the 12 base classes first, then the extra ones (see ``sbsr_lab.config``).
GENERATORS: dict[str, Generator] = {
    "airplane": vehicles.airplane,
    "bed": furniture.bed,
    "bench": seating.bench,
    "bottle": household.bottle,
    "car": vehicles.car,
    "chair": seating.chair,
    "house": outdoor.house,
    "lamp": household.lamp,
    "mug": household.mug,
    "rocket": vehicles.rocket,
    "table": furniture.table,
    "tree": outdoor.tree,
    "stool": seating.stool,
    "sofa": seating.sofa,
    "bookshelf": furniture.bookshelf,
    "desk": furniture.desk,
    "vase": household.vase,
    "guitar": household.guitar,
    "umbrella": household.umbrella,
    "boat": vehicles.boat,
}


#: Shape sets (the profile's ``shape_set``): ``base`` is :data:`GENERATORS`; ``real`` replaces the generators
#: named here by ones with the variants real collections add (lamp posts and street lamps among lamps: the six
#: Princeton Shape Benchmark floor lamps of the real development set are all such). Every other class is the
#: same in both sets.
SHAPE_SETS: dict[str, dict[str, Generator]] = {
    "base": {},
    "real": {"lamp": partial(household.lamp, posts=True)},
}


def available_classes() -> list[str]:
    """Names of the classes SynthShapes can build, base classes first."""
    return list(GENERATORS)


def class_id(class_name: str) -> int:
    """A stable number for a class name (CRC-32), independent of Python's hash seed."""
    return zlib.crc32(class_name.encode("utf-8"))


def make_shape(class_name: str, index: int, seed: int = 0,
               shape_set: str = "base") -> tuple[trimesh.Trimesh, dict[str, ParamValue]]:
    """Build shape ``index`` of ``class_name``; the same (class, index, seed, shape set) always gives the same mesh.

    Returns the mesh (+Y up, on the ground, front +Z, metres) and the parameters it was built
    from: floats for sizes (m) and angles (rad), strings/ints for structural variants.
    Raises ``KeyError`` naming the available classes for an unknown class.
    """
    if class_name not in GENERATORS:
        raise KeyError(
            f"SynthShapes has no class {class_name!r}; available classes: {', '.join(GENERATORS)}"
        )
    if index < 0 or seed < 0:
        raise ValueError(f"index and seed must be >= 0, got index={index}, seed={seed}")
    if shape_set not in SHAPE_SETS:
        raise KeyError(f"SynthShapes has no shape set {shape_set!r}; choose one of {', '.join(SHAPE_SETS)}")
    rng = np.random.default_rng([seed, class_id(class_name), index])
    return SHAPE_SETS[shape_set].get(class_name, GENERATORS[class_name])(rng)

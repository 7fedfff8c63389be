"""Is a scanned benchmark usable? :func:`validate` sorts what was found into errors and warnings."""

from __future__ import annotations

import os
from collections import Counter

from sbsr_lab.data.benchmarks.layouts import SHREC_SPECS, scan_benchmark, shape_fix
from sbsr_lab.data.benchmarks.records import LAYOUT_TITLES, BenchmarkIndex, Problem, ValidationReport, listing
from sbsr_lab.errors import DatasetLayoutError

__all__ = ["validate"]


def validate(
    index: BenchmarkIndex | str | os.PathLike[str],
    name: str = "auto",
    *,
    strict: bool = True,
    raise_on_error: bool = True,
) -> ValidationReport:
    """Check an index (or scan ``index`` as a root first) and return a human-readable report.

    Errors (unusable): no shapes; files promised by the ``.cla`` files but missing (warnings when
    ``strict=False``: those items are simply left out); sketch classes without any shape (their
    queries could never find a relevant item); SHREC data without sketches; sketches but no test
    split; unreadable ``.cla`` files. Warnings: empty classes, gallery-only classes, classes with
    sketches in one split only, extra files, incomplete official benchmarks.

    Raises:
        DatasetLayoutError: with the full report as message, when there are errors and ``raise_on_error``.
    """
    if not isinstance(index, BenchmarkIndex):
        index = scan_benchmark(name, index)
    errors = [p for p in index.problems if p.level == "error"]
    warnings = [p for p in index.problems if p.level != "error"]
    title = LAYOUT_TITLES.get(index.layout, index.layout)
    spec = SHREC_SPECS.get(index.layout)

    if index.missing:
        fix = (f"extract the official archives again ({spec.archives})" if spec else "restore the files") + \
            "; or pass strict=False to leave these items out (results are then not comparable)"
        (errors if strict else warnings).append(Problem(
            "error" if strict else "warning",
            f"{len(index.missing)} files listed in the .cla files are missing:\n{listing(index.missing)}", fix))
    if not index.shapes:
        errors.append(Problem("error", "no 3D shapes found", shape_fix(index.layout, index.root)))

    shape_classes = {s.cls for s in index.shapes}
    sketch_classes = {k.cls for k in index.sketches}
    if index.shapes and index.sketches:
        orphan = sorted(sketch_classes - shape_classes)
        if orphan:
            errors.append(Problem(
                "error", f"{len(orphan)} classes have sketches but no shape: {listing(orphan)}",
                "add their shapes, or remove (or rename to match a shape class) those sketch folders",
            ))
    if not index.sketches:
        msg = "no sketches found: retrieval needs query sketches"
        fix = (f"extract the sketch archives into {index.root}" if spec else
               f"add PNGs as {index.root}/sketches/<class>/{{train,test}}/*.png, or synthesise sketches from the shapes")
        (errors if spec else warnings).append(Problem("error" if spec else "warning", msg, fix))
    else:
        splits = Counter(k.split for k in index.sketches)
        if splits["test"] == 0 and splits[None] == 0:
            errors.append(Problem("error", "no test sketches: evaluation needs test queries",
                                  "put the query sketches in sketches/<class>/test/ (or remove the split folders)"))
        if index.shapes:
            no_sketch = sorted(shape_classes - sketch_classes)
            if no_sketch:
                warnings.append(Problem("warning", f"{len(no_sketch)} classes have shapes but no sketch (gallery "
                                        f"only, never queried): {listing(no_sketch)}"))
        counts = index.class_counts()
        one_split = sorted(c for c, row in counts.items()
                           if row["unsplit"] == 0 and (row["train"] == 0) != (row["test"] == 0))
        if one_split:
            warnings.append(Problem("warning", f"{len(one_split)} classes have sketches in one split only: "
                                    f"{listing(one_split)}"))
    if index.empty_classes:
        warnings.append(Problem("warning", f"{len(index.empty_classes)} declared classes have no shape and no sketch "
                                f"and are ignored: {listing(index.empty_classes)}"))
    report = ValidationReport(index=index, errors=errors, warnings=warnings)
    if errors and raise_on_error:
        raise DatasetLayoutError(f"{title} dataset at {index.root} is not usable:\n{report}")
    return report

"""Real benchmarks on disk: detect the layout, index shapes and sketches, validate with a readable report.

Four layouts (``LAYOUTS``), each found under a dataset root (the official folders may sit up to
three levels below it, and a folder doubled by unzipping, ``X/X/...``, is followed):

``shrec13`` -- SHREC'13 sketch track, as distributed by its organisers::

    SHREC13_SBR_TARGET_MODELS/models/m<id>.off          1,258 models (PSB ids, e.g. m0.off)
    SHREC2013_Sketch_Evaluation/SHREC13_SBR_Model.cla    model classes (ids without the "m")
    SHREC2013_Sketch_Evaluation/SHREC13_SBR_Sketch_{Train,Test}.cla
    SHREC13_SBR_TRAINING_SKETCHES/<class>/train/<id>.png  50 per class
    SHREC13_SBR_TESTING_SKETCHES/<class>/test/<id>.png    30 per class
    (or both splits under one SHREC13_SBR_Sketches/<class>/{train,test}/<id>.png)

``shrec14`` -- SHREC'14 extended sketch track::

    SHREC14LSSTB_TARGET_MODELS/M<id>.off                 8,987 models (M000001.off, ...)
    SHREC14_Sketch_Evaluation[_CVIU]/SHREC14_SBR_{Model,Sketch_Train,Sketch_Test}.cla
    SHREC14LSSTB_SKETCHES/<class>/{train,test}/<id>.png   50 + 30 per class

``.cla`` files may sit in any folder up to three levels below the root; model ids are matched to files
numerically (``"1"``, ``"000001"`` and ``M000001.off`` are the same model).

``modelnet`` -- ``<class>/{train,test}/*.off`` (every shape joins the gallery; no sketches of its own,
optional ``sketches/<class>/{train,test}/*.png``).

``folder`` -- your own data: ``shapes/<class>/*.{off,obj,ply,glb}`` and
``sketches/<class>/{train,test}/*.png`` (or ``sketches/<class>/*.png``, split later by the build).

    >>> index = scan_benchmark("auto", "data/shrec13")          # doctest: +SKIP
    >>> report = validate(index)      # raises DatasetLayoutError with the report if unusable
    >>> print(report)                                            # doctest: +SKIP

All real-benchmark I/O lives in this package: :mod:`.off` (OFF meshes as found in the wild),
:mod:`.psb` (PSB ``.cla`` class files), :mod:`.layouts` (detection and scanning), :mod:`.records`,
:mod:`.validation`, :mod:`.fetch` (``sbsr-lab data fetch``: resumable, checked downloads, safe
extraction) and :mod:`.prepare` (``sbsr-lab data prepare``: validate, render, write ``manifest.json``).
"""

from sbsr_lab.data.benchmarks.layouts import MESH_SUFFIXES, detect_layout, scan_benchmark
from sbsr_lab.data.benchmarks.records import (
    LAYOUTS,
    BenchmarkIndex,
    BenchmarkShape,
    BenchmarkSketch,
    Problem,
    ValidationReport,
)
from sbsr_lab.data.benchmarks.validation import validate

__all__ = [
    "LAYOUTS",
    "MESH_SUFFIXES",
    "BenchmarkShape",
    "BenchmarkSketch",
    "Problem",
    "BenchmarkIndex",
    "ValidationReport",
    "detect_layout",
    "scan_benchmark",
    "validate",
]

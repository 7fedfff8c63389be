"""sbsr_lab.data: everything that becomes a dataset folder, and reading it back.

* :mod:`~sbsr_lab.data.synthshapes` -- the parametric SynthShapes generators;
* :mod:`~sbsr_lab.data.sketchgen` -- synthetic human-like sketches traced from rendered line drawings
  (the one place ``data`` imports :mod:`sbsr_lab.render` besides the view rendering of the build);
* :mod:`~sbsr_lab.data.strokes` (strokes in memory, the one rasteriser) and
  :mod:`~sbsr_lab.data.stroke_io` (ndjson / SVG / image files);
* :mod:`~sbsr_lab.data.build`, :mod:`~sbsr_lab.data.manifest`, :mod:`~sbsr_lab.data.datasets` --
  building a dataset folder, its ``manifest.json``, torch Datasets over it;
* :mod:`~sbsr_lab.data.benchmarks` -- all real-benchmark I/O: OFF meshes (``off``), PSB ``.cla`` files
  (``psb``), layouts, validation, downloading (``fetch``) and preparing a dataset folder (``prepare``).
"""

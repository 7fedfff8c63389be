"""sbsr_lab.serve: answer a sketch with gallery shapes, and build the galleries it searches.

* :mod:`~sbsr_lab.serve.engine` -- ``load_engine(model spec)``: the one home for "a model spec -> an engine".
* :mod:`~sbsr_lab.serve.query`  -- :class:`QueryEngine`: one sketch -> a
  :class:`~sbsr_lab.serve.result.QueryResult`, the one result type the CLI, the widget and the app read.
* :mod:`~sbsr_lab.serve.bundle` -- the model shipped in ``sbsr_lab/assets/bundle``: export, checked loading.
* :mod:`~sbsr_lab.serve.index`  -- :class:`GalleryIndex` (exact torch or faiss search, saved without pickle).
* :mod:`~sbsr_lab.serve.gallery`, :mod:`~sbsr_lab.serve.shape_encoder` -- ``sbsr-lab index``: your meshes
  -> a searchable gallery folder.
* :mod:`~sbsr_lab.serve.calibration` -- temperature and out-of-distribution detector of an engine.
* :mod:`~sbsr_lab.serve.meshes` -- a gallery shape's mesh back, the arrays both 3D views draw.
* :mod:`~sbsr_lab.serve.sketch_files` -- sketch files and folders in, scores per class out.
* :mod:`~sbsr_lab.serve.real_world` -- the served pipeline measured on real drawings and meshes.

This layer sits above :mod:`sbsr_lab.retrieval` (metrics, ranking, reports): it may import retrieval,
never the other way round. Import the submodules (this package imports nothing, so that importing one
of them costs only what it needs).
"""

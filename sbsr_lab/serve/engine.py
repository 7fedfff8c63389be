"""The one home for "a model spec -> a query engine" (the CLI's ``query`` and ``app``, the widget, notebooks).

    from sbsr_lab.serve.engine import ModelSpec, load_engine
    engine = load_engine()                              # the packaged bundle's UACTN
    engine = load_engine("bundle:cfttsl")               # a method of the packaged bundle
    engine = load_engine("runs/demo-ci/shape-transfer") # a method's last-stage run: its gallery embedded now
    ModelSpec.parse("cfttsl")                           # ModelSpec(kind='bundle', path=None, method='cfttsl')

Model specs (the CLI's ``--model``, the widget's selector):

* ``None`` or ``"bundle"``: the bundle's UACTN (or its first method);
* a method name (``cfttsl``, ``uactn``, ``joint``, any registered method) or ``bundle:METHOD``: that
  method of the bundle (the ``bundle`` argument, default the packaged one, ``sbsr_lab/assets/bundle``);
* a folder holding ``bundle.json``: that bundle (its UACTN or first method);
* any other folder: a method's last-stage run (``student``, ``shape-transfer``, ``joint``), loaded by
  :func:`sbsr_lab.train.runs.load_method`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import CheckpointError
from sbsr_lab.serve.bundle import default_bundle_path, load_bundle_engine, load_bundle_shape_net, read_bundle
from sbsr_lab.serve.gallery import attach_gallery, read_gallery
from sbsr_lab.serve.query import QueryEngine, build_engine
from sbsr_lab.train.checkpoint import read_checkpoint_meta
from sbsr_lab.train.runs import load_method
from sbsr_lab.train.stage import method_stages

__all__ = ["ModelSpec", "load_engine", "bundle_methods", "load_shape_net"]

PathLike = str | os.PathLike[str]


def _methods() -> list[str]:
    return list(method_stages())


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec (module docstring): a bundle method or a run folder.

    ``kind="bundle"``: ``path`` is the bundle folder (``None``: the packaged one), ``method`` the method
    (``None``: the bundle's UACTN, else its first). ``kind="run"``: ``path`` is the run folder.
    """

    kind: Literal["bundle", "run"]
    path: Path | None = None
    method: str | None = None

    @classmethod
    def parse(cls, spec: "str | os.PathLike[str] | ModelSpec | None" = None,
              bundle: PathLike | None = None) -> "ModelSpec":
        """Read a spec string (or path); raises :class:`CheckpointError` with the fix for a missing folder."""
        if isinstance(spec, ModelSpec):
            return spec
        bundle_path = Path(bundle).expanduser() if bundle is not None else None
        text = "" if spec is None else os.fspath(spec)
        if text in ("", "bundle"):
            return cls("bundle", bundle_path)
        if text.startswith("bundle:"):
            return cls("bundle", bundle_path, text.split(":", 1)[1])
        if text in _methods() and not Path(text).exists():
            return cls("bundle", bundle_path, text)
        path = Path(text).expanduser()
        if (path / "bundle.json").is_file():
            return cls("bundle", path)
        if not path.is_dir():
            raise CheckpointError(
                f"No model {text!r}: it is neither a method name ({', '.join(_methods())}), 'bundle:METHOD', "
                f"nor a run folder (no folder {path.resolve()}). Fix: train one with `sbsr-lab demo` and pass "
                "e.g. runs/demo-default/shape-transfer.")
        return cls("run", path)

    @property
    def bundle_path(self) -> Path:
        """The bundle folder of a bundle spec (the packaged one when ``path`` is None)."""
        return self.path if self.path is not None else default_bundle_path()

    def resolved(self) -> "ModelSpec":
        """The same spec with the bundle's method filled in (reads ``bundle.json``); checks that it exists."""
        if self.kind == "run":
            return self
        methods = list(read_bundle(self.bundle_path)["methods"])  # the clear "No model bundle" error
        method = self.method or ("uactn" if "uactn" in methods else methods[0])
        if method not in methods:
            raise CheckpointError(f"The bundle at {self.bundle_path} has no method {method!r}; it has "
                                  f"{', '.join(methods)}.")
        return ModelSpec("bundle", self.path, method)

    def check(self) -> None:
        """Cheap check that the spec names a model that exists (before starting a server for it)."""
        self.resolved()

    def meta(self) -> dict[str, Any]:
        """What the model records of its training: ``profile`` (dict) and, for runs, ``data`` (the dataset)."""
        if self.kind == "run":
            return read_checkpoint_meta(self.path, "best")
        return read_bundle(self.bundle_path)

    def __str__(self) -> str:
        if self.kind == "run":
            return str(self.path)
        where = "" if self.path is None else f"@{self.path}"
        return f"bundle:{self.method or ''}{where}"


def load_engine(spec: "str | os.PathLike[str] | ModelSpec | QueryEngine | None" = None, data: PathLike | None = None,
                bundle: PathLike | None = None, device: str = "cpu", gallery: PathLike | None = None) -> QueryEngine:
    """A :class:`QueryEngine` from a model spec (module docstring); a ``QueryEngine`` is returned as is.

    ``data``: the dataset whose gallery a run folder's networks embed (default: the one it was trained on).
    ``gallery``: a folder made by ``sbsr-lab index`` whose shapes answer instead (same model only:
    :func:`~sbsr_lab.serve.gallery.attach_gallery`).
    Raises :class:`CheckpointError` with the fix when there is no such model.
    """
    if isinstance(spec, QueryEngine):
        engine = spec
    else:
        ms = ModelSpec.parse(spec, bundle).resolved()
        if ms.kind == "bundle":
            engine = _bundle_engine(ms.method or "uactn", ms.bundle_path)
        else:
            if gallery is not None and data is None:  # the gallery replaces the dataset's: no need to read it
                read_gallery(gallery)  # its clear error before the (slow) dataset embedding
            nets = load_method(ms.path, device=device)
            engine = build_engine(nets, load_manifest(data or nets.data), device)
    if gallery is not None:
        attach_gallery(engine, gallery)
    return engine


def load_shape_net(spec: "str | os.PathLike[str] | ModelSpec | QueryEngine | None" = None,
                   bundle: PathLike | None = None, engine: QueryEngine | None = None) -> tuple[Any, dict[str, Any]]:
    """``(the multi-view shape network, the profile dict)`` of a model spec: the run's shape network, or the
    one packed in the bundle (``None`` when the bundle has none). A loaded engine passed as ``spec``
    names its bundle method (the packaged bundle)."""
    if isinstance(spec, QueryEngine):
        spec = f"bundle:{spec.method}"
    ms = ModelSpec.parse(spec, bundle).resolved()
    if ms.kind == "bundle":
        return load_bundle_shape_net(ms.method or "uactn", ms.bundle_path), read_bundle(ms.bundle_path).get("profile", {})
    nets = load_method(ms.path)
    return nets.shape.eval(), nets.profile


def bundle_methods(bundle: PathLike | None = None) -> list[str]:
    """Methods in a bundle (default: the packaged one); ``[]`` when there is no bundle."""
    try:
        return list(read_bundle(bundle)["methods"])
    except CheckpointError:
        return []


def _bundle_engine(method: str, path: PathLike | None) -> QueryEngine:
    """The :class:`QueryEngine` of ``method`` from the bundle at ``path`` (default: the packaged one),
    through the bundle's fully checked loader (:func:`~sbsr_lab.serve.bundle.load_bundle_engine`)."""
    return load_bundle_engine(method, path)

"""The live demo's controls: a model picker over the one loader, and the query-history panel.

    picker = ModelPicker(bundle=None, on_pick=lambda spec: ...)   # bundled methods + "other run folder..."
    engine = picker.load(ModelSpec.parse("cfttsl"))               # sbsr_lab.serve.engine.load_engine, cached
    panel = HistoryPanel(history, on_replay=lambda entry_id: ..., on_export=lambda path: ...)

The picker's options are :class:`~sbsr_lab.serve.engine.ModelSpec` values (not strings to parse);
:func:`spec_text` is how a spec is written in the history and read back by ``ModelSpec.parse``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

from sbsr_lab.serve.engine import ModelSpec, bundle_methods, load_engine
from sbsr_lab.widgets.app import METHOD_LABELS
from sbsr_lab.widgets.history import QueryHistory, short_path

__all__ = ["ModelPicker", "HistoryPanel", "spec_text", "OTHER_RUN"]

OTHER_RUN = "other run folder..."


def spec_text(spec: ModelSpec) -> str:
    """A spec as the history stores it: ``bundle:METHOD`` (of the demo's bundle) or the run folder."""
    return f"bundle:{spec.method}" if spec.kind == "bundle" else str(spec.path)


class ModelPicker:
    """A dropdown of the bundle's methods (plus loaded run folders) and a run-folder box.

    Args:
        bundle: the bundle folder whose methods are offered (None: the packaged one).
        on_pick: called with the :class:`ModelSpec` a person picks (not when :meth:`sync` sets the value).
        data: dataset folder a run folder's gallery is embedded from (None: the run's own).
    """

    def __init__(self, bundle: str | Path | None, on_pick: Callable[[ModelSpec], Any],
                 data: str | Path | None = None, gallery: str | Path | None = None) -> None:
        import ipywidgets as W

        self.bundle, self.data, self.on_pick, self.gallery = bundle, data, on_pick, gallery
        self._engines: dict[ModelSpec, Any] = {}   # loaded engines: switching back is instant
        self._syncing = False
        self.dropdown = W.Dropdown(description="model", layout=W.Layout(width="300px"))
        self.run_box = W.Text(placeholder="runs/demo-default/shape-transfer", description="run folder",
                              layout=W.Layout(width="360px", display="none"))
        self.load_button = W.Button(description="Load", layout=W.Layout(width="70px", display="none"))
        self.dropdown.observe(self._changed, names="value")
        self.load_button.on_click(lambda _b: self._pick_text(self.run_box.value.strip()))
        self.widget = W.HBox([self.dropdown, self.run_box, self.load_button])

    def resolve(self, model: Any) -> ModelSpec:
        """A spec string, path, ``ModelSpec`` or ``None`` -> the resolved :class:`ModelSpec` (raises
        :class:`~sbsr_lab.errors.CheckpointError` with the fix when there is no such model)."""
        ms = ModelSpec.parse(model, self.bundle).resolved()
        if ms.kind == "bundle" and ms.path is not None and ms.path != ModelSpec.parse(None, self.bundle).path:
            self.bundle = ms.path  # another bundle folder: offer all of its methods
        return ms

    def load(self, spec: ModelSpec) -> Any:
        """The :class:`~sbsr_lab.serve.query.QueryEngine` of ``spec`` through
        :func:`~sbsr_lab.serve.engine.load_engine` (cached per spec)."""
        if spec not in self._engines:
            self._engines[spec] = load_engine(spec, str(self.data) if self.data else None,
                                              gallery=str(self.gallery) if self.gallery else None)
        return self._engines[spec]

    def add_engine(self, engine: Any) -> ModelSpec:
        """Offer a ready ``QueryEngine`` (built in the notebook); returns the spec it is listed under."""
        spec = ModelSpec("run", Path(f"(notebook engine: {engine.method})"))
        self._engines[spec] = engine
        return spec

    def sync(self, current: ModelSpec | None) -> None:
        """List the bundle's methods and every loaded run, and show ``current`` as selected."""
        options: list[tuple[str, Any]] = [(METHOD_LABELS.get(m, m), ModelSpec("bundle", self._bundle_path(), m))
                                          for m in bundle_methods(self.bundle)]
        for spec in self._engines:
            if spec not in [v for _, v in options]:
                options.append((f"run: {short_path(spec.path) if spec.path and spec.path.exists() else spec.path}",
                                spec))
        options.append((OTHER_RUN, None))
        self._syncing = True
        try:
            self.dropdown.options = options
            self.dropdown.value = current if current in [v for _, v in options] else None
        finally:
            self._syncing = False
        self._show_run_box(self.dropdown.value is None)

    @property
    def value(self) -> ModelSpec | None:
        return self.dropdown.value

    def _bundle_path(self) -> Path | None:
        return ModelSpec.parse(None, self.bundle).path

    def _show_run_box(self, show: bool) -> None:
        for w in (self.run_box, self.load_button):
            w.layout.display = "flex" if show else "none"

    def _changed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self._show_run_box(change["new"] is None)
        if change["new"] is not None:
            self.on_pick(change["new"])

    def _pick_text(self, text: str) -> None:
        if text:
            self.on_pick(text)


class HistoryPanel:
    """The query history: the user name, one line per drawing, Replay, Export CSV; paths shown short.

    Args:
        history: the :class:`QueryHistory` (None: the panel says the history is off).
        user: the user name shown (default: the history's).
        on_replay: called with the chosen entry id.
        on_export: called with the CSV path typed in the box.
    """

    def __init__(self, history: QueryHistory | None, user: str | None, on_replay: Callable[[int], Any],
                 on_export: Callable[[str], Any]) -> None:
        import ipywidgets as W

        self.history = history
        where = (f" <span style='color:#5b6573;font-size:12px'>({html.escape(short_path(history.path))}, "
                 "one entry per drawing)</span>" if history is not None else " (off)")
        self.title = W.HTML("<b>Query history</b>" + where)
        self.user_box = W.Text(value=(history.user if history is not None else user) or "", description="user",
                               layout=W.Layout(width="240px"))
        self.entries = W.Select(options=[], rows=8, layout=W.Layout(width="420px"))
        replay = W.Button(description="Replay", icon="repeat")
        replay.on_click(lambda _b: self.entries.value is not None and on_replay(self.entries.value))
        csv = short_path(history.path.with_suffix(".csv")) if history is not None else ""
        self.csv_box = W.Text(value=csv, description="CSV", layout=W.Layout(width="420px"))
        export = W.Button(description="Export CSV", icon="download")
        export.on_click(lambda _b: on_export(self.csv_box.value))
        self.widget = W.VBox([self.title, self.user_box, self.entries, W.HBox([replay, export]), self.csv_box])
        self.refresh()

    @property
    def user(self) -> str | None:
        return self.user_box.value.strip() or None

    def refresh(self) -> None:
        """List the latest 50 drawings, newest first."""
        if self.history is not None:
            self.entries.options = [(e.label(), e.id) for e in self.history.recent(50)]

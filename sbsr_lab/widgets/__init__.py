"""The live demo: a sketch pad, the retrieval widget, the query history, and the web app (`sbsr-lab app`, server/).

    from sbsr_lab.widgets import sketch_demo, SketchPad, QueryHistory
    sketch_demo()                       # draw, and the bundled model answers

Names are imported on first use, so ``sbsr_lab.widgets.app`` and ``.history`` work without ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SketchPad", "RetrievalDemo", "sketch_demo", "QueryHistory", "start_app"]

_WHERE = {"SketchPad": "sketchpad", "RetrievalDemo": "demo", "sketch_demo": "demo", "QueryHistory": "history",
          "start_app": "app"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"sbsr_lab.widgets.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sbsr_lab.widgets' has no attribute {name!r}")

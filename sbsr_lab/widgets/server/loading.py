"""Which methods the app offers and their engines: the slow part of starting, run in the background
(:meth:`~sbsr_lab.widgets.server.state.AppState.start_loading`) after the page is served.

    plan = plan_models(AppConfig(model="bundle:cfttsl"))   # cfttsl first, then the bundle's other methods
    engine = load_engine_for(plan.loaders[0][1], config, plan.bundle)

This module imports the query engine (torch); the rest of the server does not, so that the port is bound
and the page served before torch is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from sbsr_lab.serve.engine import ModelSpec, bundle_methods, load_engine
from sbsr_lab.serve.gallery import read_gallery
from sbsr_lab.serve.query import QueryEngine
from sbsr_lab.widgets.app import METHOD_LABELS
from sbsr_lab.widgets.server.config import AppConfig

__all__ = ["ModelPlan", "plan_models", "load_engine_for", "use_threads"]


@dataclass(frozen=True)
class ModelPlan:
    """What the app offers: the default method, the selector's order, and how to load each method."""

    default: str                             # answers first (it is loaded first)
    keys: list[str]                          # what the selector offers, in order
    loaders: list[tuple[str, str, str]]      # (key, model spec, label), in loading order (the default first)
    bundle: Path | None                      # the bundle folder of a bundle spec, None for a run folder


def plan_models(config: AppConfig) -> ModelPlan:
    """The plan of ``config``: a bundle offers all its methods (``config.model``'s first), a gallery only the
    method that made it, a run folder only itself. Raises the spec's clear error when there is no such model."""
    model = config.model
    if config.gallery is not None and model is None:  # the gallery's own method answers
        model = f"bundle:{read_gallery(config.gallery)['method']}"
    spec = ModelSpec.parse(model, config.bundle).resolved()
    if spec.kind == "run":
        first = spec.path.name if spec.path is not None else "run"
        return ModelPlan(first, [first], [(first, str(spec.path), f"run {first}")], None)
    first = spec.method or "uactn"
    if config.gallery is not None:
        return ModelPlan(first, [first], [(first, f"bundle:{first}", METHOD_LABELS.get(first, first))],
                         spec.bundle_path)
    keys = [first, *(m for m in bundle_methods(spec.bundle_path) if m != spec.method)]
    return ModelPlan(first, sorted(keys, key=lambda m: (m != first, m)),
                     [(m, f"bundle:{m}", METHOD_LABELS.get(m, m)) for m in keys], spec.bundle_path)


def load_engine_for(model_spec: str, config: AppConfig, bundle: Path | None) -> QueryEngine:
    """The engine of one planned method (answering from ``config.gallery`` when there is one), in eval mode."""
    engine = load_engine(model_spec, config.data, bundle, gallery=config.gallery)
    engine.sketch_net.eval()
    return engine


def use_threads(n: int) -> None:
    """Torch CPU threads of every query (the pool's workers share the cores)."""
    torch.set_num_threads(n)

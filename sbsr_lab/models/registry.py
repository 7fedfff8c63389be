"""A small model registry (timm style): entry points by name, ``create_model(name, num_classes=K)``.

    >>> from sbsr_lab.models import create_model, model_name_for
    >>> net = create_model(model_name_for("sketch", "compact"), num_classes=12)

Entry point names read ``<kind>_<backbone>_d<embed_dim>``; kinds are ``sketch`` (CFTTSL student),
``sketch_unc`` (UACTN sketch network) and ``mvcnn`` (multi-view shape network). The model files
register themselves on import (``sbsr_lab/models/__init__.py`` imports them; this file imports none of
them, so the dependency runs one way: mvcnn, sketchnet -> registry).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from torch import nn

__all__ = ["register_model", "create_model", "list_models", "model_name_for", "KINDS"]

#: Model kinds, the first part of an entry point's name.
KINDS: tuple[str, ...] = ("sketch", "sketch_unc", "mvcnn")

_MODELS: dict[str, Callable[..., nn.Module]] = {}
F = TypeVar("F", bound=Callable[..., nn.Module])


def register_model(fn: F) -> F:
    """Decorator: register ``fn`` under its function name."""
    _MODELS[fn.__name__] = fn
    return fn


def list_models(prefix: str = "") -> list[str]:
    """Sorted names of the registered models starting with ``prefix``."""
    return sorted(name for name in _MODELS if name.startswith(prefix))


def create_model(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` for ``num_classes`` classes.

    ``kwargs`` (``None`` values dropped) go to the model, e.g. ``pretrained=True``,
    ``pooling="max"``, ``hidden=256`` or ``embed_dim=64`` (overrides the name's d).
    """
    if name not in _MODELS:
        raise KeyError(f"Unknown model {name!r}. Registered models: {', '.join(sorted(_MODELS))}")
    return _MODELS[name](num_classes=num_classes, **{k: v for k, v in kwargs.items() if v is not None})


def model_name_for(kind: str, backbone: str) -> str:
    """The entry point for a model ``kind`` (see :data:`KINDS`) on a profile's ``backbone``.

    Entry points are 128-d; pass ``embed_dim=`` to :func:`create_model` for another size.
    """
    if kind not in KINDS:
        raise KeyError(f"Unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
    name = f"{kind}_{backbone}_d128"
    if name not in list_models():
        raise KeyError(f"No model {name!r} for backbone {backbone!r}. Registered: {', '.join(list_models(kind + '_'))}")
    return name


"""The network interface: what retrieval, serving and validation may call on a method's networks.

A stage's ``networks(model)`` (:class:`~sbsr_lab.train.stage.Stage`) gives ``{"sketch": net, "shape": net}``;
every such net is an :class:`EmbeddingNetwork`. Some offer more, each an extension protocol:

* :class:`EmbeddingNetwork`, every network: ``embed(x) -> z (B, d)``, ``classifier``, ``centres`` (K, d);
* :class:`UncertaintyNetwork` (UACTN's sketch network): ``uncertainty``, ``embed_uncertain(x) -> (mu, log_var)``;
* :class:`PerViewNetwork` (multi-view networks): ``view_features(views) -> (B, V, F)`` and ``head``,
  each view embedded on its own (the best-matching view);
* :class:`PooledViewNetwork` (:class:`~sbsr_lab.models.mvcnn.MultiViewNet`): ``pooling``, the embedding
  pools the views' features, so one backbone pass gives the pooled and the per-view embeddings.

Check a network at run time with :func:`satisfies` (or :func:`predicts_sigma` for sigma)::

    >>> from sbsr_lab.models import SketchNet
    >>> net = SketchNet("compact", embed_dim=16, num_classes=3, uncertainty=True)
    >>> satisfies(net, EmbeddingNetwork), satisfies(net, PerViewNetwork), predicts_sigma(net)
    (True, False, True)

:func:`satisfies`, not ``isinstance``: from Python 3.12 ``isinstance`` against a protocol looks members
up statically and misses an ``nn.Module``'s submodules (``head``, ``classifier`` live in ``_modules``);
:func:`satisfies` looks them up the way the code that calls them does.
"""

from __future__ import annotations

from typing import Callable, Protocol

from torch import Tensor

__all__ = ["EmbeddingNetwork", "UncertaintyNetwork", "PerViewNetwork", "PooledViewNetwork", "satisfies",
           "predicts_sigma", "protocol_members"]


class EmbeddingNetwork(Protocol):
    """A network that embeds one modality into the shared space.

    ``x`` is a sketch batch ``(B, C, H, W)`` for a sketch network and a batch of rendered views
    ``(B, V, C, H, W)`` for a shape network.
    """

    #: z (B, d) -> cosines to the class centres (B, K) (:class:`~sbsr_lab.models.heads.CosineClassifier`)
    classifier: Callable[[Tensor], Tensor]

    def embed(self, x: Tensor) -> Tensor:
        """x -> z (B, d), unit rows: what retrieval compares (mu for a network with sigma)."""
        ...

    @property
    def centres(self) -> Tensor:
        """Class centres (K, d), unit rows: the normalised columns of ``classifier`` (untrained where a
        method trains no classifier, e.g. ``ssl-align``)."""
        ...


class UncertaintyNetwork(EmbeddingNetwork, Protocol):
    """A network that may predict a per-dimension sigma beside its embedding (when ``uncertainty`` is True)."""

    uncertainty: bool  # True: embed_uncertain gives mu and log sigma^2

    def embed_uncertain(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x -> (mu (B, d) unit rows, equal to ``embed(x)``; log_var (B, d), log sigma^2 per dimension)."""
        ...


class PerViewNetwork(EmbeddingNetwork, Protocol):
    """A shape network that can embed every view of a shape on its own (the best-matching view)."""

    #: backbone features (N, F) -> unit embeddings (N, d) (or ``(mu, log_var)``, each (N, d))
    head: Callable[[Tensor], Tensor | tuple[Tensor, Tensor]]

    def view_features(self, views: Tensor) -> Tensor:
        """views (B, V, C, H, W) -> per-view backbone features (B, V, F)."""
        ...


class PooledViewNetwork(PerViewNetwork, Protocol):
    """A per-view network whose embedding pools the views' features:
    ``embed(views) == head(pool over V of view_features(views))``, so one backbone pass gives both."""

    pooling: str  # "mean" or "max" over the V views


def protocol_members(protocol: type) -> tuple[str, ...]:
    """The public members a protocol (with the protocols it extends) declares, sorted."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls is Protocol or not getattr(cls, "_is_protocol", False):
            continue
        names.update(cls.__dict__.get("__annotations__", {}))
        names.update(k for k, v in cls.__dict__.items() if callable(v) or isinstance(v, property))
    return tuple(sorted(n for n in names if not n.startswith("_")))


def satisfies(net: object, protocol: type) -> bool:
    """True when ``net`` has every member of ``protocol`` (one of this module's protocols)."""
    return all(hasattr(net, name) for name in protocol_members(protocol))


def predicts_sigma(net: object) -> bool:
    """True for a network that gives sigma (:class:`UncertaintyNetwork` with ``uncertainty`` on)."""
    return satisfies(net, UncertaintyNetwork) and bool(net.uncertainty)  # type: ignore[attr-defined]

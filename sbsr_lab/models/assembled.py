"""Networks assembled from the registry's models, and the one builder the methods call.

    >>> from sbsr_lab.config import get_profile
    >>> net = build_network("joint", get_profile("ci"), num_classes=12)   # JointNet: sketch + shape nets
    >>> type(net.sketch).__name__, type(net.shape).__name__
    ('SketchNet', 'MultiViewNet')

Kinds (:data:`NETWORK_KINDS`): the registry's ``sketch``, ``sketch_unc`` and ``mvcnn`` on the profile's
backbone, plus the joint baseline's ``joint`` (:class:`JointNet`) and ``shared-joint``
(:class:`SharedJointNet`). :class:`EmbedWith` turns any embedding function of a trained model into a
network for retrieval (DCA's T(sketch), CMIC's pooled views). Every network here satisfies
:class:`~sbsr_lab.models.protocol.EmbeddingNetwork`.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.models.heads import CosineClassifier
from sbsr_lab.models.mvcnn import MultiViewNet
from sbsr_lab.models.registry import KINDS, create_model, model_name_for
from sbsr_lab.models.sketchnet import SketchNet

__all__ = ["NETWORK_KINDS", "build_network", "model_kwargs", "JointNet", "SharedViews", "SharedJointNet", "EmbedWith"]

#: What :func:`build_network` builds.
NETWORK_KINDS: tuple[str, ...] = (*KINDS, "joint", "shared-joint")


def model_kwargs(profile: Profile) -> dict[str, Any]:
    """The registry arguments every network takes from the profile."""
    return dict(embed_dim=profile.embed_dim, pretrained=profile.pretrained or None, head=profile.head)


def build_network(kind: str, profile: Profile, num_classes: int) -> nn.Module:
    """A fresh network of ``kind`` (:data:`NETWORK_KINDS`) for ``num_classes`` classes, sized by ``profile``
    (backbone, embed_dim, head style; ``mvcnn`` also its view ``pooling``)."""
    if kind == "joint":  # the sketch network first, then the shape network (their initial weights follow)
        return JointNet(build_network("sketch", profile, num_classes), build_network("mvcnn", profile, num_classes))
    if kind == "shared-joint":
        return SharedJointNet(build_network("sketch", profile, num_classes))
    if kind not in KINDS:
        raise KeyError(f"Unknown network kind {kind!r}; choose one of {', '.join(NETWORK_KINDS)}")
    kwargs = model_kwargs(profile)
    if kind == "mvcnn":
        kwargs["pooling"] = profile.pooling  # mean (default) or max over the views
    return create_model(model_name_for(kind, profile.backbone), num_classes, **kwargs)


class JointNet(nn.Module):
    """Joint baseline: a sketch network and a multi-view network sharing ONE cosine classifier.

    ``sketch``: (B, 1, H, W) -> z; ``shape``: (B, V, 1, H, W) -> z; both classified by ``classifier``.
    """

    def __init__(self, sketch: SketchNet, shape: MultiViewNet) -> None:
        super().__init__()
        self.sketch, self.shape = sketch, shape
        self.classifier = shape.classifier
        sketch.classifier = shape.classifier  # tied: one set of class centres for both modalities

    @property
    def centres(self) -> Tensor:
        """The shared class centres (K, d), unit rows."""
        return self.classifier.centres


class SharedViews(nn.Module):
    """A shape as its views through ONE sketch network: z = normalise(mean_v net.embed(view_v)).

    The authors' joint baseline (UACTN's ``train.py``) trains a single network on sketches and on single
    rendered views alike; a shape's descriptor pools its views' embeddings. Shapes: views
    (B, V, C, H, W) -> z (B, d), unit rows. ``view_features`` and ``head`` give the per-view embeddings
    (a :class:`~sbsr_lab.models.protocol.PerViewNetwork`, not a pooled one: it pools embeddings, not features).
    """

    def __init__(self, net: SketchNet) -> None:
        super().__init__()
        self.net = net
        self.head = net.head
        self.classifier = net.classifier

    @property
    def centres(self) -> Tensor:
        """Class centres (K, d), unit rows (the sketch network's)."""
        return self.classifier.centres

    def view_features(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> backbone features of every view (B, V, F)."""
        b, v = views.shape[:2]
        return self.net.forward_features(views.flatten(0, 1)).view(b, v, -1)

    def embed(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> z (B, d): the mean of the views' unit embeddings, renormalised."""
        b, v = views.shape[:2]
        return nn.functional.normalize(self.net.embed(views.flatten(0, 1)).view(b, v, -1).mean(1), dim=1)

    def forward(self, views: Tensor) -> dict[str, Tensor]:
        """views: (B, V, C, H, W) -> ``{"z": (B, d), "logits": (B, K) cosines}``."""
        z = self.embed(views)
        return {"z": z, "logits": self.classifier(z)}


class SharedJointNet(nn.Module):
    """The authors' joint baseline: ``sketch`` is one :class:`SketchNet`, ``shape`` the same network over
    each view (:class:`SharedViews`); one classifier."""

    def __init__(self, net: SketchNet) -> None:
        super().__init__()
        self.sketch = net
        self.shape = SharedViews(net)
        self.classifier = net.classifier

    @property
    def centres(self) -> Tensor:
        """Class centres (K, d), unit rows."""
        return self.classifier.centres


class EmbedWith(nn.Module):
    """A network view for retrieval and validation: ``embed(x) = fn(x)`` and a ``classifier``.

    Made on the fly by a stage's ``networks`` (never saved: the trained model ``owner`` holds the
    weights); ``eval``/``to``/``cpu`` reach the owner's modules.
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], classifier: CosineClassifier, owner: nn.Module) -> None:
        super().__init__()
        self.fn, self.classifier, self.owner = fn, classifier, owner

    @property
    def centres(self) -> Tensor:
        """The classifier's centres (K, d), unit rows."""
        return self.classifier.centres

    def embed(self, x: Tensor) -> Tensor:
        """x -> z (B, d)."""
        return self.fn(x)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x -> ``{"z": (B, d), "logits": (B, K)}``."""
        z = self.embed(x)
        return {"z": z, "logits": self.classifier(z)}

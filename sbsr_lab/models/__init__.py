"""Models: backbones, heads, the multi-view shape network and the sketch network, behind a registry;
the networks the methods assemble from them (:func:`build_network`) and the interface retrieval relies on
(:mod:`sbsr_lab.models.protocol`).

    >>> from sbsr_lab.models import create_model, model_name_for
    >>> teacher = create_model(model_name_for("mvcnn", "compact"), num_classes=12)
    >>> student = create_model("sketch_compact_d128", num_classes=12)
"""

from sbsr_lab.models.adversarial import CrossModalTransform, GradientReversal, ModalityDiscriminator, grad_reverse
from sbsr_lab.models.attention import ViewAttention
from sbsr_lab.models.backbones import BACKBONES, Backbone, CompactCNN, TorchvisionBackbone, build_backbone
from sbsr_lab.models.heads import ClassifiedNet, CosineClassifier, EmbeddingHead, UncertaintyHead, reparameterize
from sbsr_lab.models.registry import KINDS, create_model, list_models, model_name_for, register_model
from sbsr_lab.models.mvcnn import MultiViewNet
from sbsr_lab.models.sketchnet import SketchNet
from sbsr_lab.models.ssl_heads import PredictionMLP, ProjectionMLP
from sbsr_lab.models.assembled import (
    NETWORK_KINDS, EmbedWith, JointNet, SharedJointNet, SharedViews, build_network, model_kwargs,
)
from sbsr_lab.models.protocol import (
    EmbeddingNetwork, PerViewNetwork, PooledViewNetwork, UncertaintyNetwork, predicts_sigma, satisfies,
)

__all__ = [
    "BACKBONES", "Backbone", "CompactCNN", "TorchvisionBackbone", "build_backbone",
    "ClassifiedNet", "CosineClassifier", "EmbeddingHead", "UncertaintyHead", "reparameterize",
    "KINDS", "create_model", "list_models", "model_name_for", "register_model",
    "MultiViewNet", "SketchNet",
    "CrossModalTransform", "GradientReversal", "ModalityDiscriminator", "grad_reverse", "ViewAttention",
    "ProjectionMLP", "PredictionMLP",
    "NETWORK_KINDS", "build_network", "model_kwargs", "JointNet", "SharedViews", "SharedJointNet", "EmbedWith",
    "EmbeddingNetwork", "UncertaintyNetwork", "PerViewNetwork", "PooledViewNetwork", "satisfies", "predicts_sigma",
]

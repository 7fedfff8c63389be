"""Cross-modal losses of the later seed works (notebook 07): DCA's mean discrepancy, CMIC's contrast.

Both compare a batch of sketch embeddings with a batch of shape embeddings directly, where the
two-stage methods (CFTTSL, UACTN) only ever meet through fixed class centres.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["MeanDiscrepancyLoss", "CrossModalContrastiveLoss", "class_means"]


def _check_pair(who: str, zs: Tensor, ys: Tensor, zt: Tensor, yt: Tensor) -> int:
    """Raise a clear error unless zs (N, d), ys (N,), zt (M, d), yt (M,) with integer labels >= 0, both
    batches non-empty; returns K = 1 + the largest label (the labels are checked by :func:`check_labels`)."""
    if zs.dim() != 2 or zt.dim() != 2 or zs.shape[1] != zt.shape[1]:
        raise ValueError(f"{who}: want sketch z (N, d) and shape z (M, d), got {tuple(zs.shape)} and {tuple(zt.shape)}")
    if not ys.numel() or not yt.numel():
        raise ValueError(f"{who}: got an empty batch; give it sketches and shapes")
    k = int(max(ys.max(), yt.max())) + 1
    for z, y, what in ((zs, ys, "sketch"), (zt, yt, "shape")):
        check_labels(y, z.shape[0], k, f"{who} ({what} labels)")
    return k


def class_means(z: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """``(means (K, d), counts (K,))``: the mean embedding of each class (zeros where a class is absent).

    One matrix product with the one-hot labels, no loop over classes.
    """
    onehot = F.one_hot(labels.long(), num_classes).to(z.dtype)  # (N, K)
    counts = onehot.sum(0)  # (K,)
    return (onehot.T @ z) / counts.clamp(min=1)[:, None], counts


class MeanDiscrepancyLoss(BaseLoss):
    """L_md = mean over classes k of ||mean(sketch z of k) - mean(shape z of k)||^2.

    The cross-modality mean discrepancy of DCA (Chen and Fang, "Deep Cross-modality Adaptation via
    Semantics Preserving Adversarial Learning for Sketch-based 3D Shape Retrieval", ECCV 2018):
    beside its adversarial term, DCA pulls the class means of the two modalities together, so that
    each class sits in the same place whichever modality it comes from. Only classes present in
    both batches count.

    Shapes: sketch z (N, d), sketch labels (N,), shape z (M, d), shape labels (M,). Returns a scalar
    (``"mean"`` over the shared classes, ``"sum"``), or (K',) per shared class with ``"none"``.
    Raises ValueError if the two batches share no class.
    """

    def check_inputs(self, z_sketch: Tensor, y_sketch: Tensor, z_shape: Tensor, y_shape: Tensor) -> None:
        _check_pair("MeanDiscrepancyLoss", z_sketch, y_sketch, z_shape, y_shape)

    def compute_loss(self, z_sketch: Tensor, y_sketch: Tensor, z_shape: Tensor, y_shape: Tensor) -> Tensor:
        """z_sketch (N, d), y_sketch (N,), z_shape (M, d), y_shape (M,) -> (K',) per shared class."""
        k = 1 + max(int(y_sketch.max()), int(y_shape.max()))
        ms, ns = class_means(z_sketch, y_sketch, k)
        mt, nt = class_means(z_shape.to(z_sketch.dtype), y_shape, k)
        shared = (ns > 0) & (nt > 0)
        if not bool(shared.any()):
            raise ValueError("MeanDiscrepancyLoss: the sketch and shape batches share no class; "
                             "sample both modalities from the same classes")
        return (ms[shared] - mt[shared]).pow(2).sum(1)


class CrossModalContrastiveLoss(BaseLoss):
    """Category-level cross-modal contrast: each sketch picks out the shapes of its class.

    For a sketch i with unit embedding q_i and shapes g_j (unit), s_ij = q_i . g_j / T and
        L_i = - mean over shapes p of i's class of  log( exp(s_ip) / sum_j exp(s_ij) ),
    the supervised contrastive loss (Khosla et al., NeurIPS 2020) with sketches as anchors and
    shapes as the candidates: the category-level half of CMIC (ICCV 2021), which contrasts
    sketches with shapes at the instance and the category level. Its instance level needs a sketch
    drawn from each shape, which SynthShapes does not pair. Equal to pytorch-metric-learning's
    ``SupConLoss(temperature)(z_sketch, y_sketch, ref_emb=z_shape, ref_labels=y_shape)``.

    Args:
        temperature: T (0.1 as in SupCon); smaller is sharper.

    Shapes: z_sketch (B, d), y_sketch (B,), z_shape (M, d), y_shape (M,); embeddings are normalised
    here. Sketches with no shape of their class in the batch have no loss: ``"mean"`` averages over
    the others, ``"none"`` gives them 0 in its (B,) result. Raises ValueError if no sketch has one.
    """

    def __init__(self, temperature: float = 0.1, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def check_inputs(self, z_sketch: Tensor, y_sketch: Tensor, z_shape: Tensor, y_shape: Tensor) -> None:
        _check_pair("CrossModalContrastiveLoss", z_sketch, y_sketch, z_shape, y_shape)

    def compute_loss(self, z_sketch: Tensor, y_sketch: Tensor, z_shape: Tensor,
                     y_shape: Tensor) -> tuple[Tensor, Tensor]:
        """z_sketch (B, d), y_sketch (B,), z_shape (M, d), y_shape (M,) -> ((B,), valid (B,))."""
        q, g = F.normalize(z_sketch, dim=1), F.normalize(z_shape.to(z_sketch.dtype), dim=1)
        logits = q @ g.T / self.temperature  # (B, M)
        log_prob = logits - logits.logsumexp(1, keepdim=True)
        pos = (y_sketch[:, None] == y_shape[None, :]).to(logits.dtype)  # (B, M)
        n_pos = pos.sum(1)
        has = n_pos > 0
        if not bool(has.any()):
            raise ValueError("CrossModalContrastiveLoss: no sketch has a shape of its class in the batch; "
                             "sample both modalities from the same classes")
        per_sketch = -(pos * log_prob).sum(1) / n_pos.clamp(min=1)  # (B,), 0 where no positive
        return per_sketch, has

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, reduction={self.reduction!r}"

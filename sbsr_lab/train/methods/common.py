"""Pieces the other approaches' stages share: frozen copies, an index-carrying dataset, and a
retrieval-based validation for stages that train no classifier."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from sbsr_lab.config import Profile

__all__ = ["freeze", "Tagged", "nearest_shape_accuracy", "EmbedWith"]


def freeze(module: nn.Module) -> nn.Module:
    """No parameter of ``module`` trains any more (``requires_grad=False``); returns it."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class Tagged(Dataset):
    """``dataset`` whose items also carry a tag: ``(*dataset[i], tags[i])`` (e.g. a sketch's source shape)."""

    def __init__(self, dataset: Dataset, tags: Tensor) -> None:
        if len(tags) != len(dataset):  # type: ignore[arg-type]
            raise ValueError(f"Tagged: {len(tags)} tags for {len(dataset)} items")  # type: ignore[arg-type]
        self.dataset, self.tags = dataset, tags

    def __len__(self) -> int:
        return len(self.tags)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        return (*self.dataset[i], self.tags[i])


class EmbedWith(nn.Module):
    """A network view for retrieval and validation: ``embed(x) = fn(x)`` and a ``classifier``.

    Made on the fly by a stage's ``networks`` (never saved: the trained model ``owner`` holds the
    weights); ``eval``/``to``/``cpu`` reach the owner's modules.
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], classifier: nn.Module, owner: nn.Module) -> None:
        super().__init__()
        self.fn, self.classifier, self.owner = fn, classifier, owner

    def embed(self, x: Tensor) -> Tensor:
        """x -> z (B, d)."""
        return self.fn(x)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x -> ``{"z": (B, d), "logits": (B, K)}``."""
        z = self.embed(x)
        return {"z": z, "logits": self.classifier(z)}


@torch.no_grad()
def nearest_shape_accuracy(sketch_embed: Callable[[Tensor], Tensor], shape_embed: Callable[[Tensor], Tensor],
                           val: dict[str, Any], profile: Profile, device: torch.device,
                           score: Callable[[Tensor, Tensor], Tensor] | None = None) -> float:
    """Share of the held-out sketches whose most similar shape (of ``val["shape"]``) has their class:
    the NN of retrieval on the validation data. ``score(zq (Q, d), zg) -> (Q, N)``, default the cosine
    ``zq @ zg.T``; ``zg`` is whatever ``shape_embed`` returns (e.g. per-view embeddings (N, V, d))."""
    zq, yq = [], []
    for x, y in DataLoader(val["sketch"], batch_size=profile.eval_batch_size):
        zq.append(sketch_embed(x.to(device)).float())
        yq.append(y)
    zg, yg = [], []
    for x, y in DataLoader(val["shape"], batch_size=max(1, profile.eval_batch_size // 4)):
        zg.append(shape_embed(x.to(device)).float())
        yg.append(y)
    q, g = torch.cat(zq), torch.cat(zg)
    sim = score(q, g) if score is not None else q @ g.T
    return float((torch.cat(yg)[sim.argmax(1).cpu()] == torch.cat(yq)).double().mean())

"""Strong sketch-appearance augmentation: stroke width, partial stroke drop, elastic warp.

CMIC (ICCV 2021) augments its photo queries with colour transfer, which means nothing for a binary
sketch. What varies between people drawing the same shape is the line: its width, the strokes left
out or broken, the wobble of the hand. This augmentation draws those (our replacement, see
docs/reproducing.md, "The other approaches"). It works on whole tensors, ink = 1 on paper = 0, like
:class:`~sbsr_lab.data.augment.RandomAffineFlip`, and composes with it.

* **stroke width**: with probability ``p_width`` a 3 x 3 grey dilation (thicker) or erosion (thinner),
  ``max_pool2d`` of x or of -x; erosion is skipped (the sketch kept as it is) where it would wipe
  out most of the ink;
* **partial stroke drop**: ``drops`` discs of radius ``drop_radius`` (a fraction of the side) erase
  the ink under them, each disc centred on an ink pixel, so parts of strokes go missing;
* **elastic warp**: a smooth random displacement (a ``grid`` x ``grid`` field of N(0, 1) upsampled
  bicubically, times ``elastic`` in units of the half-side) moves the lines (Simard et al. 2003).

    >>> import torch
    >>> aug = SketchAppearance()
    >>> aug(torch.zeros(4, 1, 32, 32)).shape
    torch.Size([4, 1, 32, 32])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["SketchAppearance", "dilate", "erode", "drop_discs", "elastic_warp"]


def dilate(x: Tensor) -> Tensor:
    """3 x 3 grey dilation of (B, C, H, W): strokes one pixel thicker on each side."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def erode(x: Tensor) -> Tensor:
    """3 x 3 grey erosion of (B, C, H, W): strokes one pixel thinner on each side."""
    return -F.max_pool2d(-x, 3, stride=1, padding=1)


def drop_discs(x: Tensor, count: int, radius: float, generator: torch.Generator | None = None) -> Tensor:
    """Erase ``count`` discs of radius ``radius`` (fraction of the side), each centred on a random ink pixel
    (ink > 0.5) of its sample. (B, C, H, W) -> (B, C, H, W); a sample without ink is left alone."""
    b, _, h, w = x.shape
    ink = (x.amax(1) > 0.5).flatten(1).to(torch.float64)  # (B, H*W)
    has = ink.sum(1) > 0
    if count <= 0 or not bool(has.any()):
        return x
    probs = torch.where(has[:, None], ink, torch.ones_like(ink))
    centres = torch.multinomial(probs, count, replacement=True, generator=generator)  # (B, count)
    cy, cx = (centres // w).to(x.dtype), (centres % w).to(x.dtype)
    yy = torch.arange(h, dtype=x.dtype, device=x.device)[None, None, :, None]
    xx = torch.arange(w, dtype=x.dtype, device=x.device)[None, None, None, :]
    r = radius * max(h, w)
    inside = ((yy - cy[..., None, None].to(x.device)) ** 2 + (xx - cx[..., None, None].to(x.device)) ** 2) <= r * r
    keep = ~inside.any(1)  # (B, H, W)
    keep |= ~has.to(x.device)[:, None, None]
    return x * keep[:, None].to(x.dtype)


def elastic_warp(x: Tensor, strength: float, grid: int = 4, generator: torch.Generator | None = None) -> Tensor:
    """Warp (B, C, H, W) by a smooth random displacement field of scale ``strength`` (half-sides)."""
    b, _, h, w = x.shape
    if strength <= 0:
        return x
    coarse = torch.randn(b, 2, grid, grid, generator=generator, dtype=torch.float32).to(x)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True) * strength  # (B, 2, H, W)
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device).expand(b, 2, 3)
    base = F.affine_grid(theta, [b, 1, h, w], align_corners=False)  # (B, H, W, 2)
    out = F.grid_sample(x, base + field.permute(0, 2, 3, 1), mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out.clamp(0.0, 1.0)


class SketchAppearance:
    """Callable augmentation of a sketch ``(C, H, W)`` or a batch ``(B, C, H, W)``, ink = 1 (module docstring).

    Args:
        p_width: chance of a width change (half thicker, half thinner).
        drops: discs erased per sketch (0: none); drop_radius: their radius, a fraction of the side.
        p_drop: chance that a sketch gets its discs.
        elastic: displacement scale in half-sides (0: no warp); elastic_grid: control points per side.

    Each sample draws its own changes from ``generator`` (reproducible when one is given).
    """

    def __init__(self, p_width: float = 0.5, drops: int = 2, drop_radius: float = 0.06, p_drop: float = 0.5,
                 elastic: float = 0.03, elastic_grid: int = 4) -> None:
        for name, p in (("p_width", p_width), ("p_drop", p_drop)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"SketchAppearance: {name} must lie in [0, 1], got {p}")
        if drops < 0 or drop_radius < 0 or elastic < 0 or elastic_grid < 2:
            raise ValueError("SketchAppearance: drops, drop_radius and elastic must be >= 0, elastic_grid >= 2")
        self.p_width, self.drops, self.drop_radius, self.p_drop = p_width, drops, drop_radius, p_drop
        self.elastic, self.elastic_grid = elastic, elastic_grid

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.dim() not in (3, 4):
            raise ValueError(f"SketchAppearance expects (C, H, W) or (B, C, H, W), got shape {tuple(x.shape)}")
        single = x.dim() == 3
        xb = x[None] if single else x
        b = xb.shape[0]
        u = torch.rand(b, 3, generator=generator)  # width?, thicker or thinner, drop?
        thick, thin = dilate(xb), erode(xb)
        thin_ok = (thin.flatten(1).sum(1) > 0.3 * xb.flatten(1).sum(1)).cpu()  # erosion must not wipe it out
        change = u[:, 0] < self.p_width
        pick_thick = change & (u[:, 1] < 0.5)
        pick_thin = change & ~pick_thick & thin_ok
        out = torch.where(pick_thick.to(x.device)[:, None, None, None], thick, xb)
        out = torch.where(pick_thin.to(x.device)[:, None, None, None], thin, out)
        if self.drops and self.drop_radius > 0:
            dropped = drop_discs(out, self.drops, self.drop_radius, generator)
            out = torch.where((u[:, 2] < self.p_drop).to(x.device)[:, None, None, None], dropped, out)
        out = elastic_warp(out, self.elastic, self.elastic_grid, generator)
        return out[0] if single else out

    def __repr__(self) -> str:
        return (f"SketchAppearance(p_width={self.p_width}, drops={self.drops}, drop_radius={self.drop_radius}, "
                f"p_drop={self.p_drop}, elastic={self.elastic}, elastic_grid={self.elastic_grid})")

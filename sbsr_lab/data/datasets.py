"""torch Datasets for sketches and multi-view shapes, sharing one class-index mapping (the manifest's).

Both datasets decode their PNGs once, resize them to the network's input size and keep them in memory
as uint8 (a ``default`` profile fits in ~100 MB), so an epoch on a 2-core CPU spends its time in the
network, not in PIL. Training augmentations follow the issue: rotation within +-15 deg, horizontal flip,
scale and translation; evaluation uses none.

>>> # ds = SketchDataset(load_manifest("data/synthshapes-ci"), "train", image_size=48, augment=True)
>>> # x, y = ds[0]     # x: (1, 48, 48) float in [0, 1], ink = 1;  y: int class index
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from sbsr_lab.data.augment import RandomAffineFlip
from sbsr_lab.data.manifest import Manifest, SketchRecord
from sbsr_lab.data.sketch_image import frame_sketch
from sbsr_lab.data.stroke_io import keep_lines_visible
from sbsr_lab.errors import DatasetLayoutError, SketchError
from sbsr_lab.io import load_png

__all__ = ["resize_u8", "network_input", "train_augmentation", "SketchDataset", "MultiViewDataset", "load_sketch_array", "load_view_strip"]


def train_augmentation(degrees: float = 15.0, translate: float = 0.08,
                       scale: tuple[float, float] = (0.85, 1.1), flip: bool = True) -> RandomAffineFlip:
    """The training augmentation: random affine (rotation, scale, translation) and horizontal flip.

    Works on ``(C, H, W)`` or ``(V, C, H, W)`` float tensors; the same draw is applied to every view
    of a shape. Paper (background) is 0, so the warp pads with 0.
    """
    return RandomAffineFlip(degrees=degrees, translate=translate, scale=scale, flip=flip)


def resize_u8(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W) float in [0, 1] -> (size, size) uint8: area-averaged (anti-aliased) when shrinking,
    bilinear when growing. Training images and live queries both go through it."""
    u8 = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    if u8.shape != (size, size):
        u8 = np.asarray(Image.fromarray(u8).resize((size, size), Image.Resampling.BOX if size < u8.shape[0]
                                                   else Image.Resampling.BILINEAR))
    return u8


def network_input(image: Tensor, transform: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """A stored ``(H, W)`` uint8 image (ink = 255) -> the network's ``(1, H, W)`` float in [0, 1], augmented
    by ``transform`` when given (training sketches and training scribbles alike)."""
    x = image.unsqueeze(0).float().div_(255.0)
    return transform(x) if transform is not None else x


def load_sketch_array(path, size: int, frame: bool = False) -> np.ndarray:
    """A sketch PNG (black on white) as ``(size, size)`` uint8 with ink = 255.

    Large scans (e.g. SHREC's 1,111 px sketches) have their lines thickened before shrinking
    (:func:`sbsr_lab.data.stroke_io.keep_lines_visible`), so they do not fade to grey at 96 px.
    ``frame=True`` (drawn sketches, e.g. a benchmark's PNGs): framed like the generated ones instead,
    by :func:`sbsr_lab.data.sketch_image.frame_sketch` (the query path's framing: crop to the ink,
    training margin, training line width).
    """
    try:
        image = load_png(path)
    except FileNotFoundError:
        raise DatasetLayoutError(f"Sketch {path} is missing. Rebuild the dataset (`sbsr-lab data build`).") from None
    except Exception as err:  # noqa: BLE001 - PIL raises many types for corrupt files
        raise SketchError(f"Sketch {path} cannot be read ({err}). Delete it and rebuild the dataset.") from None
    if frame:
        return resize_u8(frame_sketch(image, size, source=str(path)), size)
    if image.ndim == 3:
        image = image.mean(axis=2)
    return resize_u8(keep_lines_visible(1.0 - image, size), size)


def load_view_strip(path, num_views: int, size: int) -> np.ndarray:
    """A view strip PNG ``(H, V*W)`` as ``(V, size, size)`` uint8 (the first ``num_views`` views)."""
    try:
        strip = load_png(path)
    except FileNotFoundError:
        raise DatasetLayoutError(
            f"Rendered views {path} are missing. Run `sbsr-lab data build` (or `data prepare`) to render them."
        ) from None
    if strip.ndim == 3:
        strip = strip.mean(axis=2)
    h, w = strip.shape
    if w % h != 0:
        raise DatasetLayoutError(f"View strip {path} is {w}x{h}, not a row of square views; re-render it.")
    views = strip.reshape(h, w // h, h).transpose(1, 0, 2)  # (V, H, W)
    if num_views > views.shape[0]:
        raise DatasetLayoutError(f"{path} has {views.shape[0]} views but {num_views} were asked for.")
    # Spread the chosen views evenly over the rig when fewer are asked for.
    pick = np.linspace(0, views.shape[0], num_views, endpoint=False).astype(int)
    return np.stack([resize_u8(v, size) for v in views[pick]])


class SketchDataset(Dataset):
    """Sketches of one split: items are ``(image (1, H, W) float in [0, 1], label int)``.

    Attributes: ``labels`` (N,) int64, ``noise`` (N,) float (NaN when unknown), ``ids``, ``class_names``.
    """

    def __init__(self, manifest: Manifest, split: str | None, image_size: int, augment: bool = False,
                 records: Sequence[SketchRecord] | None = None) -> None:
        self.manifest = manifest
        self.class_names = list(manifest.classes)
        self.records = list(records) if records is not None else manifest.sketches_of(split)
        if not self.records:
            raise DatasetLayoutError(f"No {split or ''} sketches in dataset {manifest.root}.")
        self.ids = [r.id for r in self.records]
        self.labels = torch.tensor([manifest.class_index(r.cls) for r in self.records], dtype=torch.long)
        self.noise = torch.tensor([np.nan if r.noise is None else r.noise for r in self.records], dtype=torch.float32)
        # drawn sketches (no generator noise level: a benchmark's PNGs) are framed like generated ones
        self.images = torch.from_numpy(np.stack([load_sketch_array(manifest.path(r.png), image_size,
                                                                   frame=r.noise is None)
                                                 for r in self.records]))  # (N, H, W) uint8
        self.transform = train_augmentation() if augment else None

    def __len__(self) -> int:
        return len(self.records)

    def without_augmentation(self) -> "SketchDataset":
        """The same sketches (images shared, not decoded again) with no augmentation."""
        plain = copy.copy(self)
        plain.transform = None
        return plain

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return network_input(self.images[i], self.transform), int(self.labels[i])


class MultiViewDataset(Dataset):
    """Shapes as stacks of views: items are ``(views (V, 1, H, W) float in [0, 1], label int)``.

    ``split``: ``"train"`` the shapes training may see, ``"test"`` the gallery, None every shape
    (:meth:`~sbsr_lab.data.manifest.Manifest.shapes_of`). Without a shape split in the manifest all
    three are every shape (SHREC protocol); with one (PART-SHREC14) training stages pass ``"train"``
    and evaluation ``"test"``. Attributes: ``labels``, ``ids``, ``class_names``, ``style``, ``split``.
    """

    def __init__(self, manifest: Manifest, image_size: int, num_views: int | None = None,
                 style: str | None = None, augment: bool = False, *, split: str | None = None) -> None:
        self.manifest = manifest
        self.class_names = list(manifest.classes)
        self.style = style or manifest.view_styles[0]
        if self.style not in manifest.view_styles:
            raise DatasetLayoutError(
                f"Views in style {self.style!r} were not rendered for {manifest.root} "
                f"(it has {', '.join(manifest.view_styles)}). Rebuild with that style or pick one of those."
            )
        self.split = split
        self.records = manifest.shapes_of(split)
        if not self.records:
            raise DatasetLayoutError(f"Dataset {manifest.root} has no {split + ' ' if split else ''}shapes.")
        self.ids = [r.id for r in self.records]
        self.labels = torch.tensor([manifest.class_index(r.cls) for r in self.records], dtype=torch.long)
        n_views = num_views or 12
        self.views = torch.from_numpy(np.stack([
            load_view_strip(manifest.view_path(r.id, self.style), n_views, image_size) for r in self.records
        ]))  # (N, V, H, W) uint8
        self.transform = train_augmentation(degrees=10.0) if augment else None

    def __len__(self) -> int:
        return len(self.records)

    def with_views(self, num_views: int) -> "MultiViewDataset":
        """The same shapes with ``num_views`` views spread evenly over the loaded ones and no augmentation
        (the decoded views are shared, not loaded again)."""
        if num_views > self.views.shape[1]:
            raise DatasetLayoutError(f"{num_views} views asked for, but only {self.views.shape[1]} are loaded.")
        subset = copy.copy(self)
        subset.views = self.views[:, np.linspace(0, self.views.shape[1], num_views, endpoint=False).astype(int)]
        subset.transform = None
        return subset

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        x = self.views[i].unsqueeze(1).float().div_(255.0)  # (V, 1, H, W)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])

"""Derived datasets share the decoded images and pick the same views as loading them afresh."""

import torch

from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.manifest import load_manifest


def test_with_views_equals_loading_fewer_views(tiny_dataset):
    m = load_manifest(tiny_dataset)
    full = MultiViewDataset(m, 32, 12, augment=True)
    for n in (4, 6, 12):
        assert torch.equal(full.with_views(n).views, MultiViewDataset(m, 32, n).views)
        assert full.with_views(n).transform is None
    assert full.with_views(2).views.shape[1] == 2 and full.views.shape[1] == 12


def test_without_augmentation_shares_images(tiny_dataset):
    m = load_manifest(tiny_dataset)
    aug = SketchDataset(m, "train", 32, augment=True)
    plain = aug.without_augmentation()
    assert plain.images is aug.images and plain.transform is None and aug.transform is not None
    x, y = plain[0]
    assert torch.equal(x[0], aug.images[0].float() / 255) and y == int(aug.labels[0])

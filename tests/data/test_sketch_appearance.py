"""Sketch-appearance augmentation: width changes, disc drops and the elastic warp do what they say."""

import pytest
import torch

from sbsr_lab.data.sketch_appearance import SketchAppearance, dilate, drop_discs, elastic_warp, erode


def _sketch(b=3, size=32):
    x = torch.zeros(b, 1, size, size)
    x[:, :, 8:24, 15:18] = 1.0  # a vertical stroke, 3 px wide
    x[:, :, 15:18, 8:24] = 1.0  # and a horizontal one
    return x


def test_width_changes_by_hand():
    x = _sketch(1)
    thick, thin = dilate(x), erode(x)
    assert thick[0, 0, 8:24, 14:19].min() == 1 and thick.sum() > x.sum()  # one px more each side
    assert thin[0, 0, 9:14, 16].min() == 1 and thin[0, 0, 9:14, 15].max() == 0  # one px centre line left
    assert torch.all(thin <= x) and torch.all(thick >= x)


def test_drop_discs_only_erase_ink_near_a_stroke():
    x = _sketch()
    g = torch.Generator().manual_seed(0)
    out = drop_discs(x, 2, 0.1, g)
    assert torch.all(out <= x) and out.sum() < x.sum()  # erases, never adds
    assert torch.equal(drop_discs(torch.zeros(2, 1, 16, 16), 3, 0.2, g), torch.zeros(2, 1, 16, 16))


def test_elastic_warp_identity_at_zero_and_moves_ink_otherwise():
    x = _sketch()
    assert torch.equal(elastic_warp(x, 0.0), x)
    g = torch.Generator().manual_seed(1)
    out = elastic_warp(x, 0.05, generator=g)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert (out - x).abs().sum() > 1.0
    assert out.sum() > 0.5 * x.sum()  # a gentle warp keeps most of the ink


def test_sketch_appearance_is_reproducible_and_checks_inputs():
    x = _sketch(4)
    aug = SketchAppearance(p_width=1.0, p_drop=1.0)
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert aug(x[0], torch.Generator().manual_seed(3)).shape == (1, 32, 32)
    off = SketchAppearance(p_width=0.0, p_drop=0.0, elastic=0.0)
    assert torch.equal(off(x), x)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        aug(torch.zeros(2, 2, 1, 8, 8))
    with pytest.raises(ValueError, match="p_width"):
        SketchAppearance(p_width=2.0)


def test_erosion_never_wipes_out_a_thin_sketch():
    x = torch.zeros(2, 1, 16, 16)
    x[:, :, 4:12, 8] = 1.0  # one pixel wide: erosion would erase it
    out = SketchAppearance(p_width=1.0, p_drop=0.0, elastic=0.0)(x, torch.Generator().manual_seed(0))
    assert torch.all(out.flatten(1).sum(1) >= x.flatten(1).sum(1))  # thickened or left as it is

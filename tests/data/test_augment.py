import torch

from sbsr_lab.data.augment import RandomAffineFlip


def test_identity_settings_leave_images_unchanged():
    x = torch.rand(3, 1, 16, 16)
    aug = RandomAffineFlip(degrees=0, translate=0, scale=(1, 1), flip=False)
    assert torch.allclose(aug(x), x, atol=1e-5)


def test_same_warp_for_every_view_and_a_different_one_per_sample():
    view = torch.zeros(1, 24, 24)
    view[0, 4:8, 4:20] = 1
    stack = view.expand(5, 1, 24, 24).clone()  # (V, C, H, W): identical views
    out = RandomAffineFlip()(stack, torch.Generator().manual_seed(0))
    assert all(torch.allclose(out[0], out[i]) for i in range(5))
    batch = stack[None].expand(4, 5, 1, 24, 24).clone()  # (B, V, C, H, W)
    outb = RandomAffineFlip()(batch, torch.Generator().manual_seed(1))
    assert not torch.allclose(outb[0], outb[1])


def test_flip_mirrors_and_ink_is_preserved_roughly():
    x = torch.zeros(1, 32, 32)
    x[0, 10:22, 2:8] = 1  # a bar on the left
    flip = RandomAffineFlip(degrees=0, translate=0, scale=(1, 1), flip=True)
    outs = [flip(x, torch.Generator().manual_seed(s)) for s in range(8)]
    assert any(o[0, :, 24:].sum() > 50 for o in outs) and any(o[0, :, :8].sum() > 50 for o in outs)
    rot = RandomAffineFlip(degrees=15, translate=0.05, scale=(0.9, 1.1))(x, torch.Generator().manual_seed(3))
    assert 0.6 < rot.sum() / x.sum() < 1.4

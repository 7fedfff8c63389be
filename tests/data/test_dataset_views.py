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


def _scan(side: int, pen: int) -> "np.ndarray":
    """A white page of ``side`` px with a horizontal and a diagonal black line ``pen`` px thick."""
    import numpy as np

    page = np.ones((side, side), dtype=np.float32)
    y = side // 3
    page[y:y + pen, side // 8: side - side // 8] = 0.0
    for i in range(side // 8, side - side // 8):
        page[i:i + pen, i] = 0.0
    return page


def test_thin_lines_of_large_scans_stay_dark(tmp_path):
    """A SHREC-size scan (1,111 px, 3 px pen) shrunk to 96 px keeps nearly full ink on its lines."""
    import numpy as np

    from sbsr_lab.data.datasets import load_sketch_array, resize_u8
    from sbsr_lab.data.stroke_io import load_sketch_image
    from sbsr_lab.io import save_png

    page = _scan(1111, 3)
    save_png(tmp_path / "scan.png", page)
    plain = resize_u8(1.0 - page, 96)
    assert plain.max() < 130  # the problem: a plain box resize leaves a faint grey trace
    ours = load_sketch_array(tmp_path / "scan.png", 96)
    assert ours.max() >= 230 and (ours >= 200).sum() >= 0.8 * (plain >= 30).sum() / 2
    # a line stays where it was (no shift), only darker
    one_line = np.ones((1111, 1111), dtype=np.float32)
    one_line[500:503, 100:1000] = 0.0
    save_png(tmp_path / "line.png", one_line)
    rows = load_sketch_array(tmp_path / "line.png", 96).astype(float).sum(axis=1)
    rows_plain = resize_u8(1.0 - one_line, 96).astype(float).sum(axis=1)
    centre = lambda r: float((r * np.arange(96)).sum() / r.sum())  # noqa: E731
    assert abs(centre(rows) - centre(rows_plain)) < 0.5
    assert load_sketch_image(tmp_path / "scan.png", 96).max() >= 0.9  # the query path does the same


def test_small_sketches_are_resized_as_before(tmp_path):
    """SynthShapes sketches (128 -> 96 px) are not thickened: training inputs do not change."""
    import numpy as np

    from sbsr_lab.data.datasets import load_sketch_array, resize_u8
    from sbsr_lab.io import load_png, save_png

    save_png(tmp_path / "small.png", _scan(128, 1))
    page = load_png(tmp_path / "small.png")
    assert np.array_equal(load_sketch_array(tmp_path / "small.png", 96), resize_u8(1.0 - page, 96))

"""The plotting helpers return figures whose data says what the notebook claims."""

import numpy as np

from sbsr_lab.plots import project_2d, show_class_means


def test_project_2d_keeps_distances_of_planar_points():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(6, 2))
    basis = np.linalg.qr(rng.normal(size=(5, 2)))[0]  # an orthonormal 2-D basis in 5-D
    xy = project_2d(plane @ basis.T + 3.0)
    d = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
    assert xy.shape == (6, 2) and np.allclose(d(xy), d(plane))
    assert project_2d(np.ones((3, 1))).shape == (3, 2)


def test_show_class_means_joins_each_class_across_modalities():
    rng = np.random.default_rng(1)
    ms, mt = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    ms[1] = np.nan  # a class without sketches is left out
    fig = show_class_means({"a": (ms, mt), "b": (mt, mt)}, ["x", "y", "z"])
    gap_a, sk_a, sh_a = fig.data[:3]
    assert list(sk_a.text) == ["x", "z"] and len(fig.data) == 6
    xy = np.stack([gap_a.x, gap_a.y], 1)
    assert np.allclose(xy[0], [sk_a.x[0], sk_a.y[0]]) and np.allclose(xy[1], [sh_a.x[0], sh_a.y[0]])
    assert np.isnan(xy[2]).all()
    gap_b, sk_b, sh_b = fig.data[3:]
    assert np.allclose(sk_b.x, sh_b.x) and np.allclose(sk_b.y, sh_b.y)  # identical means: no gap

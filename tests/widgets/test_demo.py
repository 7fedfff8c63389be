"""RetrievalDemo without a browser: simulated strokes on the session's tiny ring/cross/bar bundle."""

import time
from pathlib import Path

import numpy as np
import pytest

import sbsr_lab.widgets
from sbsr_lab.serve.engine import ModelSpec
from sbsr_lab.widgets.demo import Debouncer, RetrievalDemo, sketch_demo
from sbsr_lab.widgets.history import QueryHistory


def draw_ring(pad, cx=180, cy=180, r=120):
    t = np.linspace(0, 2 * np.pi, 40)
    pad._start(cx + r, cy)
    for a in t[1:]:
        pad._move(cx + r * np.cos(a), cy + r * np.sin(a))
    pad._end()


def draw_line(pad, x0, y0, x1, y1):
    pad._start(x0, y0)
    for t in np.linspace(0, 1, 12)[1:]:
        pad._move(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    pad._end()


@pytest.fixture()
def demo(tiny_bundle, tmp_path):
    return RetrievalDemo(tiny_bundle.bundle, data=tiny_bundle.data, k=5, history=tmp_path / "h.sqlite",
                         user="tester", schedule=lambda run: run())


def test_stroke_end_queries_and_shows_everything(demo):
    assert demo.engine.method == "uactn" and demo.model_spec == "bundle:uactn"
    specs = [v for _, v in demo.picker.dropdown.options]
    assert all(isinstance(s, ModelSpec) for s in specs[:2]) and [s.method for s in specs[:2]] == ["cfttsl", "uactn"]
    assert demo.picker.value == demo.spec and specs[-1] is None  # "other run folder..."
    draw_ring(demo.pad)
    shown = demo.shown_results
    assert len(shown) == 5 and [s["rank"] for s in shown] == [1, 2, 3, 4, 5]
    assert shown == demo.last_result.results  # the grid keeps the results themselves, not HTML
    assert sum(s["class"] == "ring" for s in shown) >= 3
    res = demo.last_result
    assert res.predicted_class == "ring" and "Looks like a ring" in demo.status_text
    assert [c for c, _ in demo.answer.probabilities][0] == "ring"
    assert sum(p for _, p in demo.answer.probabilities) == pytest.approx(1, abs=1e-4)
    assert demo.answer.sigma == pytest.approx(res.uncertainty)
    assert demo.selected == shown[0]["id"] and len(demo.view3d.vertices) > 0  # top result in 3D
    assert demo.last_timing["total_ms"] > 0
    entry = demo.history.recent()[0]
    assert demo.user_box.value == "tester" and "(off)" not in demo.history_panel.title.value
    assert entry.user == "tester" and entry.model == "bundle:uactn" and entry.top_ids == [s["id"] for s in shown]
    assert len(demo.history_panel.entries.options) == 1


def test_late_front_end_renders_the_current_query_from_traits(demo):
    """A front-end that starts after the first query (the app's old '[anywidget] Failed to initialize
    model' race) gets the widgets' state as it is now: the chart, the gauge and the 3D view of this query."""
    draw_ring(demo.pad)
    res = demo.last_result
    answer = demo.answer.widget.get_state()["value"]  # what a view starting now receives
    top = max(res.probabilities, key=res.probabilities.get)
    assert f'data-class="{top}" data-p="{res.probabilities[top]:.4f}"' in answer
    assert f'data-sigma="{res.uncertainty:.4f}"' in answer and "no query yet" not in answer
    assert res.label in answer
    state = demo.view3d.get_state()
    assert state["title"] == res.results[0]["id"] and len(state["vertices"]) > 0 and len(state["faces"]) > 0
    assert len(state["vertices"]) % 3 == 0 and max(state["faces"]) < len(state["vertices"]) // 3
    assert "draw();" in state["_esm"] and "model.get(\"vertices\")" in state["_esm"]  # drawn on start
    painter = (Path(sbsr_lab.widgets.__file__).parent / "web" / "mesh_paint.js").read_text(encoding="utf-8")
    assert state["_esm"].startswith(painter) and "paintMesh(ctx, v, f" in state["_esm"]  # the app's painter, one copy


def test_one_history_entry_per_drawing(demo):
    draw_line(demo.pad, 60, 180, 300, 180)
    draw_line(demo.pad, 180, 60, 180, 300)   # the same drawing: still one entry, two queries
    assert demo.history.count() == 1 and demo.history.recent()[0].queries == 2
    assert len(demo.history.recent()[0].strokes) == 2
    demo.pad.clear()                         # a clear pad starts a new drawing
    draw_ring(demo.pad)
    entries = demo.history.recent()
    assert len(entries) == 2 and entries[0].queries == 1 and len(entries[0].strokes) == 1
    assert {e.user for e in entries} == {"tester"}


def test_empty_and_dot_do_not_query(demo):
    draw_ring(demo.pad)
    demo.pad.clear()  # change -> query -> "draw something first", results cleared, nothing stored
    assert "draw something first" in demo.status_text and demo.shown_results == []
    assert demo.view3d.vertices == [] and demo.answer.verdict == ""
    demo.pad._start(100, 100)
    demo.pad._end()
    assert "only a dot" in demo.status_text and demo.shown_results == []
    assert len(demo.history) == 1  # only the ring


def test_model_selector_and_run_folder(demo, tiny_bundle):
    draw_ring(demo.pad)
    cfttsl = next(v for _, v in demo.picker.dropdown.options if v is not None and v.method == "cfttsl")
    demo.picker.dropdown.value = cfttsl  # what the dropdown does
    assert demo.engine.method == "cfttsl" and demo.last_result.method == "cfttsl"
    assert demo.answer.sigma is None and "n/a" in demo.answer.widget.value
    assert demo.set_model(str(tiny_bundle.runs / "shape-transfer"))
    assert demo.engine.method == "uactn" and demo.picker.value == ModelSpec("run", tiny_bundle.runs / "shape-transfer")
    assert not demo.set_model(str(tiny_bundle.runs / "missing"))
    assert "No model" in demo.status_text and demo.engine.method == "uactn"  # the old model stays


def test_test_sketch_picker_signals_and_resets(demo):
    sketches = demo.test_sketches
    assert len(sketches) == 18 and len(demo.sketch_box.options) == 19
    i = next(j for j, s in enumerate(sketches) if s.cls == "cross")
    demo.sketch_box.value = i
    assert not demo.pad.is_empty and demo.last_result.predicted_class == "cross"
    assert f"test sketch: {sketches[i].id}" in demo.sketch_label.value and "clear pad" in demo.sketch_label.value
    assert demo.sketch_box.value == -1        # no stale value: the same sketch can be picked again
    assert len(demo.history) == 0             # a test sketch is not the learner's drawing
    demo.set_model("bundle:cfttsl")           # the same test sketch asked again with the new model
    assert demo.last_result.method == "cfttsl" and len(demo.history) == 0
    demo.sketch_box.value = i
    assert demo.last_result.predicted_class == "cross" and demo.sketch_box.value == -1
    draw_ring(demo.pad)                       # strokes on top: a new drawing of the learner, recorded
    assert len(demo.history) == 1 and len(demo.history.recent()[0].strokes) == len(demo.pad.strokes)
    assert "on top of test sketch" in demo.sketch_label.value
    demo.sketch_box.value = i
    res = demo.draw(demo.pad.strokes)         # the notebook's "as if drawn by hand": a new, recorded drawing
    assert res is not None and len(demo.history) == 2 and demo.sketch_label.value == ""


def test_replay_reproduces_the_recorded_query_exactly(demo, tmp_path):
    demo.pad.buttons["brush"].value = 14      # a thick pen for this drawing
    draw_ring(demo.pad)
    entry = demo.history.recent()[0]
    recorded = demo.last_result
    assert entry.width == 14 and entry.model == "bundle:uactn"
    demo.pad.clear()                          # then a clear pad, another pen and another model
    demo.pad.buttons["brush"].value = 2
    demo.set_model("bundle:cfttsl")
    res = demo.replay(entry.id)
    assert demo.model_spec == "bundle:uactn" and demo.pad.widths == [14.0] * len(entry.strokes)
    assert [np.allclose(a, b, atol=1e-4) for a, b in zip(demo.pad.strokes, entry.strokes)] == [True] * len(entry.strokes)
    assert res.results == recorded.results and demo.replay_matches is True
    assert "the same shapes and scores as recorded" in demo.status_text
    assert len(demo.history) == 1             # a replay is not a new drawing
    # with the current thin pen the answer would differ: the recorded pen matters
    thin = demo.engine.query(entry.strokes, k=5, width=demo._width(2.0))
    assert [r["score"] for r in thin.results] != [r["score"] for r in res.results]
    out = demo.export_history(tmp_path / "h.csv")
    assert out.is_file() and "exported" in demo.status_text


def test_best_view_under_each_result(demo):
    """The bundle keeps per-view embeddings: each tile shows the view of its shape nearest the sketch."""
    import torch

    from sbsr_lab.retrieval.best_view import best_views

    views = demo.engine.views
    assert views is not None and views.embeddings.shape[:2] == (len(demo.engine.index), 4)
    draw_ring(demo.pad)
    res = demo.last_result
    z = torch.from_numpy(res.embedding)
    for r in res.results:
        row = demo.engine.index.ids.index(r["id"])
        cos = torch.nn.functional.normalize(views.embeddings[row], dim=1) @ torch.nn.functional.normalize(z, dim=0)
        assert r["view"] == int(torch.argmax(cos))   # recomputed independently
    assert int(best_views(z, views.embeddings[:1])[0][0]) in range(4)
    tiles = demo.grid._tiles
    assert all(t[3].layout.display == "flex" for t in tiles[: len(res.results)])
    assert "view" in tiles[0][4].value and tiles[0][3].value[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_per_view_embeddings_the_canonical_view_stays(demo):
    demo.engine.views = None   # an older bundle
    draw_ring(demo.pad)
    assert all("view" not in r for r in demo.last_result.results)
    assert all(t[3].layout.display == "none" for t in demo.grid._tiles)


def test_out_of_distribution_message_on_a_scribble(demo):
    """The verdict follows the detector: "does not look like any class I know" exactly when ood.is_ood."""
    import dataclasses

    from sbsr_lab.data.scribbles import make_scribble

    cal = demo.engine.calibration
    assert cal is not None  # export_bundle writes the temperature and the detector
    scribble = make_scribble("mess", np.random.default_rng(3))
    demo.pad.set_strokes(scribble)   # notifies: queried like a drawing
    res = demo.last_result
    assert res.ood is not None and ("does not look like any class" in demo.status_text) == res.is_ood
    # a detector whose threshold lies above this scribble's score must fire (and the panel say so)
    demo.engine.calibration = dataclasses.replace(cal, ood_threshold=res.ood["score"] + 1e-3, reference=cal.reference)
    try:
        demo.query_now()
    finally:
        demo.engine.calibration = cal
    res = demo.last_result
    assert res.is_ood and "This does not look like any class I know." in demo.status_text
    assert demo.answer.is_ood and 'data-ood="true"' in demo.answer.widget.value
    assert "Looks like" not in demo.answer.widget.value


def test_no_bundle_gives_a_clear_message(tmp_path):
    demo = RetrievalDemo(bundle=tmp_path / "nothing", history=False, schedule=lambda run: run())
    assert demo.engine is None and "No model bundle" in demo.status_text
    draw_ring(demo.pad)
    assert "No model loaded" in demo.status_text


def test_history_panel_shows_short_paths(tiny_bundle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    demo = RetrievalDemo(tiny_bundle.bundle, k=3, history=tmp_path / "h.sqlite", schedule=lambda run: run())
    assert "(h.sqlite" in demo.history_panel.title.value and str(tmp_path) not in demo.history_panel.title.value
    assert demo.history_panel.csv_box.value == "h.csv"


def test_sketch_demo_returns_one_widget(tiny_bundle, tmp_path):
    import ipywidgets

    w = sketch_demo(tiny_bundle.bundle, history=QueryHistory(tmp_path / "h.sqlite"), k=3)
    assert isinstance(w, ipywidgets.VBox) and w.demo.k == 3


def test_debouncer_runs_once_after_a_burst():
    calls = []
    d = Debouncer(lambda: calls.append(time.perf_counter()), delay_s=0.05)
    t0 = time.perf_counter()
    for _ in range(5):
        d()
    assert d.pending and calls == []
    time.sleep(0.3)
    assert len(calls) == 1 and calls[0] - t0 >= 0.05 and not d.pending


def test_the_widget_searches_a_gallery_of_your_meshes(tiny_bundle, tmp_path):
    """``sketch_demo(..., gallery=DIR)``: the gallery made by `sbsr-lab index` answers, its meshes open in 3D."""
    from tiny_bundle import class_mesh, class_strokes

    from sbsr_lab.serve.engine import load_engine
    from sbsr_lab.serve.gallery import index_meshes

    for cls in ("ring", "bar"):
        (tmp_path / "m" / cls).mkdir(parents=True)
        class_mesh(cls).export(tmp_path / "m" / cls / f"{cls}.obj")
    index_meshes(tmp_path / "m", tmp_path / "g", load_engine(tiny_bundle.bundle), progress=False)
    d = RetrievalDemo(tiny_bundle.bundle, k=2, history=False, schedule=lambda run: run(), gallery=tmp_path / "g")
    assert sorted(d.engine.index.ids) == ["bar__bar", "ring__ring"]
    d.query_now(class_strokes("ring", np.random.default_rng(3)))
    assert {r["id"] for r in d.last_result.results} == {"bar__bar", "ring__ring"}
    assert d.select("ring__ring") and len(d.view3d.vertices) > 0

"""RetrievalDemo without a browser: simulated strokes on the session's tiny ring/cross/bar bundle."""

import time

import numpy as np
import pytest

from sbsr_lab.widgets.demo import Debouncer, RetrievalDemo, sketch_demo
from sbsr_lab.widgets.history import QueryHistory


def draw_ring(pad, cx=180, cy=180, r=120):
    t = np.linspace(0, 2 * np.pi, 40)
    pad._start(cx + r, cy)
    for a in t[1:]:
        pad._move(cx + r * np.cos(a), cy + r * np.sin(a))
    pad._end()


@pytest.fixture()
def demo(tiny_bundle, tmp_path):
    return RetrievalDemo(tiny_bundle.bundle, data=tiny_bundle.data, k=5, history=tmp_path / "h.sqlite",
                         user="tester", schedule=lambda run: run())


def test_stroke_end_queries_and_shows_everything(demo):
    assert demo.engine.method == "uactn" and demo.model_spec == "bundle:uactn"
    assert [v for _, v in demo.model_box.options][:2] == ["bundle:cfttsl", "bundle:uactn"]
    draw_ring(demo.pad)
    shown = demo.shown_results
    assert len(shown) == 5 and [s["rank"] for s in shown] == ["1", "2", "3", "4", "5"]
    assert sum(s["class"] == "ring" for s in shown) >= 3
    res = demo.last_result
    assert res.predicted_class == "ring" and "looks like a <b>ring</b>" in demo.status.value.lower()
    bars = demo.prob_fig.data[0]
    assert list(bars.y) == ["ring", "cross", "bar"] and sum(bars.x) == pytest.approx(1, abs=1e-4)
    assert demo.gauge_fig.data[0].value == pytest.approx(res.uncertainty)
    assert demo.selected == shown[0]["id"] and len(demo.view3d.data[0].x) > 0  # top result in 3D
    assert demo.last_timing["total_ms"] > 0
    entry = demo.history.recent()[0]
    assert demo.user_box.value == "tester" and "(off)" not in demo.history_panel.children[0].value
    assert entry.user == "tester" and entry.model == "bundle:uactn" and entry.top_ids == [s["id"] for s in shown]
    assert len(demo.history_box.options) == 1


def test_empty_and_dot_do_not_query(demo):
    draw_ring(demo.pad)
    demo.pad.clear()  # change -> query -> "draw something first", results cleared, nothing stored
    assert "draw something first" in demo.status.value and demo.shown_results == []
    demo.pad._start(100, 100)
    demo.pad._end()
    assert "only a dot" in demo.status.value and demo.shown_results == []
    assert len(demo.history) == 1  # only the ring


def test_model_selector_and_run_folder(demo, tiny_bundle):
    draw_ring(demo.pad)
    demo.model_box.value = "bundle:cfttsl"  # what the dropdown does
    assert demo.engine.method == "cfttsl" and demo.last_result.method == "cfttsl"
    assert "n/a" in demo.gauge_fig.layout.title.text
    assert demo.set_model(str(tiny_bundle.runs / "shape-transfer"))
    assert demo.engine.method == "uactn" and demo.model_box.value == str(tiny_bundle.runs / "shape-transfer")
    assert not demo.set_model(str(tiny_bundle.runs / "missing"))
    assert "No model" in demo.status.value and demo.engine.method == "uactn"  # the old model stays


def test_picker_replay_and_export(demo, tmp_path):
    sketches = demo.test_sketches
    assert len(sketches) == 18 and len(demo.sketch_box.options) == 19
    i = next(j for j, s in enumerate(sketches) if s.cls == "cross")
    demo.sketch_box.value = i
    assert not demo.pad.is_empty and demo.last_result.predicted_class == "cross"
    draw_ring(demo.pad)  # adds a ring to the cross; stored in the history
    entry = demo.history.recent()[0]
    demo.pad.clear()
    res = demo.replay(entry.id)
    assert len(demo.pad.strokes) == len(entry.strokes) and res.results[0]["id"] == entry.top_ids[0]
    out = demo.export_history(tmp_path / "h.csv")
    assert out.is_file() and "exported" in demo.status.value


def test_no_bundle_gives_a_clear_message(tmp_path):
    demo = RetrievalDemo(bundle=tmp_path / "nothing", history=False, schedule=lambda run: run())
    assert demo.engine is None and "No model bundle" in demo.status.value
    draw_ring(demo.pad)
    assert "No model loaded" in demo.status.value


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

"""A method is one file: a toy eighth method, written into a temporary folder that joins the methods
package's path (no other file touched), trains and evaluates through ``sbsr-lab demo``, reports its own
extras, and appears in the CLI's choices, the comparison table, and the app's and the widget's model lists."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

import sbsr_lab.train.methods as methods_package
from sbsr_lab.cli import build_parser, main
from sbsr_lab.train.stage import METHODS, STAGES, method_labels, method_stages

TINY = ["--profile", "ci", "--set", "classes=chair,table,airplane", "--set", "shapes_per_class=2",
        "--set", "sketches_per_class=3", "--set", "epochs=1", "--set", "sketch_epochs=1"]
LABEL = "Toy (a test method)"

TOY_METHOD = '''
    """A toy method: a sketch network on its own centres, then a shape network pulled onto them."""

    from sbsr_lab.models import build_network
    from sbsr_lab.train.stage import AMLoss, GuidedLoss, Method, ReportExtras, Stage, register_method, register_stage


    @register_method
    class Toy(Method):
        name, label = "toy8", "Toy (a test method)"

        def report_extras(self, run, evaluation, data):
            return ReportExtras(results={"toy8_queries": len(evaluation.query_ids)}, lines=["toy8: its own line"])


    @register_stage
    class ToySketch(Stage):
        name, method, modality = "toy8-sketch", "toy8", "sketch"

        def build_model(self, profile, num_classes):
            return build_network("sketch", profile, num_classes)

        def loss(self, profile, centres):
            return AMLoss(profile, centres)


    @register_stage
    class ToyShape(Stage):
        name, method, modality, needs = "toy8-shape", "toy8", "shape", "toy8-sketch"

        def build_model(self, profile, num_classes):
            return build_network("mvcnn", profile, num_classes)

        def loss(self, profile, centres):
            return GuidedLoss(profile, centres, 1.0, "guidance")
'''


@pytest.fixture
def toy_method(tmp_path_factory, monkeypatch):
    """The toy method's file in a folder on ``sbsr_lab.train.methods.__path__``; unregistered afterwards."""
    folder = tmp_path_factory.mktemp("more_methods")
    (folder / "toy8.py").write_text(textwrap.dedent(TOY_METHOD))
    monkeypatch.setattr(methods_package, "__path__", [*methods_package.__path__, str(folder)])
    yield "toy8"
    for name in [s for s, st in STAGES.items() if st.method == "toy8"]:
        del STAGES[name]
    METHODS.pop("toy8", None)
    sys.modules.pop("sbsr_lab.train.methods.toy8", None)
    if hasattr(methods_package, "toy8"):
        delattr(methods_package, "toy8")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy") / "synth"
    assert main(["--quiet", "data", "build", *TINY[:8], "--root", str(root), "--workers", "1"]) == 0
    return root


def test_the_toy_method_is_one_file_that_trains_evaluates_and_is_listed(toy_method, built, tmp_path, capsys):
    import pandas  # noqa: F401  (the comparison table is a DataFrame)

    from sbsr_lab.serve.bundle import export_bundle
    from sbsr_lab.retrieval.compare import comparison_table, summarise_demos

    # the registry found it, after the seven, and the CLI offers it
    assert list(method_stages())[-1] == "toy8" and method_stages()["toy8"] == [("toy8-sketch", None),
                                                                                ("toy8-shape", "toy8-sketch")]
    assert method_labels()["toy8"] == LABEL
    demo_help = build_parser(with_stages=True)._subparsers._group_actions[0].choices["demo"].format_help()
    assert "toy8" in demo_help
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "toy8-sketch" in capsys.readouterr().out

    # it trains and evaluates through `sbsr-lab demo --methods toy8`, its extras reported by its own hook
    out = tmp_path / "demo"
    assert main(["--quiet", "demo", *TINY, "--methods", "toy8", "--data", str(built), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "toy8" in text.splitlines()[1] and "mAP" in text and "toy8: its own line" in text
    results = json.loads((out / "results.json").read_text())
    assert set(results["methods"]) == {"toy8"} and results["toy8_queries"] > 0
    assert "uncertainty_noise_spearman" not in results  # no other method's figure
    assert (out / "toy8-sketch" / "best.json").is_file() and (out / "toy8-shape" / "best.json").is_file()

    # the comparison table has its row
    table = comparison_table(summarise_demos([out], pr=False))
    assert list(table["method"]) == ["toy8"]

    # a bundle of it: the app and the widget list it under its label
    bundle = export_bundle({"toy8": out / "toy8-shape"}, built, tmp_path / "bundle")
    from sbsr_lab.widgets.server import AppConfig, AppState

    state = AppState(AppConfig(model="toy8", bundle=str(bundle), history=False))
    state._load_all(None)
    assert state.state == "ready", state.message
    assert [(m["key"], m["label"]) for m in state.status()["models"]] == [("toy8", LABEL)]

    from sbsr_lab.widgets.controls import ModelPicker

    picker = ModelPicker(bundle=bundle, on_pick=lambda spec: None)
    picker.sync(None)
    assert LABEL in [label for label, _ in picker.dropdown.options]

"""Notebook helpers and the profile knobs the stretch exercises use: a training cell re-run with a changed
profile trains a new run (no CheckpointError), ``pooling`` reaches the multi-view network, and
``freeze_centres=False`` lets the student's classifier learn."""

import pytest
import torch

from sbsr_lab.config import BASE_CLASSES, Profile, get_profile
from sbsr_lab.errors import ConfigError
from sbsr_lab.notebook import profile_changes, run_dir, show_source, train
from sbsr_lab.train.stage import get_stage

TINY = dict(image_size=32, epochs=1, sketch_epochs=1, batch_size=8, num_views=4, train_views=2, eval_batch_size=16)


def test_run_dir_names_the_changes_only():
    assert run_dir("runs", "teacher", get_profile("ci")).as_posix() == "runs/teacher"
    assert run_dir("runs", "teacher", get_profile("default")).as_posix() == "runs/teacher"
    p = get_profile("ci").replace(am_margin=0.0)
    assert profile_changes(p) == {"am_margin": 0.0}
    assert run_dir("runs", "teacher", p).name == "teacher+am_margin=0"
    assert run_dir("r", "student", get_profile("ci", alpha=0, beta=0)).name == "student+alpha=0+beta=0"
    assert run_dir("r", "teacher", get_profile("ci", pooling="max")).name == "teacher+pooling=max"
    assert run_dir("r", "student", get_profile("ci", freeze_centres=False)).name == "student+freeze_centres=false"
    assert run_dir("r", "teacher", get_profile("ci", classes=("chair", "mug"))).name == "teacher+classes=chair,mug"
    many = tuple(reversed(BASE_CLASSES))
    long = run_dir("r", "teacher", get_profile("ci", classes=many))
    assert len(long.name) <= 80 and long.name.startswith("teacher+classes+")
    assert long != run_dir("r", "teacher", get_profile("ci", classes=many[1:]))
    assert profile_changes(Profile(name="mine")) == {}  # a custom name compares with the defaults


def test_pooling_reaches_the_multi_view_networks():
    assert get_stage("teacher").build_model(get_profile("ci"), 12).pooling == "mean"
    assert get_stage("teacher").build_model(get_profile("ci", pooling="max"), 12).pooling == "max"
    assert get_stage("shape-transfer").build_model(get_profile("ci", pooling="max"), 12).pooling == "max"
    with pytest.raises(ConfigError, match="pooling"):
        get_profile("ci", pooling="sum")


def test_freeze_centres_false_lets_the_student_classifier_learn():
    st = get_stage("student")
    centres = torch.nn.functional.normalize(torch.randn(12, 128), dim=1)
    frozen = st.build_model(get_profile("ci"), 12)
    st.fix_centres(frozen, centres)
    st.optimizer(frozen, get_profile("ci"))
    assert not frozen.classifier.weight.requires_grad  # the default: the teacher's centres, frozen
    free = st.build_model(get_profile("ci", freeze_centres=False), 12)
    st.fix_centres(free, centres)
    opt = st.optimizer(free, get_profile("ci", freeze_centres=False))
    assert free.classifier.weight.requires_grad
    assert any(p is free.classifier.weight for g in opt.param_groups for p in g["params"])
    assert torch.allclose(free.classifier.centres, centres, atol=1e-6)  # it starts on them


def test_show_source_prints_the_code(capsys):
    from sbsr_lab.models import MultiViewNet

    show_source(MultiViewNet)
    out = capsys.readouterr().out
    assert out.startswith("# MultiViewNet in sbsr_lab/models/mvcnn.py") and "def forward_features" in out


@pytest.mark.slow
def test_a_training_cell_rerun_with_a_changed_profile_trains_a_new_run(tiny_dataset, tmp_path):
    p = get_profile("ci", **TINY)
    first = train("teacher", p, tiny_dataset, tmp_path)
    again = train("teacher", p, tiny_dataset, tmp_path)            # the cell run twice: the finished run
    assert again.run == first.run and again.history == first.history
    changed = train("teacher", p.replace(am_margin=0.0), tiny_dataset, tmp_path)   # no CheckpointError
    assert changed.run != first.run and changed.run.parent == first.run.parent
    assert (first.run / "best.json").is_file() and (changed.run / "best.json").is_file()
    student = train("student", p.replace(freeze_centres=False), tiny_dataset, tmp_path, from_run=first)
    assert student.run.name.startswith("student+") and (student.run / "best.json").is_file()


def test_realdata_folder_follows_sbsr_realdata(monkeypatch, tmp_path):
    """Notebooks 06 and 08 find the real dev set through one function; the book turns it off (licence)."""
    from sbsr_lab.notebook import realdata_folder

    monkeypatch.setenv("SBSR_REALDATA", "none")
    assert realdata_folder() is None
    monkeypatch.setenv("SBSR_REALDATA", str(tmp_path))
    assert realdata_folder() == tmp_path
    monkeypatch.setenv("SBSR_REALDATA", str(tmp_path / "missing"))
    assert realdata_folder() is None


def test_setup_data_is_a_notebooks_whole_set_up(capsys):
    """Notebook 07's first cell: one call gives the profile, the dataset, the run folder and the two datasets."""
    from sbsr_lab.notebook import notebook_runs, setup_data

    nb = setup_data(profile="ci")
    assert "profile 'ci'" in capsys.readouterr().out
    assert nb.profile.name == "ci" and nb.runs == notebook_runs(nb.profile, nb.data) == nb.data.parent / "runs" / "nb-ci"
    assert nb.classes == list(nb.manifest.classes) and nb.manifest.root is not None
    views, label = nb.gallery[0]
    assert views.shape == (nb.profile.num_views, 1, nb.profile.image_size, nb.profile.image_size)
    assert len(nb.test_sketches) == len(nb.manifest.sketches_of("test")) and 0 <= label < len(nb.classes)


def test_committed_summary_reads_the_courses_results_or_says_how_to_make_them(capsys):
    from sbsr_lab.retrieval.compare import committed_summary, results_folder

    assert results_folder() is not None and (results_folder() / "methods-default.json").is_file()
    summary = committed_summary()
    assert summary is not None and summary["profile"] == "default" and len(summary["methods"]) == 7
    assert capsys.readouterr().out.startswith("docs/results/methods-default.json: profile 'default', seeds [0, 1, 2]")
    assert committed_summary("missing.json") is None
    assert "benchmarks/compare_methods.py" in capsys.readouterr().out

"""`sbsr-lab index` and `--gallery`: your own meshes as a gallery (sbsr_lab/serve/gallery.py).

Most tests use the session's tiny ring/cross/bar bundle (its meshes are a torus, two crossed boxes and
a long box); the last ones use the packaged bundle on SynthShapes turned on their side and, when it is
here, on the real development set (../shared/realdata)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from tiny_bundle import class_mesh, class_strokes, tiny_bundle_for_session  # noqa: E402

import sbsr_lab.serve.gallery as gallery_mod  # noqa: E402
from sbsr_lab.cli import main  # noqa: E402
from sbsr_lab.data.stroke_io import sketch_record, write_ndjson  # noqa: E402
from sbsr_lab.data.strokes import normalize_strokes  # noqa: E402
from sbsr_lab.errors import CheckpointError, DatasetLayoutError  # noqa: E402
from sbsr_lab.render.orient import stand_up, up_vector  # noqa: E402
from sbsr_lab.serve.engine import load_engine  # noqa: E402
from sbsr_lab.serve.gallery import find_meshes, index_meshes, mesh_id, read_gallery  # noqa: E402

REAL_SHAPES = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "shapes"


@pytest.fixture(scope="module")
def tb(tmp_path_factory):
    return tiny_bundle_for_session(tmp_path_factory)


def collection(root: Path, per_class: int = 2, loose: bool = True, broken: bool = True) -> Path:
    """Class folders of the tiny classes' meshes (some lying on their side), a loose one and a broken file."""
    rng = np.random.default_rng(0)
    for cls in ("ring", "cross", "bar"):
        for i in range(per_class):
            mesh = class_mesh(cls)
            mesh.vertices = mesh.vertices * rng.uniform(0.8, 1.2)
            (root / cls).mkdir(parents=True, exist_ok=True)
            mesh.export(root / cls / f"{cls}{i}.obj")
    if loose:
        class_mesh("bar").export(root / "loose_bar.ply")
    if broken:
        (root / "cross" / "broken.obj").write_text("v 0 0 0\nf 1 2 3\n")
    (root / "notes.txt").write_text("not a mesh")
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def ring_file(tmp_path: Path) -> Path:
    path = tmp_path / "ring.ndjson"
    write_ndjson(path, [sketch_record(normalize_strokes(class_strokes("ring", np.random.default_rng(5))), "ring", "1")])
    return path


def test_find_meshes_labels_class_folders_and_not_loose_files(tmp_path):
    root = collection(tmp_path / "m")
    found = {p.name: label for p, label in find_meshes(root)}
    assert found["ring0.obj"] == "ring" and found["loose_bar.ply"] is None and "notes.txt" not in found
    assert mesh_id("chair/sub dir/m 12.off") == "chair__sub_dir__m_12"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="no mesh files"):
        find_meshes(tmp_path / "empty")
    with pytest.raises(DatasetLayoutError, match="not a folder"):
        find_meshes(tmp_path / "missing")


def test_index_writes_a_gallery_that_query_and_score_use(tb, tmp_path, capsys):
    root = collection(tmp_path / "mine")
    out = tmp_path / "gal"
    code, printed, _ = run(capsys, "--quiet", "index", root, "--out", out, "--model", tb.bundle, "--orient", "file")
    assert code == 0 and "gallery of 7 shapes" in printed and "skipped" in printed and "broken.obj" in printed
    desc = read_gallery(out)
    assert desc["count"] == 7 and desc["labelled"] and desc["classes"] == ["bar", "cross", "ring"]
    assert [f["id"] for f in desc["failed"]] == ["cross__broken"]
    assert desc["shapes"]["loose_bar"]["class"] is None
    for sid in desc["shapes"]:
        assert (out / "thumbs" / f"{sid}.png").is_file() and (out / "thumbs" / "views" / f"{sid}.png").is_file()
    assert not (out / "parts").exists()
    # the gallery answers queries of the model that made it
    code, printed, _ = run(capsys, "query", ring_file(tmp_path), "--model", tb.bundle, "--gallery", out, "--json")
    doc = json.loads(printed)
    assert code == 0 and {r["id"] for r in doc["results"]} <= set(desc["shapes"])
    assert {r["class"] for r in doc["results"]} <= {"ring", "cross", "bar", "unlabelled"}  # the gallery's labels
    engine = load_engine(tb.bundle, gallery=out)
    assert len(engine.index) == 7 and engine.shapes["ring__ring0"]["mesh"].endswith("ring0.obj")
    assert Path(engine.index.thumbnails[0]).is_file() and engine.views.embeddings.shape[0] == 7
    # score-sketches against the labelled gallery
    sk = tmp_path / "drawings"
    for cls in ("ring", "cross", "bar"):
        for i in range(2):
            write_ndjson(sk / cls / f"{i}.ndjson",
                         [sketch_record(normalize_strokes(class_strokes(cls, np.random.default_rng(i))), cls, str(i))])
    code, printed, _ = run(capsys, "score-sketches", sk, "--model", tb.bundle, "--gallery", out, "--json")
    rep = json.loads(printed)
    assert code == 0 and rep["gallery"] == {"shapes": 7, "no_shapes_of": []} and rep["overall"]["n_retrieval"] == 6
    rows = rep["drawings"]
    assert rep["overall"]["top1"] == pytest.approx(np.mean([r["top1"] for r in rows]))  # the first mesh's class
    assert rep["overall"]["map"] == pytest.approx(np.mean([r["ap"] for r in rows])) and 0 < rep["overall"]["map"] <= 1


def test_a_gallery_of_another_model_is_refused_with_the_fix(tb, tmp_path, capsys):
    out = tmp_path / "gal"
    index_meshes(collection(tmp_path / "m", per_class=1, loose=False, broken=False), out, load_engine(tb.bundle), orient="file", progress=False)
    with pytest.raises(CheckpointError, match="indexed by another model"):
        load_engine("bundle:cfttsl", bundle=tb.bundle, gallery=out)
    code, _, err = run(capsys, "query", ring_file(tmp_path), "--model", "bundle:cfttsl", "--bundle", tb.bundle,
                       "--gallery", out)
    assert code == 2 and "index the meshes again" in err


def test_finished_gallery_is_not_replaced_without_overwrite_and_changes_are_caught(tb, tmp_path, capsys):
    root = collection(tmp_path / "m", per_class=1, loose=False, broken=False)
    out = tmp_path / "gal"
    index_meshes(root, out, load_engine(tb.bundle), orient="file", progress=False)
    before = (out / "gallery.safetensors").read_bytes()
    with pytest.raises(DatasetLayoutError, match="--overwrite"):
        index_meshes(root, out, load_engine(tb.bundle), orient="file", progress=False)
    assert (out / "gallery.safetensors").read_bytes() == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    code, _, err = run(capsys, "index", root, "--out", other, "--model", tb.bundle)
    assert code == 2 and "other files" in err and (other / "mine.txt").read_text() == "keep me"
    index_meshes(root, out, load_engine(tb.bundle), orient="file", progress=False, overwrite=True)
    data = bytearray((out / "gallery.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (out / "gallery.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="changed since it was indexed"):
        read_gallery(out)
    with pytest.raises(CheckpointError, match="not a gallery folder"):
        read_gallery(tmp_path)


def test_an_interrupted_index_resumes_where_it_stopped(tb, tmp_path, monkeypatch):
    root = collection(tmp_path / "m", per_class=2, loose=False, broken=False)  # 6 meshes
    out = tmp_path / "gal"
    monkeypatch.setattr(gallery_mod, "CHUNK", 2)
    real = gallery_mod._encode_one
    calls = []

    def stop_after_four(*job):
        calls.append(job[1])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*job)

    monkeypatch.setattr(gallery_mod, "_encode_one", stop_after_four)
    with pytest.raises(KeyboardInterrupt):
        index_meshes(root, out, load_engine(tb.bundle), orient="file", progress=False)
    assert len(list((out / "parts").glob("part-*.safetensors"))) == 2 and not (out / "gallery.json").exists()
    with pytest.raises(CheckpointError, match="interrupted"):
        read_gallery(out)
    calls.clear()
    monkeypatch.setattr(gallery_mod, "_encode_one", lambda *job: calls.append(job[1]) or real(*job))
    desc = index_meshes(root, out, load_engine(tb.bundle), orient="file", progress=False)
    assert len(calls) == 2 and desc["count"] == 6  # only the two meshes not finished before


def test_the_shaded_encoder_uses_the_bundles_shape_network(tb, tmp_path):
    from sbsr_lab.serve.bundle import load_bundle_shape_net

    net = load_bundle_shape_net("uactn", tb.bundle)
    assert net is not None and not net.training
    desc = index_meshes(collection(tmp_path / "m", per_class=1, loose=False, broken=False), tmp_path / "g",
                        load_engine(tb.bundle), net, {"view_size": 32, "num_views": 4}, encoder="shaded", orient="file",
                        progress=False)
    assert desc["encoder"] == "shaded" and desc["shape_fingerprint"] and desc["count"] == 3
    # a bundle exported before shape networks were packed: the clear error, and drawn still works
    old = tmp_path / "old_bundle"
    import shutil

    shutil.copytree(tb.bundle, old)
    doc = json.loads((old / "bundle.json").read_text())
    for m in doc["methods"].values():
        m.pop("shape", None)
    (old / "bundle.json").write_text(json.dumps(doc))
    assert load_bundle_shape_net("uactn", old) is None
    from sbsr_lab.errors import MeshError

    with pytest.raises(MeshError, match="--encoder drawn"):
        index_meshes(tmp_path / "m", tmp_path / "g2", load_engine("bundle:uactn", bundle=old), None, None,
                     encoder="shaded", progress=False)


def test_bundled_model_stands_a_synthshapes_chair_up_and_knows_it():
    from sbsr_lab.data.synthshapes import make_shape
    from sbsr_lab.serve.shape_encoder import DrawnViewEncoder

    engine = load_engine("bundle:uactn")
    chair, _ = make_shape("chair", 950, 0)
    lying = stand_up(chair, up_vector("-Z"))  # the chair's up now points along +Z
    shape = DrawnViewEncoder(engine).encode(lying)
    assert shape.up == "+Z" and engine.class_names[int(np.argmax(shape.probabilities))] == "chair"
    kept = DrawnViewEncoder(engine, orient="file").encode(lying)
    assert kept.up == "+Y" and len(kept.up_scores) == 1


@pytest.mark.skipif(not REAL_SHAPES.is_dir(), reason="the real development set (../shared/realdata) is not here")
def test_real_meshes_are_stood_up_and_recognised(tmp_path):
    root = tmp_path / "real"
    for cls, name in (("bottle", "Bottle_m488.obj"), ("chair", "NonWheelChair_m822.obj")):
        (root / cls).mkdir(parents=True)
        (root / cls / name).symlink_to(REAL_SHAPES / cls / name)
    desc = index_meshes(root, tmp_path / "g", load_engine("bundle:uactn"), progress=False)
    shapes = desc["shapes"]
    assert shapes["bottle__Bottle_m488"]["up"] in ("+X", "-X")  # this bottle lies along X in its file
    assert all(s["predicted"] == s["class"] for s in shapes.values())


def test_the_app_serves_the_gallery_with_its_own_model_and_its_meshes_stood_up(tb, tmp_path):
    from sbsr_lab.widgets.server import AppConfig, AppState

    root = tmp_path / "m"
    (root / "bar").mkdir(parents=True)
    lying = stand_up(class_mesh("bar"), up_vector("+Y"))
    lying.export(root / "bar" / "bar0.obj")
    out = tmp_path / "gal"
    desc = index_meshes(root, out, load_engine(tb.bundle), orient="file", progress=False)
    state = AppState(AppConfig(bundle=str(tb.bundle), gallery=str(out), history=False))
    try:
        state._load_all(None)
        assert state.state == "ready", state.message
        assert state.method_keys == ["uactn"] and len(state.models["uactn"].engine.index) == 1
        mesh = state.mesh("uactn", "bar__bar0")
        v = np.asarray(mesh["vertices"]).reshape(-1, 3)
        up = desc["shapes"]["bar__bar0"]["up"]
        from sbsr_lab.serve.meshes import shape_mesh

        want = shape_mesh({"mesh": str(root / "bar" / "bar0.obj"), "up": up})
        assert np.allclose(np.ptp(v, axis=0) / np.ptp(v, axis=0).max(), want.extents / want.extents.max(), atol=1e-3)
    finally:
        state.close()


def test_the_shaded_encoder_feeds_the_shape_network_its_training_views():
    """The shaded encoder's views are the training views' path (float -> resize_u8 -> /255): grey shading,
    not binary silhouettes, and the packaged shape network knows upright SynthShapes shapes by them."""
    from sbsr_lab.data.synthshapes import make_shape
    from sbsr_lab.serve.engine import load_shape_net
    from sbsr_lab.serve.shape_encoder import make_encoder

    engine = load_engine("bundle:uactn")
    net, profile = load_shape_net("bundle:uactn")
    enc = make_encoder("shaded", engine, net, profile, orient="file")
    for cls in ("bottle", "chair", "table"):
        shape = enc.encode(make_shape(cls, 960, 0)[0])
        grey = ((shape.views_seen > 20) & (shape.views_seen < 235)).mean() / max((shape.views_seen > 20).mean(), 1e-9)
        assert grey > 0.5, "the views reach the network as silhouettes"
        assert engine.class_names[int(np.argmax(shape.probabilities))] == cls


def test_worker_processes_give_the_same_gallery(tb, tmp_path):
    from sbsr_lab.serve.index import GalleryIndex

    root = collection(tmp_path / "m", per_class=1, loose=False, broken=True)
    engine = load_engine(tb.bundle)
    one = index_meshes(root, tmp_path / "g0", engine, workers=0, orient="file", progress=False)
    two = index_meshes(root, tmp_path / "g2", engine, workers=2, orient="file", progress=False)
    assert one["shapes"] == two["shapes"] and [f["id"] for f in two["failed"]] == ["cross__broken"]
    a, b = GalleryIndex.load(tmp_path / "g0" / "gallery.safetensors"), GalleryIndex.load(tmp_path / "g2" / "gallery.safetensors")
    assert a.ids == b.ids and np.allclose(a.embeddings.numpy(), b.embeddings.numpy(), atol=1e-5)


def test_scoring_against_an_unlabelled_gallery_is_refused_with_the_fix(tb, tmp_path, capsys):
    root = tmp_path / "loose"
    root.mkdir()
    class_mesh("bar").export(root / "bar.obj")
    index_meshes(root, tmp_path / "g", load_engine(tb.bundle), orient="file", progress=False)
    sk = tmp_path / "drawings" / "ring"
    write_ndjson(sk / "0.ndjson", [sketch_record(normalize_strokes(class_strokes("ring", np.random.default_rng(0))),
                                                 "ring", "0")])
    code, _, err = run(capsys, "score-sketches", tmp_path / "drawings", "--model", tb.bundle, "--gallery", tmp_path / "g")
    assert code == 2 and "no labels" in err and "sub-folder per class" in err

import pytest

from sbsr_lab.config import BASE_CLASSES, EXTRA_CLASSES, PROFILES, Profile, get_profile, parse_overrides


def test_profiles_exist_and_differ_in_size():
    ci, default, full = (get_profile(n) for n in ("ci", "default", "full"))
    assert ci.name == "ci" and default.name == "default" and full.name == "full"
    assert ci.shapes_per_class < default.shapes_per_class < full.shapes_per_class
    assert ci.image_size < default.image_size < full.image_size == 224
    assert full.backbone != "compact" and full.pretrained
    assert default.classes == BASE_CLASSES and len(default.classes) == 12
    assert set(EXTRA_CLASSES) <= set(full.classes) and len(full.classes) >= 20
    assert set(PROFILES) == {"ci", "default", "full"}


def test_overrides_are_type_checked_and_coerced_from_strings():
    p = get_profile("ci", **parse_overrides(["epochs=3", "lr=0.01", "pretrained=yes", "classes=chair,table"]))
    assert (p.epochs, p.lr, p.pretrained, p.classes) == (3, 0.01, True, ("chair", "table"))
    assert get_profile("ci", epochs=5).epochs == 5
    with pytest.raises(KeyError, match="Unknown profile key 'epoch'.*epochs"):
        get_profile("ci", epoch=3)
    with pytest.raises(TypeError, match="wants an integer"):
        get_profile("ci", epochs="three")
    with pytest.raises(TypeError, match="true/false"):
        get_profile("ci", pretrained="maybe")
    with pytest.raises(KeyError, match="Unknown profile 'huge'"):
        get_profile("huge")
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["epochs"])
    with pytest.raises(ValueError, match="'backbone' cannot be 'resnet181'.*resnet18"):
        get_profile("ci", backbone="resnet181")
    with pytest.raises(ValueError, match="'optimizer' cannot be 'adam'.*adamw"):
        get_profile("ci", optimizer="adam")


def test_round_trip_through_json_dict():
    p = get_profile("full", epochs=7)
    assert Profile.from_dict(p.to_dict()) == p
    assert p.replace(seed=3).seed == 3 and p.seed == 0


# ---------------------------------------------------------------------------------------------
# ranges (issue 18: wrong settings used to "succeed" or crash deep inside)

import dataclasses  # noqa: E402
import math  # noqa: E402
import typing  # noqa: E402

from sbsr_lab.config import RANGES, check_root  # noqa: E402
from sbsr_lab.errors import ConfigError  # noqa: E402


@pytest.mark.parametrize("pair, needle", [
    ("epochs=0", "'epochs' = 0 is out of range.*epochs=V with V >= 1"),
    ("sketch_epochs=-1", "'sketch_epochs'"),
    ("batch_size=0", "'batch_size' = 0 .*BatchNorm"),
    ("lr=nan", "'lr' = nan"),
    ("lr=inf", "'lr' = inf"),
    ("lr=0", "'lr' = 0.0 .*> 0"),
    ("image_size=0", "'image_size' = 0"),
    ("max_noise=-5", "'max_noise' = -5.0"),
    ("shapes_per_class=0", "'shapes_per_class' = 0"),
    ("workers=-3", "'workers' = -3"),
    ("test_sketch_fraction=1", "'test_sketch_fraction'"),
    ("embed_dim=10000000", "'embed_dim' = 10000000"),
    ("seed=-1", "'seed'"),
    ("classes=chair,unicorn", "Unknown class 'unicorn'.*airplane"),
    ("classes=chair,chair", "names a class twice"),
    ("classes=,", "'classes' is empty"),
    ("device=gpu", "'device' cannot be 'gpu'"),
    ("rig=cube6", "'rig' cannot be 'cube6'.*ring12"),
])
def test_every_bad_value_names_the_key_and_the_fix(pair, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        get_profile("ci", **parse_overrides([pair]))
    assert "Fix" in str(info.value) or "choose" in str(info.value) or "use" in str(info.value)
    with pytest.raises(ConfigError):  # also when a checkpoint's profile dict holds it
        key, value = pair.split("=", 1)
        Profile.from_dict({**get_profile("ci").to_dict(), key: parse_overrides([pair])[key]})


def test_every_numeric_field_has_a_range_and_every_profile_is_in_range():
    hints = typing.get_type_hints(Profile)
    numeric = {f.name for f in dataclasses.fields(Profile) if hints[f.name] in (int, float)}
    assert numeric == set(RANGES), "a numeric Profile field has no row in config.RANGES (or a row has no field)"
    for name in PROFILES:
        p = get_profile(name)
        for key, rng in RANGES.items():
            assert rng.holds(getattr(p, key)), (name, key)
    assert not RANGES["lr"].holds(math.nan)


def test_direct_construction_is_checked_too():
    with pytest.raises(ConfigError, match="'epochs'"):
        Profile(epochs=0)


def test_get_profile_none_reads_sbsr_profile(monkeypatch):
    monkeypatch.setenv("SBSR_PROFILE", "ci")
    assert get_profile(None).name == "ci"
    assert get_profile(None, epochs=3).epochs == 3
    monkeypatch.delenv("SBSR_PROFILE")
    assert get_profile(None).name == "default"
    monkeypatch.setenv("SBSR_PROFILE", "nope")
    with pytest.raises(ConfigError, match="Unknown profile 'nope'"):
        get_profile(None)


def test_a_file_given_as_a_folder_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="--data .*is a file, not a folder"):
        check_root(tmp_path / "f", "--data")
    assert check_root(tmp_path / "new") == str(tmp_path / "new")

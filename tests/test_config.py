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

"""Fixtures of the widget tests: the session's tiny ring/cross/bar bundle (see tiny_bundle.py)."""

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from tiny_bundle import TinyBundle, tiny_bundle_for_session  # noqa: E402


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> TinyBundle:
    return tiny_bundle_for_session(tmp_path_factory)

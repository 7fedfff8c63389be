"""sbsr_lab: a course and library for sketch-based 3D shape retrieval.

The package follows the data: ``data`` -> ``render`` -> ``models``/``losses`` -> ``train`` ->
``retrieval`` -> ``widgets``, with a thin CLI (``sbsr-lab``) over the same functions the notebooks call.
"""

from sbsr_lab.config import PROFILES, Profile, get_profile

__version__ = "0.1.0"
__all__ = ["PROFILES", "Profile", "get_profile", "__version__"]

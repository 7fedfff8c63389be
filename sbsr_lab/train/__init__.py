"""sbsr_lab.train"""

from sbsr_lab.train import methods  # noqa: F401,E402  registers the other approaches' stages (train/methods)

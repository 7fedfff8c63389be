"""sbsr_lab.train: the stage and method registry (:mod:`~sbsr_lab.train.stage`), the methods
(:mod:`~sbsr_lab.train.methods`, registered here), the training loop, checkpoints and run loading."""

from sbsr_lab.train.stage import discover_methods

discover_methods()

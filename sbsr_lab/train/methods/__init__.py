"""The field's other approaches as stage-registry entries, one file per method.

==================  =======  ===========  ===========================================================
stage               method   trains on    loss
==================  =======  ===========  ===========================================================
``dca-metric``      dca      both         AM-softmax + importance-aware metric loss, per modality
``dca-adapt``       dca      both         T(sketch): AM on the shape classifier + mean discrepancy +
                                          adversarial (gradient reversal against a discriminator)
``cmic``            cmic     pairs        instance + 0.2 category contrast of query-attended views
``ssl-pretrain``    ssl      shapes       SimSiam on two view subsets of each shape (no labels)
``ssl-align``       ssl      both         enhanced cross-modal triplet from the pretrained backbone
``ssltkd-teacher``  ssltkd   shapes       logit-adjusted AM-softmax from the SSL backbone
``ssltkd-student``  ssltkd   sketches     AM on the teacher's centres + feature + relational distillation
==================  =======  ===========  ===========================================================

``ssltkd-teacher`` starts ``--from`` the ``ssl-pretrain`` run (the two methods share that stage).
The loss forms and weights are ours where the papers were not reachable: docs/reproducing.md,
"The other approaches". Importing :mod:`sbsr_lab.train` registers them.
"""

# registration order = the order of the methods in tables: dca, cmic, ssl, ssltkd
from sbsr_lab.train.methods import dca  # noqa: F401  isort:skip
from sbsr_lab.train.methods import cmic  # noqa: F401  isort:skip
from sbsr_lab.train.methods import ssl, ssltkd  # noqa: F401  isort:skip

__all__ = ["dca", "cmic", "ssl", "ssltkd"]

"""The methods, one file each: its :class:`~sbsr_lab.train.stage.Method` (label, table order, settings,
report extras) and its stages. :func:`~sbsr_lab.train.stage.discover_methods` imports every module here
(importing :mod:`sbsr_lab.train` does), so a new method is one new file and nothing else.

======================  =======  ===========  ===========================================================
stage                   method   trains on    loss
======================  =======  ===========  ===========================================================
``teacher``             cfttsl   shapes       AM-softmax; its class centres become the fixed shape space
``student``             cfttsl   sketches     AM-softmax on the teacher's fixed centres + alpha * guidance
``sketch-uncertainty``  uactn    sketches     AM-softmax on z = mu + sigma*eps + uncertainty regression
``shape-transfer``      uactn    shapes       AM-softmax on the fixed sketch centres + transfer (guidance form)
``joint``               joint    both         one shared cosine classifier, AM-softmax on both modalities
``dca-metric``          dca      both         AM-softmax + importance-aware metric loss, per modality
``dca-adapt``           dca      both         T(sketch): AM on the shape classifier + mean discrepancy +
                                              adversarial (gradient reversal against a discriminator)
``cmic``                cmic     pairs        instance + 0.2 category contrast of query-attended views
``ssl-pretrain``        ssl      shapes       SimSiam on two view subsets of each shape (no labels)
``ssl-align``           ssl      both         enhanced cross-modal triplet from the pretrained backbone
``ssltkd-teacher``      ssltkd   shapes       logit-adjusted AM-softmax from the SSL backbone
``ssltkd-student``      ssltkd   sketches     AM on the teacher's centres + feature + relational distillation
======================  =======  ===========  ===========================================================

``--set variant=paper`` switches the first three methods to the authors' code where ours differs
(config.VARIANTS): the student's classifier is a new one that learns (``student_init=random``), the
shape transfer has no AM-softmax (``transfer_am=false``), the joint baseline is one network fed sketches and single views with focal AM-softmax
(``joint=shared``), the push term has the code's sign (``beta=-1``) and the heads are the authors'
BatchNorm stacks (``head=paper``). ``--from RUN`` names the run whose centres a second stage is pulled
onto (student <- teacher, shape-transfer <- sketch-uncertainty); ``ssltkd-teacher`` starts ``--from`` the
``ssl-pretrain`` run (the two methods share that stage). The later methods' loss forms and weights are
ours where the papers were not reachable: docs/reproducing.md, "The other approaches".
"""

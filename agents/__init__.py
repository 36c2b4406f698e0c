"""Agents (``splitgym.agents``): the registry of every ``--algo`` name (:mod:`.registry`, one
:class:`~splitgym.agents.trainers.base.Trainer` per kind in :mod:`.trainers`), the baseline catalogue
(:mod:`.baselines`), the policies behind one SB3-style ``predict`` (:mod:`.policies`), the model-based
agents (:mod:`.model_based`), training into run folders, resuming, loading and evaluating
(:mod:`.training`, :mod:`.runs`, :mod:`.evaluation`) and the hyperparameter files keyed by env ID
(``hyperparams/<algo>.yml``, :mod:`.hyperparams`)."""

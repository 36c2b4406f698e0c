"""One :class:`~splitgym.agents.trainers.base.Trainer` per kind of agent: stable-baselines3
(:mod:`.sb3`), the model-based agents (:mod:`.model_based`), the online bandit (:mod:`.online`) and the
catalogue's baselines (:mod:`.baseline`); :mod:`splitgym.agents.registry` names them."""

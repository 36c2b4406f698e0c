"""Policies behind the one SB3-style ``predict`` interface (:mod:`.base`): the paper environments'
(:mod:`.paper`), the split environments' (:mod:`.split`), the compression environment's fixed actions
(:mod:`.compressed`), Neurosurgeon (:mod:`.neurosurgeon`) and the LinUCB bandit (:mod:`.linucb`)."""

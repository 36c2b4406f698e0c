"""Environments (``splitgym.envs``): Chen et al.'s two paper environments (:mod:`.paper`); the fading
split-inference environments (:mod:`.fading`, v0) and their compression variant (:mod:`.compressed`); the
channel library (:mod:`.channels`: path loss, shadowing, fading, BER, and the NR link layer in
:mod:`.channels.nr`) and the state components that actions change (:mod:`.state`: queue, heat,
battery, radio, KV cache). Every environment is configured by a validated dataclass whose defaults cite
their source, and is registered by :mod:`splitgym.registration` with its family."""

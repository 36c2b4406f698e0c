"""State that the agent's actions change, as small vectorised components (issue 13).

Each component holds its state as arrays of shape ``(n,)``, so one instance serves a single environment
(``n = 1``) or a batched vector environment; randomness comes only from a ``numpy.random.Generator``
passed to ``reset``. Common shape of the interface:

* ``reset(rng, mask=None, **initial)``: (re)start the envs selected by the boolean ``mask``;
* ``advance(...)``: move the selected envs on by one step (a time ``dt_s``, a served request, a turn);
* ``observe() -> float32 (n, n_features)``: normalised features, each in ``[0, 1]``.

Components (each module's docstring states its formulas, units and sources):

* :mod:`.queue`: request arrivals (Poisson, periodic, trace) and a FIFO single-server backlog;
* :mod:`.thermal`: two-node (die, skin) RC model with a throttling clock scale;
* :mod:`.battery`: state of charge from the energy drawn;
* :mod:`.radio`: RRC connected / inactive / idle with C-DRX, promotion and tail energy, TR 38.840 powers;
* :mod:`.kv`: multi-turn context and KV-cache placement, migrate-or-recompute costs, memory mask.
"""

from splitgym.envs.state.battery import Battery, BatteryParams, BatteryStep
from splitgym.envs.state.kv import KVCache, KVParams, SplitMove
from splitgym.envs.state.queue import ArrivalParams, QueueStep, RequestQueue, load_trace
from splitgym.envs.state.radio import (
    RRC_CONNECTED,
    RRC_IDLE,
    RRC_INACTIVE,
    Radio,
    RadioParams,
    RadioWake,
    active_energy_j,
    background_energy_j,
    promotion_after_gap,
    rrc_state_after_gap,
    tail_energy_j,
)
from splitgym.envs.state.thermal import (
    ThermalModel,
    ThermalParams,
    ThermalState,
    steady_state_c,
    sustained_clock_scale,
    time_to_throttle_s,
)

__all__ = [
    "RRC_CONNECTED",
    "RRC_IDLE",
    "RRC_INACTIVE",
    "ArrivalParams",
    "Battery",
    "BatteryParams",
    "BatteryStep",
    "KVCache",
    "KVParams",
    "QueueStep",
    "Radio",
    "RadioParams",
    "RadioWake",
    "RequestQueue",
    "SplitMove",
    "ThermalModel",
    "ThermalParams",
    "ThermalState",
    "active_energy_j",
    "background_energy_j",
    "load_trace",
    "promotion_after_gap",
    "rrc_state_after_gap",
    "steady_state_c",
    "sustained_clock_scale",
    "tail_energy_j",
    "time_to_throttle_s",
]

"""Many users, one cell, one edge server: the shared-cell environments.

``parallel_env(...)`` is the PettingZoo ``ParallelEnv`` (one agent per device, :mod:`.parallel`);
``splitgym/SharedCell-v1`` the single-agent Gymnasium view (:mod:`.single`). The cell's physics:
:mod:`.cell` (shared uplink and edge), :mod:`.scheduler` (OFDMA round robin, proportional fair),
:mod:`.server` (continuous batching, fitted to published GPU profiles), :mod:`.config`.
"""

from splitgym.envs.multi.config import CellConfig, cell_config
from splitgym.envs.multi.parallel import SharedCellParallelEnv, parallel_env

__all__ = ["CellConfig", "SharedCellParallelEnv", "cell_config", "parallel_env"]

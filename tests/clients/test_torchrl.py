"""TorchRL on splitgym: ``GymEnv`` by ID, ``GymWrapper`` on the natively batched vector env and on
``SyncVectorEnv`` s, and PettingZoo-style dict masks (``observation_mode="dict"``) through TorchRL's
``ActionMask`` transform.

Runs in ``.venv-torchrl`` (``make clients``); skipped where torchrl is not installed. What these rely on:
``GymEnv`` probes ``gym.make(ID, frameskip=1)`` and drops the keyword on Python's "unexpected keyword
argument" wording, which splitgym's ``UnknownParameterError`` (a ``TypeError``) carries; TorchRL takes
vector envs in ``SAME_STEP`` or ``DISABLED`` autoreset (the native env takes both) and wants every info key
in every step, so splitgym keeps constants out of ``info`` (attributes instead).
"""

from __future__ import annotations

import gymnasium as gym
import pytest
from gymnasium.vector import AutoresetMode

import splitgym  # noqa: F401  (registers the IDs)
from splitgym.envs.split.vector import FadingSplitV1VectorEnv

torchrl = pytest.importorskip("torchrl")
torch = pytest.importorskip("torch")

from torchrl.envs import GymEnv, GymWrapper, TransformedEnv, check_env_specs  # noqa: E402
from torchrl.envs.transforms import ActionMask  # noqa: E402

ID = "splitgym/FadingSplit-v1"
KWARGS = {"max_steps": 16, "pool_size": 4}
N_ACTIONS = 25  # splits 0..24 of the default model
OBS_DIM = 19


def _check_rollout(td: object, batch: tuple[int, ...], steps: int) -> None:
    assert td.batch_size == torch.Size((*batch, steps))  # type: ignore[attr-defined]
    assert td["next", "observation"].shape == (*batch, steps, OBS_DIM)  # type: ignore[index]
    assert td["next", "reward"].shape == (*batch, steps, 1)  # type: ignore[index]
    obs = td["next", "observation"]  # type: ignore[index]
    assert bool(((obs >= 0) & (obs <= 1)).all())  # Box(0, 1)
    assert bool(torch.isfinite(td["next", "reward"]).all())  # type: ignore[index]


def test_gymenv_by_id_reset_rollout_and_specs() -> None:
    env = GymEnv(ID, **KWARGS)
    check_env_specs(env)
    td = env.reset()
    assert td["observation"].shape == (OBS_DIM,)
    _check_rollout(env.rollout(20, break_when_any_done=False), (), 20)  # an episode ends at step 16
    env.close()


def test_gymwrapper_of_gym_make_by_id_reset_rollout_and_specs() -> None:
    env = GymWrapper(gym.make(ID, **KWARGS))
    check_env_specs(env)
    env.set_seed(0)
    td = env.reset()
    assert td["observation"].shape == (OBS_DIM,)
    rollout = env.rollout(20, break_when_any_done=False)
    _check_rollout(rollout, (), 20)
    assert rollout["action"].shape == (20, N_ACTIONS)  # one-hot by default
    assert bool(rollout["next", "truncated"][15].all())  # max_steps=16: the episode is cut at step 16
    env.close()


def _check_vector_rollout(env: GymWrapper, steps: int = 40) -> None:
    assert env.batch_size == torch.Size([4])
    check_env_specs(env)  # a short rollout: no episode ends
    env.set_seed(0)
    rollout = env.rollout(steps, break_when_any_done=False)
    _check_rollout(rollout, (4,), steps)
    assert rollout["action"].shape == (4, steps, N_ACTIONS)  # type: ignore[index]
    done = rollout["next", "done"][..., 0]  # type: ignore[index]
    assert done.nonzero()[:, 1].unique().tolist() == [15, 31]  # 16-request episodes, reset and run again
    assert bool((rollout["observation"][:, 16, -1] == 0).all())  # type: ignore[index]  # no previous split
    env.close()


@pytest.mark.parametrize("mode", [AutoresetMode.DISABLED, AutoresetMode.SAME_STEP], ids=lambda m: m.name)
def test_gymwrapper_on_the_native_vector_env(mode: AutoresetMode) -> None:
    venv = gym.make_vec(
        ID, num_envs=4, vectorization_mode="vector_entry_point", autoreset_mode=mode, **KWARGS
    )
    assert isinstance(venv.unwrapped, FadingSplitV1VectorEnv)
    _check_vector_rollout(GymWrapper(venv))


@pytest.mark.parametrize("mode", [AutoresetMode.DISABLED, AutoresetMode.SAME_STEP], ids=lambda m: m.name)
def test_gymwrapper_on_a_sync_vector_env(mode: AutoresetMode) -> None:
    """Over single splitgym envs; ``DISABLED`` is the mode TorchRL prefers (it resets the ended envs
    with ``reset(options={"reset_mask": ...})``)."""
    venv = gym.make_vec(
        ID, num_envs=4, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **KWARGS
    )
    _check_vector_rollout(GymWrapper(venv))


def test_dict_observation_masks_drive_torchrl_action_mask() -> None:
    """PettingZoo-style ``{"observation", "action_mask"}``: TorchRL's ``ActionMask`` reads the mask from
    the observation and random actions stay feasible (the env reports no invalid action)."""
    recorder = _InfoRecorder(gym.make(ID, observation_mode="dict", **KWARGS))
    base = GymWrapper(recorder, categorical_action_encoding=True)
    assert set(base.observation_spec.keys()) == {"observation", "action_mask"}
    assert base.observation_spec["action_mask"].shape == (N_ACTIONS,)
    env = TransformedEnv(base, ActionMask())
    check_env_specs(env)
    env.set_seed(0)
    recorder.infos.clear()
    rollout = env.rollout(48, break_when_any_done=False)
    _check_rollout(rollout, (), 48)
    mask = rollout["action_mask"].bool()  # the mask of the request each action answers
    action = rollout["action"]
    assert mask.shape == (48, N_ACTIONS) and action.shape == (48,)
    assert not bool(mask.all())  # some splits are masked out (min_split, memory), so the check bites
    assert bool(mask.gather(-1, action.unsqueeze(-1)).all())  # only masked-in actions were sampled
    assert len(recorder.infos) == 48
    assert not any(info["invalid"] for info in recorder.infos)  # the env saw no infeasible action ...
    assert [info["split"] for info in recorder.infos] == action.tolist()  # ... and ran each as given
    env.close()


class _InfoRecorder(gym.Wrapper):  # type: ignore[type-arg]
    """Keeps every step's info (TorchRL's info reader takes numpy values only; splitgym's are Python's)."""

    def __init__(self, env: gym.Env) -> None:  # type: ignore[type-arg]
        super().__init__(env)
        self.infos: list[dict[str, object]] = []

    def step(self, action: object) -> tuple[object, ...]:
        out = self.env.step(action)
        self.infos.append(out[-1])
        return out

"""Benchmark suites: which agents run on which environments with which seeds, as a YAML file.

A suite file (shipped ones in ``benchmarks/suites/``; ``splitgym benchmark suites`` lists them)::

    name: quick                      # folder name of the results: <out>/<name>/
    description: one line            # optional
    envs:
      - id: splitgym/FadingSplit-v1
        kwargs: {max_steps: 100}     # optional gym.make overrides
        name: Fading                 # optional label (default: the ID without "splitgym/"); unique
    agents:
      - algo: ppo                    # trained into a run folder: an SB3 algo, paper_mb, active_mb, linucb
        name: ppo                    # optional label (default: the algo or baseline name); unique
        n_timesteps: 30000           # optional (default: hyperparams/<algo>.yml)
        hyperparams: {n_envs: 4}     # optional overrides of hyperparams/<algo>.yml
        envs: [Fading]               # optional: the env labels (or IDs) it runs on (default: all)
      - baseline: oracle             # a classic policy (see BASELINES), evaluated only
        seeds: 1                     # optional: its own seeds (a deterministic baseline gives the same
                                     # returns on the common evaluation episodes whatever the seed)
    seeds: [0, 1]                    # a list of seeds, or a count N meaning 0..N-1
    eval_episodes: 20                # final evaluation: episode i is reset with seed 1_000_000 + i
    trace_episodes: 3                # optional: episodes whose per-step (channel, split) are recorded
    curve_evaluations: 10            # optional: learning-curve points during training
    curve_episodes: 5                # optional: episodes per learning-curve point
    normalize: {low: random, high: oracle}   # optional: the agents scoring 0 and 1

Loading checks everything before any work starts: unknown keys (with a "did you mean" hint), env IDs and
their kwargs (each environment is built once), algorithms, baselines that the environment does not offer,
hyperparameter names, and masked algorithms on environments without action masks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from splitgym.agents.baselines import BASELINES, baselines_for
from splitgym.errors import ConfigError, SplitGymError, suggest
from splitgym.yamlfile import load_yaml

__all__ = [
    "BASELINES",
    "EVAL_SEED",
    "AgentSpec",
    "EnvSpec",
    "Suite",
    "baselines_for",
    "load_suite",
    "parse_suite",
    "shipped_suites",
    "suite_listing",
]

EVAL_SEED = 1_000_000  # evaluation episode i is reset with seed EVAL_SEED + i (common random numbers)


TOP_KEYS = (
    "name",
    "description",
    "envs",
    "agents",
    "seeds",
    "eval_episodes",
    "trace_episodes",
    "curve_evaluations",
    "curve_episodes",
    "normalize",
)
REQUIRED_TOP = ("name", "envs", "agents", "seeds", "eval_episodes")
ENV_KEYS = ("id", "kwargs", "name")
AGENT_KEYS = ("name", "algo", "baseline", "hyperparams", "n_timesteps", "envs", "seeds")
NORMALIZE_KEYS = ("low", "high")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class EnvSpec:
    """One environment of a suite: its ID, ``gym.make`` overrides and a unique label."""

    id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    family: str = "other"  # paper | split | compressed | other (which baselines it offers)


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a suite: a trained algorithm (``algo``) or a classic policy (``baseline``)."""

    name: str
    algo: str | None = None
    baseline: str | None = None
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    n_timesteps: int | None = None
    envs: tuple[str, ...] | None = None  # env labels it runs on (None: every env)
    seeds: tuple[int, ...] | None = None  # its own seeds (None: the suite's)

    @property
    def kind(self) -> str:
        """``"algo"`` (trained) or ``"baseline"``."""
        return "algo" if self.algo is not None else "baseline"

    @property
    def method(self) -> str:
        """The algorithm or baseline name."""
        return str(self.algo if self.algo is not None else self.baseline)

    def runs_on(self, env: EnvSpec) -> bool:
        return self.envs is None or env.name in self.envs


@dataclass(frozen=True)
class Suite:
    """A validated benchmark suite (see the module docstring for the file format)."""

    name: str
    envs: tuple[EnvSpec, ...]
    agents: tuple[AgentSpec, ...]
    seeds: tuple[int, ...]
    eval_episodes: int
    description: str = ""
    trace_episodes: int = 3
    curve_evaluations: int = 10
    curve_episodes: int = 5
    normalize: tuple[str, str] = ("random", "oracle")
    source: str = ""  # where it was read from

    def agents_for(self, env: EnvSpec) -> tuple[AgentSpec, ...]:
        """The agents that run on ``env``, in suite order."""
        return tuple(a for a in self.agents if a.runs_on(env))


# -- finding suite files ---------------------------------------------------------------------------


def _shipped_dirs() -> list[Path]:
    dirs = []
    with contextlib.suppress(ModuleNotFoundError, TypeError):  # the package is always importable
        dirs.append(Path(str(resources.files("splitgym.benchmarks") / "suites")))
    # The strict editable install links only the package data listed in pyproject.toml: fall back on the
    # folder beside this module's source.
    dirs.append(Path(__file__).resolve().parent / "suites")
    return dirs


def shipped_suites() -> dict[str, Path]:
    """The shipped suites by name (``quick``, ``paper``, ...), each with its YAML path."""
    found: dict[str, Path] = {}
    for folder in _shipped_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.yml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    text = str(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_suites()
    if isinstance(name_or_path, str) and text in shipped:
        return shipped[text]
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yml", ".yaml")):
        raise ConfigError(f"suite file {text!r} does not exist; shipped suites: {list(shipped)}")
    raise ConfigError(
        f"unknown suite {text!r}{suggest(text, shipped)}; shipped suites: {list(shipped)} "
        "(or pass the path of a suite YAML file)"
    )


def load_suite(name_or_path: str | Path, check_envs: bool = True) -> Suite:
    """Read and validate a shipped suite (by name) or a suite YAML file (by path).

    ``check_envs`` builds every environment once to check its kwargs and which baselines and algorithms
    it supports (a fraction of a second each); leave it on unless the environments are known to be good.
    """
    path = _resolve(name_or_path)
    data = load_yaml(path, f"suite file {path}")
    return parse_suite(data, source=str(path), check_envs=check_envs)


# -- validation -------------------------------------------------------------------------------------


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in data:
        if not isinstance(key, str) or key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r}{suggest(str(key), allowed)}; allowed keys: {list(allowed)}"
            )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where} must be a mapping of names to values, got {value!r}")
    return dict(value)


def _positive_int(value: Any, where: str, zero: bool = False) -> int:
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{where} must be an integer >= {low}, got {value!r}")
    return value


def _label(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(
            f"{where} must be a name of letters, digits and '_.+-' (it names files), got {value!r}"
        )
    return value


def _parse_env(item: Any, i: int, suite: str, check: bool) -> EnvSpec:
    where = f"suite {suite!r}: envs[{i}]"
    if isinstance(item, str):
        item = {"id": item}
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be an env ID or a mapping with 'id' (and 'kwargs'), got {item!r}")
    _check_keys(item, ENV_KEYS, where)
    env_id = item.get("id")
    if not isinstance(env_id, str) or not env_id:
        import splitgym

        raise ConfigError(f"{where} needs 'id', an environment ID; splitgym's: {splitgym.env_ids()}")
    kwargs = _mapping(item.get("kwargs"), f"{where} ({env_id}) kwargs")
    from splitgym.agents.runs import env_folder_name

    name = _label(item.get("name", env_folder_name(env_id)), f"{where} name")
    from splitgym.agents.envs import check_env_id, make_env
    from splitgym.registration import env_family

    try:
        check_env_id(env_id)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    family = env_family(env_id)
    if check:
        try:
            env = make_env(env_id, kwargs)
        except SplitGymError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where} ({env_id}): kwargs {kwargs} rejected: {exc}") from None
        env.close()
    return EnvSpec(id=env_id, kwargs=kwargs, name=name, family=family)


def _parse_agent(item: Any, i: int, suite: str) -> AgentSpec:
    from splitgym.agents.registry import algo_names

    ALGOS = algo_names(trained=True)

    where = f"suite {suite!r}: agents[{i}]"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be a mapping with 'algo' or 'baseline', got {item!r}")
    _check_keys(item, AGENT_KEYS, where)
    algo, baseline = item.get("algo"), item.get("baseline")
    if (algo is None) == (baseline is None):
        raise ConfigError(
            f"{where} needs exactly one of 'algo' (one of {list(ALGOS)}) or 'baseline' "
            f"(one of {list(BASELINES)})"
        )
    if algo is not None and algo not in ALGOS:
        raise ConfigError(
            f"{where}: unknown algo {algo!r}{suggest(str(algo), ALGOS)}; allowed: {list(ALGOS)}"
        )
    if baseline is not None and baseline not in BASELINES:
        raise ConfigError(
            f"{where}: unknown baseline {baseline!r}{suggest(str(baseline), BASELINES)}; "
            f"allowed: {list(BASELINES)}"
        )
    name = _label(item.get("name", algo if algo is not None else baseline), f"{where} name")
    hyperparams = _mapping(item.get("hyperparams"), f"{where} ({name}) hyperparams")
    n_timesteps = item.get("n_timesteps")
    if baseline is not None and (hyperparams or n_timesteps is not None):
        raise ConfigError(f"{where}: baseline {baseline!r} is not trained; remove hyperparams/n_timesteps")
    if n_timesteps is not None:
        n_timesteps = _positive_int(n_timesteps, f"{where} ({name}) n_timesteps")
    envs = item.get("envs")
    if envs is not None:
        if isinstance(envs, str):
            envs = [envs]
        if not isinstance(envs, list) or not envs or not all(isinstance(e, str) for e in envs):
            raise ConfigError(f"{where} ({name}) envs must be a list of env names or IDs, got {envs!r}")
        envs = tuple(envs)
    seeds = None if item.get("seeds") is None else _parse_seeds(item["seeds"], f"{suite}: agents[{i}]")
    return AgentSpec(
        name=name,
        algo=algo,
        baseline=baseline,
        hyperparams=hyperparams,
        n_timesteps=n_timesteps,
        envs=envs,
        seeds=seeds,
    )


def _parse_seeds(value: Any, suite: str) -> tuple[int, ...]:
    where = f"suite {suite!r}: seeds"
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(_positive_int(value, where)))
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list of seeds or a count, got {value!r}")
    seeds = tuple(_positive_int(s, f"{where} entry", zero=True) for s in value)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where} has duplicates: {list(seeds)}")
    return seeds


def _check_agent_env(agent: AgentSpec, env: EnvSpec, suite: str) -> None:
    """Everything about running ``agent`` on ``env`` that can be checked before running it."""
    where = f"suite {suite!r}: agent {agent.name!r} on {env.name} ({env.id})"
    if agent.baseline is not None:
        offered = baselines_for(env.family)
        if agent.baseline not in offered:
            raise ConfigError(
                f"{where}: baseline {agent.baseline!r} is not offered by this environment; "
                f"its baselines: {list(offered)} (restrict the agent with 'envs: [...]')"
            )
        return
    from splitgym.agents.training import check_request

    assert agent.algo is not None
    try:
        check_request(agent.algo, env.id, agent.n_timesteps, env.kwargs, agent.hyperparams)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_suite(data: Any, source: str = "<dict>", check_envs: bool = True) -> Suite:
    """Validate a suite given as a mapping (the parsed YAML); see :func:`load_suite`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"suite {source} must be a mapping with keys {list(REQUIRED_TOP)}, got {data!r}")
    _check_keys(data, TOP_KEYS, f"suite {source}")
    missing = [k for k in REQUIRED_TOP if k not in data]
    if missing:
        raise ConfigError(f"suite {source} lacks {missing}; required keys: {list(REQUIRED_TOP)}")
    name = _label(data["name"], f"suite {source}: name")
    if not isinstance(data["envs"], list) or not data["envs"]:
        raise ConfigError(f"suite {name!r}: envs must be a non-empty list, got {data['envs']!r}")
    if not isinstance(data["agents"], list) or not data["agents"]:
        raise ConfigError(f"suite {name!r}: agents must be a non-empty list, got {data['agents']!r}")
    envs = tuple(_parse_env(item, i, name, check_envs) for i, item in enumerate(data["envs"]))
    agents = tuple(_parse_agent(item, i, name) for i, item in enumerate(data["agents"]))
    for what, labels in (("envs", [e.name for e in envs]), ("agents", [a.name for a in agents])):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ConfigError(f"suite {name!r}: {what} share the name(s) {dup}; give each a unique 'name'")
    env_names = [e.name for e in envs]
    by_id = {e.id: e.name for e in envs}
    resolved = []
    for agent in agents:
        if agent.envs is not None:
            labels = []
            for e in agent.envs:
                label = e if e in env_names else by_id.get(e)
                if label is None:
                    raise ConfigError(
                        f"suite {name!r}: agent {agent.name!r} names env {e!r}{suggest(e, env_names)}, "
                        f"not in the suite; its envs: {env_names}"
                    )
                labels.append(label)
            agent = dataclasses.replace(agent, envs=tuple(labels))
        resolved.append(agent)
    agents = tuple(resolved)
    if check_envs:
        for env in envs:
            for agent in agents:
                if agent.runs_on(env):
                    _check_agent_env(agent, env, name)
    normalize = _mapping(data.get("normalize"), f"suite {name!r}: normalize")
    _check_keys(normalize, NORMALIZE_KEYS, f"suite {name!r}: normalize")
    low, high = str(normalize.get("low", "random")), str(normalize.get("high", "oracle"))
    if "normalize" in data:
        agent_names = [a.name for a in agents]
        for ref in (low, high):
            if ref not in agent_names:
                raise ConfigError(
                    f"suite {name!r}: normalize names agent {ref!r}{suggest(ref, agent_names)}, "
                    f"not in the suite; its agents: {agent_names}"
                )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"suite {name!r}: description must be a string, got {description!r}")
    return Suite(
        name=name,
        envs=envs,
        agents=agents,
        seeds=_parse_seeds(data["seeds"], name),
        eval_episodes=_positive_int(data["eval_episodes"], f"suite {name!r}: eval_episodes"),
        description=description.strip(),
        trace_episodes=_positive_int(data.get("trace_episodes", 3), f"suite {name!r}: trace_episodes", True),
        curve_evaluations=_positive_int(
            data.get("curve_evaluations", 10), f"suite {name!r}: curve_evaluations"
        ),
        curve_episodes=_positive_int(data.get("curve_episodes", 5), f"suite {name!r}: curve_episodes"),
        normalize=(low, high),
        source=source,
    )


def suite_listing() -> str:
    """One line per shipped suite: name, number of cells, description."""
    from splitgym.benchmarks.runner import expand

    lines = []
    for name, path in shipped_suites().items():
        suite = load_suite(path, check_envs=False)
        lines.append(f"{name:<12} {len(expand(suite)):>4} cells  {suite.description or path}")
    return "\n".join(lines)

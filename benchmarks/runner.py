"""Run a benchmark suite: every (environment, agent, seed) cell, in parallel, resumable.

Layout of the results of suite ``NAME`` under ``out_dir``::

    NAME/suite.yml                  the suite as validated (provenance)
    NAME/cells/<cell_id>.json       one finished cell (written atomically when the cell is done)
    NAME/cells/<cell_id>.error.txt  the traceback of a cell that failed (removed once it succeeds)
    NAME/runs/<cell_id>/<algo>/<Env>_1/   the run folder of a trained agent (splitgym.agents.runs)

A cell is finished when its JSON file exists and records the same specification hash (environment,
kwargs, agent, hyperparameters, seed, evaluation settings): running a suite again skips finished cells and
redoes cells whose specification changed, so an interrupted run loses nothing that had finished.

:func:`run_cell` is the one function that computes a cell, whatever runs it: the calling process
(``workers=1``), a pool of local processes (``backend="local"``, spawned, one torch thread each) or Ray
tasks (``backend="ray"``). The results travel back to the calling process, which writes the cell files, so
a Ray cluster needs no shared file system for the results (run folders stay on the node that trained).
Every cell sets torch to one thread and seeds everything from the suite's seed, so the backends give the
same numbers.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shutil
import socket
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import yaml

from splitgym.atomic import write_text_atomic
from splitgym.benchmarks import reaper
from splitgym.benchmarks.suite import EVAL_SEED, AgentSpec, EnvSpec, Suite, load_suite
from splitgym.errors import ConfigError, SplitGymError

__all__ = [
    "BACKENDS",
    "Cell",
    "CellsFailedError",
    "RunSummary",
    "expand",
    "read_cell",
    "run_cell",
    "run_suite",
    "suite_dict",
]

BACKENDS = ("local", "ray")


class CellsFailedError(SplitGymError):
    """Some cells of a suite raised an error; the finished ones are saved (run again to retry)."""


@dataclass(frozen=True)
class Cell:
    """One unit of work: an agent on an environment with a seed, and the suite's evaluation settings."""

    suite: str
    env: EnvSpec
    agent: AgentSpec
    seed: int
    eval_episodes: int
    trace_episodes: int = 3
    curve_evaluations: int = 10
    curve_episodes: int = 5

    @property
    def cell_id(self) -> str:
        """``<env>__<agent>__s<seed>``: the cell's file name (env and agent names are file-safe)."""
        return f"{self.env.name}__{self.agent.name}__s{self.seed}"

    def spec(self) -> dict[str, Any]:
        """Everything the cell's result depends on (JSON-serialisable)."""
        return {
            "env_id": self.env.id,
            "env_kwargs": dict(self.env.kwargs),
            "agent": {
                "algo": self.agent.algo,
                "baseline": self.agent.baseline,
                "hyperparams": dict(self.agent.hyperparams),
                "n_timesteps": self.agent.n_timesteps,
            },
            "seed": self.seed,
            "eval_episodes": self.eval_episodes,
            "eval_seed": EVAL_SEED,
            "trace_episodes": self.trace_episodes,
            "curve_evaluations": self.curve_evaluations,
            "curve_episodes": self.curve_episodes,
        }

    def spec_hash(self) -> str:
        text = json.dumps(self.spec(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_suite` did."""

    suite: str
    folder: Path
    cells: int
    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    stale: tuple[str, ...] = field(default=())  # finished before, but with another specification: redone
    seconds: float = 0.0


def expand(suite: Suite) -> list[Cell]:
    """The suite's cells: for each environment, each agent that runs on it, each seed."""
    return [
        Cell(
            suite=suite.name,
            env=env,
            agent=agent,
            seed=seed,
            eval_episodes=suite.eval_episodes,
            trace_episodes=suite.trace_episodes,
            curve_evaluations=suite.curve_evaluations,
            curve_episodes=suite.curve_episodes,
        )
        for env in suite.envs
        for agent in suite.agents_for(env)
        for seed in (agent.seeds if agent.seeds is not None else suite.seeds)
    ]


def suite_dict(suite: Suite) -> dict[str, Any]:
    """The suite as a plain mapping (the YAML format of :mod:`splitgym.benchmarks.suite`)."""
    agents = []
    for a in suite.agents:
        entry: dict[str, Any] = {"name": a.name}
        entry["algo" if a.algo is not None else "baseline"] = a.method
        if a.hyperparams:
            entry["hyperparams"] = dict(a.hyperparams)
        if a.n_timesteps is not None:
            entry["n_timesteps"] = a.n_timesteps
        if a.envs is not None:
            entry["envs"] = list(a.envs)
        if a.seeds is not None:
            entry["seeds"] = list(a.seeds)
        agents.append(entry)
    return {
        "name": suite.name,
        "description": suite.description,
        "envs": [{"id": e.id, "kwargs": dict(e.kwargs), "name": e.name} for e in suite.envs],
        "agents": agents,
        "seeds": list(suite.seeds),
        "eval_episodes": suite.eval_episodes,
        "trace_episodes": suite.trace_episodes,
        "curve_evaluations": suite.curve_evaluations,
        "curve_episodes": suite.curve_episodes,
        "normalize": {"low": suite.normalize[0], "high": suite.normalize[1]},
    }


# -- computing one cell ------------------------------------------------------------------------------


class _Trace(gym.Wrapper[Any, Any, Any, Any]):
    """Records ``(channel level, split)`` per step during the first ``episodes`` episodes.

    The level is the one the agent decided under: the request's SNR (``snr_db``, the fading and
    compression environments) or, for the paper environments, the impairment before the move.
    """

    def __init__(self, env: gym.Env[Any, Any], episodes: int) -> None:
        super().__init__(env)
        self.episodes = episodes
        self.episode = -1
        self.level_name: str | None = None
        self.levels: list[float] = []
        self.splits: list[float] = []
        self._before: float | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.episode += 1
        obs, info = self.env.reset(**kwargs)
        self._before = _number(info.get("impairment"))
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        split = _number(info.get("split"))
        if "snr_db" in info:
            name, level = "snr_db", _number(info["snr_db"])
        else:
            name, level = "impairment", self._before
            self._before = _number(info.get("impairment"))
        if self.episode < self.episodes and split is not None and level is not None:
            self.level_name = name
            self.levels.append(level)
            self.splits.append(split)
        return obs, reward, terminated, truncated, info


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    return None


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become ``None``, numpy scalars Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def _baseline(name: str, env: gym.Env[Any, Any], cell: Cell) -> tuple[Any, gym.Env[Any, Any]]:
    """The baseline policy ``name`` and the environment to evaluate it on."""
    from splitgym.agents.baselines import make_baseline

    policy, eval_env, _ = make_baseline(name, env, cell.env.family, cell.seed, cell.env.id, cell.env.kwargs)
    return policy, eval_env


def _learning_curve(run: Path) -> dict[str, list[Any]] | None:
    path = run / "evaluations.npz"
    if not path.is_file():
        return None
    with np.load(path) as data:
        results = np.asarray(data["results"], dtype=np.float64).reshape(len(data["timesteps"]), -1)
        return {
            "timesteps": [int(t) for t in data["timesteps"]],
            "mean": results.mean(axis=1).tolist(),
            "std": results.std(axis=1).tolist(),
        }


@contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_cell(cell: Cell, runs_root: str | Path) -> dict[str, Any]:
    """Compute one cell and return its record (the content of its JSON file); writes only the run
    folder of a trained agent, under ``runs_root/<cell_id>/`` (emptied first: a retry starts clean)."""
    import splitgym  # noqa: F401  (registers the environments in a fresh worker)

    with _one_thread():
        return _run_cell(cell, Path(runs_root))


def _run_cell(cell: Cell, runs_root: Path) -> dict[str, Any]:
    from splitgym.agents.envs import make_env
    from splitgym.agents.evaluation import evaluate
    from splitgym.agents.training import load_policy, real_evaluations_of, train, training_record

    start = time.perf_counter()
    env = make_env(cell.env.id, cell.env.kwargs)
    agent = cell.agent
    record: dict[str, Any] = {
        "cell_id": cell.cell_id,
        "suite": cell.suite,
        "spec_hash": cell.spec_hash(),
        "env": cell.env.name,
        "env_id": cell.env.id,
        "env_kwargs": dict(cell.env.kwargs),
        "agent": agent.name,
        "kind": agent.kind,
        "method": agent.method,
        "seed": cell.seed,
        "eval_seed": EVAL_SEED,
        "timesteps": 0,
        "train_s": 0.0,
        "run": None,
        "learning_curve": None,
    }
    if agent.algo is not None:
        root = runs_root / cell.cell_id
        if root.exists():
            shutil.rmtree(root)  # what an interrupted attempt left
        result = train(
            cell.env.id,
            agent.algo,
            n_timesteps=agent.n_timesteps,
            seed=cell.seed,
            env_kwargs=cell.env.kwargs,
            hyperparams=agent.hyperparams,
            root=root,
            progress=False,
            eval_episodes=cell.curve_episodes,
            n_evaluations=cell.curve_evaluations,
            command=["splitgym", "benchmark", "run", cell.suite],
            args={"suite": cell.suite, "cell": cell.cell_id, **cell.spec()},
        )
        policy, _, eval_env = load_policy(result.run, env)
        record.update(
            timesteps=result.timesteps,
            train_s=result.seconds,
            run=str(result.run),
            learning_curve=_learning_curve(result.run),
        )
    else:
        assert agent.baseline is not None
        policy, eval_env = _baseline(agent.baseline, env, cell)
    traced = _Trace(eval_env, cell.trace_episodes)
    frame = evaluate(policy, traced, cell.eval_episodes, seed=EVAL_SEED)
    if "load" not in frame and "load_saving" in frame:
        frame["load"] = 1.0 - frame["load_saving"]  # the paper envs: the device's share of the layers
    record["episodes"] = {str(c): frame[c].tolist() for c in frame.columns}
    record["summary"] = {
        "return": float(frame["return"].mean()),
        **{
            k: float(frame[k].mean()) for k in ("quality", "quality_score", "load", "latency_s") if k in frame
        },
    }
    record["trace"] = {"level": traced.level_name, "x": traced.levels, "split": traced.splits}
    # Real evaluations of the quality model: those the training spent plus those the evaluation made.
    trained = (
        int(training_record(Path(record["run"])).get("real_evaluations", 0) or 0) if record["run"] else 0
    )
    record["real_evaluations_training"] = trained
    record["real_evaluations"] = trained + real_evaluations_of(eval_env)
    for e in {id(env): env, id(eval_env): eval_env}.values():
        e.close()
    record["wall_time_s"] = time.perf_counter() - start
    record["host"] = platform.node()
    record["finished_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return _clean(record)  # type: ignore[no-any-return]


# -- cell files ------------------------------------------------------------------------------------


def _cell_path(cells_dir: Path, cell: Cell) -> Path:
    return cells_dir / f"{cell.cell_id}.json"


def read_cell(path: Path) -> dict[str, Any] | None:
    """A cell file's record, or ``None`` when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _finished(cells_dir: Path, cell: Cell) -> str:
    """``"done"``, ``"stale"`` (another specification) or ``"todo"``."""
    path = _cell_path(cells_dir, cell)
    if not path.is_file():
        return "todo"
    data = read_cell(path)
    if data is None:
        return "todo"
    return "done" if data.get("spec_hash") == cell.spec_hash() else "stale"


# -- backends ----------------------------------------------------------------------------------------

Done = Callable[[Cell, dict[str, Any]], None]
Failed = Callable[[Cell, BaseException], None]


def _init_worker(parent: int | None = None) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if parent is not None:
        _die_with(parent)
    import torch

    import splitgym  # noqa: F401

    torch.set_num_threads(1)


def _die_with(parent: int) -> None:
    """End this worker when ``parent`` (the ``benchmark run`` process) dies, even by ``kill -9``: Linux's
    ``PR_SET_PDEATHSIG`` where available, and everywhere a thread that polls the parent's pid once a
    second (an orphan is adopted by another process)."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="splitgym-parent-watch", daemon=True).start()


class _Terminated(KeyboardInterrupt):
    """SIGTERM received: handled as an interruption (the workers are stopped)."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """In the main thread: SIGTERM raises :class:`_Terminated` (a KeyboardInterrupt) while a suite runs,
    so the workers are ended as on Ctrl-C instead of being orphaned."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_local(todo: Sequence[Cell], runs_root: Path, workers: int, done: Done, failed: Failed) -> None:
    if workers == 1 or len(todo) == 1:
        for cell in todo:
            try:
                record = run_cell(cell, runs_root)
            except Exception as exc:  # a failed cell does not stop the others
                failed(cell, exc)
            else:
                done(cell, record)
        return
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(todo)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(run_cell, cell, str(runs_root)): cell for cell in todo}
        for future in as_completed(futures):
            cell = futures[future]
            error = future.exception()
            if error is not None:
                failed(cell, error)
            else:
                done(cell, future.result())
    except BaseException:  # interrupted: stop the workers now (finished cells are already written)
        processes = list((pool._processes or {}).values())
        for process in processes:
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        raise
    pool.shutdown()


def _check_reachable(address: str) -> None:
    """Fail fast (a ConfigError naming ``address``) when nothing listens there: ``ray.init`` would wait
    for minutes."""
    hostport = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"Ray address {address!r} must look like HOST:PORT or ray://HOST:PORT (or 'auto' for the "
            "cluster started on this machine)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(
            f"Ray address {address!r} is unreachable ({exc}); start the cluster there ('ray start --head') "
            "or leave out --address to start a local Ray instance"
        ) from None


def _run_ray(
    todo: Sequence[Cell],
    runs_root: Path,
    workers: int | None,
    address: str | None,
    done: Done,
    failed: Failed,
) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "backend 'ray' needs Ray, which is not installed: pip install splitgym[ray] "
            "(or use --backend local)"
        ) from None
    started = False
    watchdog = None
    if not ray.is_initialized():
        if address is not None and address not in ("auto", "local"):
            _check_reachable(address)
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": "warning",
        }
        if address is None and workers is not None:
            kwargs["num_cpus"] = workers
        # Ray puts the driver's current directory on the workers' sys.path; from a source checkout's root
        # that is the bare splitgym/ folder, which would shadow the installed package: start elsewhere.
        here = os.getcwd()
        if address is None:  # a local instance: its agents would outlive a SIGKILL of this process
            watchdog = reaper.start()
        try:
            os.chdir(tempfile.gettempdir())
            ray.init(address=address, **kwargs)
        except Exception as exc:
            if watchdog is not None:
                watchdog.kill()
            raise ConfigError(f"Ray address {address!r}: cannot start or join Ray: {exc}") from None
        finally:
            os.chdir(here)
        started = True
    inflight: dict[Any, Cell] = {}
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        pending = list(todo)
        limit = len(todo) if workers is None else workers
        while pending or inflight:
            while pending and len(inflight) < limit:
                cell = pending.pop(0)
                inflight[task.remote(cell, str(runs_root))] = cell
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                cell = inflight.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                    failed(cell, cause)
                except ray.exceptions.RayError as exc:
                    failed(cell, exc)
                else:
                    done(cell, record)
    except BaseException:
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()


# -- the suite ------------------------------------------------------------------------------------


def run_suite(
    suite: Suite | str | Path,
    out_dir: str | Path,
    workers: int | None = 2,
    backend: str = "local",
    address: str | None = None,
    progress: bool = True,
) -> RunSummary:
    """Run every cell of ``suite`` not finished yet under ``out_dir/<suite>/``; return what was done.

    ``workers``: cells at a time (local processes; with Ray, tasks in flight; ``None``: every core, or
    no limit with Ray). ``backend``: ``"local"`` or ``"ray"`` (``address``: a Ray cluster, default a local
    instance, or the one already initialised in this process). Cells that fail do not stop the others:
    their tracebacks go to ``cells/<cell_id>.error.txt`` and a :class:`CellsFailedError` names them at
    the end.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise ConfigError(f"address {address!r} is for backend 'ray'; backend is {backend!r}")
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    start = time.perf_counter()
    folder = Path(out_dir) / suite.name
    cells_dir = folder / "cells"
    runs_root = (folder / "runs").resolve()
    cells_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "suite.yml", yaml.safe_dump(suite_dict(suite), sort_keys=False))

    cells = expand(suite)
    state = {cell.cell_id: _finished(cells_dir, cell) for cell in cells}
    skipped = tuple(c.cell_id for c in cells if state[c.cell_id] == "done")
    stale = tuple(c.cell_id for c in cells if state[c.cell_id] == "stale")
    # Trained agents first: the long cells start early, the short ones fill the gaps.
    todo = sorted((c for c in cells if state[c.cell_id] != "done"), key=lambda c: c.agent.kind != "algo")

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(cells), initial=len(skipped), desc=suite.name, unit="cell", disable=not progress or not todo
    )
    ran: list[str] = []
    failures: list[tuple[Cell, BaseException]] = []

    def done(cell: Cell, record: dict[str, Any]) -> None:
        text = json.dumps(record, indent=1, allow_nan=False) + "\n"
        write_text_atomic(_cell_path(cells_dir, cell), text)
        (cells_dir / f"{cell.cell_id}.error.txt").unlink(missing_ok=True)
        ran.append(cell.cell_id)
        bar.set_postfix_str(f"{cell.cell_id} {record.get('wall_time_s', 0.0):.0f}s", refresh=False)
        bar.update()

    def failed(cell: Cell, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        write_text_atomic(cells_dir / f"{cell.cell_id}.error.txt", text)
        failures.append((cell, exc))
        bar.update()

    try:
        with _terminate_as_interrupt():
            if todo and backend == "local":
                _run_local(todo, runs_root, workers or os.cpu_count() or 1, done, failed)
            elif todo:
                _run_ray(todo, runs_root.resolve(), workers, address, done, failed)
    finally:
        bar.close()
    if failures:
        shown = "; ".join(f"{c.cell_id}: {type(e).__name__}: {e}".replace("\n", " ") for c, e in failures[:3])
        more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
        hint = ""
        if any(isinstance(e, BrokenProcessPool) for _, e in failures):
            hint = (
                " (a worker process died: out of memory, killed, or it could not start because the calling "
                "script lacks an 'if __name__ == \"__main__\":' guard; workers=1 runs in this process)"
            )
        raise CellsFailedError(
            f"{len(failures)} of {len(todo)} cells failed{hint}; {len(ran)} finished and are saved, run "
            f"again to retry the others; tracebacks in {cells_dir}/<cell>.error.txt: {shown}{more}"
        )
    return RunSummary(
        suite=suite.name,
        folder=folder,
        cells=len(cells),
        ran=tuple(ran),
        skipped=skipped,
        stale=stale,
        seconds=time.perf_counter() - start,
    )

"""Packaging of the one namespace ``splitgym`` from the design card's top-level folders.

pyproject.toml holds the metadata; this file only maps the folders (``envs/`` -> ``splitgym.envs``, ...)
and finds every subpackage below them, so a new subpackage needs no edit here.
"""

from pathlib import Path

from setuptools import setup

ROOTS = {
    "splitgym": "splitgym",
    "splitgym.envs": "envs",
    "splitgym.agents": "agents",
    "splitgym.surrogates": "surrogates",
    "splitgym.profiles": "profiles",
    "splitgym.benchmarks": "benchmarks",
}


def _packages() -> list[str]:
    found = []
    for package, folder in ROOTS.items():
        for init in sorted(Path(folder).rglob("__init__.py")):
            parts = init.parent.relative_to(folder).parts
            found.append(".".join((package, *parts)))
    return found


setup(package_dir=ROOTS, packages=_packages())

"""The README's data-flow diagram names every module of the package folders exactly once."""

from __future__ import annotations

import re
from collections import Counter

from tests.conftest import ROOT

FOLDERS = ("training", "artifact", "service", "cli")
# A line that starts a folder's block: `service/     the HTTP service`.
BLOCK = re.compile(r"^(\w+)/\s")
MODULE = re.compile(r"(?:\b(\w+)/)?\b(\w+\.py)\b")


def diagram() -> list[str]:
    """The lines of the README's first code block: the data-flow diagram."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("```", 2)[1].splitlines()


def named_modules(lines: list[str]) -> Counter[str]:
    """`folder/module.py` for every module the diagram names: a bare name belongs to the
    folder whose block it is in."""
    named: Counter[str] = Counter()
    folder = None
    for line in lines:
        block = BLOCK.match(line)
        folder = block.group(1) if block else folder
        for explicit, name in MODULE.findall(line):
            named[f"{explicit or folder}/{name}"] += 1
    return named


def modules() -> set[str]:
    """Every module of the package folders (not their `__init__.py`, nor migrations)."""
    return {
        f"{folder}/{path.name}"
        for folder in FOLDERS
        for path in (ROOT / folder).glob("*.py")
        if path.name != "__init__.py"
    }


def test_named_modules_are_read_by_their_block() -> None:
    lines = ["training/   offline", "  → training/a.py  x; b.py", "service/   web", "    · c.py"]
    assert named_modules(lines) == Counter(["training/a.py", "training/b.py", "service/c.py"])


def test_the_diagram_names_every_module_once_and_only_modules_that_exist() -> None:
    named = named_modules(diagram())
    assert sorted(modules() - set(named)) == []  # modules the diagram leaves out
    assert sorted(set(named) - modules()) == []  # names with no module behind them
    assert sorted(name for name, count in named.items() if count > 1) == []

"""Execute the snippets of one Markdown page, in order, in the current directory.

Usage: ``python _run_snippets.py PAGE.md`` (the test runs it in a fresh temp dir).

* a fenced block whose info string has ``file=PATH`` (```` ```yaml file=config/api.yaml ````)
  is written to ``PATH`` when the page reaches it;
* every other ```` ```python ```` block runs, in one shared module namespace, with
  top-level ``await`` allowed (all blocks share one event loop);
* blocks marked ``no-run`` and blocks in other languages (bash, text...) are shown,
  not run.

``./src`` and ``.`` are on ``sys.path``, so a page can write a package under
``src/`` and import it. A failing block's traceback points at its line in the page.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import re
import sys
import types
from pathlib import Path

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[tuple[str, dict[str, str], str, int]]:
    """``(language, options, code, first_line)`` of each fenced block."""
    found = []
    for match in FENCE.finditer(text):
        words = match.group(1).split()
        lang = words[0] if words else ""
        options = dict(w.split("=", 1) if "=" in w else (w, "") for w in words[1:])
        line = text.count("\n", 0, match.start(2)) + 1
        found.append((lang, options, match.group(2), line))
    return found


async def run_page(page: Path) -> int:
    module = types.ModuleType("__docs__")
    module.__file__ = str(page)
    sys.modules["__docs__"] = module
    ran = 0
    for lang, options, code, line in blocks(page.read_text()):
        if "file" in options:
            target = Path(options["file"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code)
            importlib.invalidate_caches()  # the new module must be importable at once
            continue
        if lang != "python" or "no-run" in options:
            continue
        source = "\n" * (line - 1) + code
        compiled = compile(source, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, module.__dict__)
        if inspect.iscoroutine(result):
            await result
        ran += 1
    return ran


def main() -> None:
    Path("src").mkdir(exist_ok=True)  # a missing sys.path entry would be cached as such
    sys.path[:0] = [str(Path("src").resolve()), str(Path(".").resolve())]
    page = Path(sys.argv[1]).resolve()
    ran = asyncio.run(run_page(page))
    print(f"{page.name}: {ran} snippet(s) ran")


if __name__ == "__main__":
    main()

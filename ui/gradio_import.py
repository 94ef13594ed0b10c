"""Starting Gradio without the work a running server never uses.

Gradio 6 spends about half of its import and page-building time on 2 cores (docs/BENCHMARKS.md) on two things a
server does not need:
  - at import, for each of its ~80 component classes, it re-parses the class's source file and rewrites the type
    stub (`.pyi`) beside it (`gradio.component_meta.create_or_modify_pyi`); the wheel ships those stubs already,
    and an editor reads them, not the server;
  - where IPython is installed (it is not one of the app's requirements), Gradio imports it at import and again
    while building a page, only to ask whether it runs in a notebook.
`skip_unused_import_work()`, called before Gradio is first imported, makes the first a no-op and, unless IPython is
already running (a notebook), lets the process import Gradio as on a machine without IPython. Nothing else of
Gradio changes; with a Gradio that lacks the stub writer it does nothing there.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

STUB_MODULE, STUB_WRITER = "gradio.component_meta", "create_or_modify_pyi"


class _NoStubWriting(importlib.abc.MetaPathFinder):
    """Finds `gradio.component_meta` as usual and, once it has run, replaces its stub writer with a no-op; every
    other import passes by."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None):
        if name != STUB_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if hasattr(module, STUB_WRITER):
                setattr(module, STUB_WRITER, lambda *args, **kwargs: None)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]  # this module's loader only
        return spec


def skip_unused_import_work() -> None:
    """Effective when called before `import gradio`; calling it again changes nothing."""
    if "IPython" not in sys.modules:
        sys.modules["IPython"] = None  # type: ignore[assignment]  # `import IPython` raises ImportError, as if absent
    if not any(isinstance(finder, _NoStubWriting) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoStubWriting())

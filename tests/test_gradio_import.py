"""The server imports Gradio without rewriting type stubs and, outside a notebook, without IPython; Gradio still
builds and configures pages as before."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from ui.gradio_import import skip_unused_import_work

ROOT = Path(__file__).resolve().parents[1]
COMPONENT = '''
import gradio as gr


class Box(gr.Textbox):
    """A component class of the app's own: Gradio writes a stub beside its module unless told not to."""
'''
SCRIPT = """
import json, sys
from pathlib import Path
sys.path[:0] = [{root!r}, {folder!r}]
if {lean}:
    from ui.gradio_import import skip_unused_import_work
    skip_unused_import_work()
import gradio as gr
import box
with gr.Blocks() as demo:
    box.Box(value="kept", elem_id="the-box")
config = demo.get_config_file()
value = next(c["props"]["value"] for c in config["components"] if c["props"].get("elem_id") == "the-box")
print(json.dumps({{"stub": Path({folder!r}, "box.pyi").exists(), "value": value,
                  "ipython": sys.modules.get("IPython") is not None}}))
"""


def start(tmp_path: Path, lean: bool) -> dict:
    folder = tmp_path / ("lean" if lean else "plain")
    folder.mkdir()
    (folder / "box.py").write_text(COMPONENT)
    code = SCRIPT.format(root=str(ROOT), folder=str(folder), lean=lean)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_gradio_builds_pages_without_writing_stubs_or_importing_ipython(tmp_path):
    lean = start(tmp_path, lean=True)
    assert lean["value"] == "kept"
    assert not lean["stub"]
    assert not lean["ipython"]


def test_without_it_gradio_writes_stubs_and_imports_ipython_where_installed(tmp_path):
    plain = start(tmp_path, lean=False)  # what the test above rules out does happen otherwise
    assert plain["value"] == "kept"
    assert plain["stub"]
    if importlib.util.find_spec("IPython") is None:
        pytest.skip("IPython is not installed here: Gradio cannot import it anyway")
    assert plain["ipython"]


def test_in_a_notebook_ipython_is_kept(monkeypatch):
    running = types.ModuleType("IPython")
    monkeypatch.setitem(sys.modules, "IPython", running)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the finder it adds goes with the test
    skip_unused_import_work()
    assert sys.modules["IPython"] is running

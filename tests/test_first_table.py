"""The first table computed ahead of the first visitor: in a forked copy whose results the server reads from the
disk cache (the server itself never runs a model for it), or finished in a thread when the copy is not done in
time or cannot be used."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from test_cache_faults import assert_complete_and_correct, expected, make_builder  # noqa: F401
from lincae import analysis
from ui.first_table import FirstTable

TESTS = Path(__file__).resolve().parent

SERVER = """
import json, sys, time
from pathlib import Path
sys.path[:0] = [{tests!r}, {root!r}]
from engine_fakes import IdentityAE, NoisyAE
from lincae import analysis
from test_cache_faults import make_builder
from ui.first_table import FirstTable

class Slow(IdentityAE):
    def decode(self, z, length, seed=None):
        time.sleep({decode_s})
        return super().decode(z, length, seed)

models = Slow("linear"), NoisyAE("noisy")
builder = make_builder(Path({root_dir!r}), *models, fingerprinted=True)
first = FirstTable.start(builder, "t1")
table = first.result({wait_s})
{before_page}
first.page_loaded()  # as the page's load event tells it
deadline = time.monotonic() + 60
while table is not None and not all(m.decode_batches for m in models) and time.monotonic() < deadline:
    time.sleep(0.01)  # the server's own warm-up of the models the copy used
server_calls = [(m.encode_batches, m.decode_batches) for m in models]  # this process's passes, so far
deadline = time.monotonic() + 120
while builder.remembered("t1") is None and time.monotonic() < deadline:  # a thread finishing it, if any
    time.sleep(0.05)
finished = builder.remembered("t1")
copy_done = first.finished.wait(120)  # the copy has exited: the analysis is in the cache, or was never made
calls = sum(len(m.encode_batches) + len(m.decode_batches) for m in models)
analysed = [analysis.analyse(builder.engine, builder.load_track("t1"), m.name, seed=builder.seed) for m in models]
print(json.dumps({{"at_launch": table is not None, "copy_done": copy_done, "server_model_calls": server_calls,
                  "finished": finished.value if finished else None,
                  "analysis_model_calls": sum(len(m.encode_batches) + len(m.decode_batches) for m in models) - calls,
                  "homogeneity": [sorted(a.homogeneity.items()) for a in analysed]}}))
"""


def run_server(root: Path, decode_s: float, wait_s: float, before_page: str = "") -> dict:
    code = SERVER.format(tests=str(TESTS), root=str(TESTS.parent), root_dir=str(root), decode_s=decode_s,
                         wait_s=wait_s, before_page=before_page)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_fresh_server_reads_the_first_table_a_copy_of_itself_computed(tmp_path, expected):  # noqa: F811
    result = run_server(tmp_path, decode_s=0.0, wait_s=60.0)
    assert result["at_launch"]
    # the server ran each model once, on its warm-up's single item, and never on the track: the copy did
    assert result["server_model_calls"] == [[[1], [1]], [[1], [1]]]
    assert_complete_and_correct(json.loads(result["finished"]), expected)
    assert result["copy_done"]
    assert result["analysis_model_calls"] == 0  # and the copy analysed the track: the server reads it
    identity, noisy = (dict(curve) for curve in result["homogeneity"])
    assert min(identity.values()) > 60 and set(identity) == set(analysis.CURVE_GAINS)  # Dec(a·z) = a·Dec(z)
    assert max(noisy.values()) < 60  # the noisy decoder's own noise, not a cached copy of the other model's


def test_a_first_table_not_ready_in_time_is_finished_in_a_thread(tmp_path, expected):  # noqa: F811
    # the stopped copy has exited before the page loads: telling it so must not fail the page
    result = run_server(tmp_path, decode_s=0.5, wait_s=0.2, before_page="first.finished.wait(60)")
    assert not result["at_launch"]  # the page opens without it and fills in
    assert_complete_and_correct(json.loads(result["finished"]), expected)


def test_with_other_threads_running_a_thread_computes_it(tmp_path, expected):  # noqa: F811
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)  # a fork now would copy a process mid-way
    other.start()
    try:
        first = FirstTable.start(make_builder(tmp_path), "t1")
        table = first.result(60.0)
    finally:
        stop.set()
    assert table is not None
    assert_complete_and_correct(json.loads(table.value), expected)


ORPHANED = """
import os, sys
from pathlib import Path
sys.path[:0] = [{tests!r}, {root!r}]
from engine_fakes import IdentityAE, NoisyAE
from test_cache_faults import make_builder
from ui.first_table import FirstTable

first = FirstTable.start(make_builder(Path({root_dir!r}), IdentityAE("linear"), NoisyAE("noisy"), fingerprinted=True),
                         "t1")
copy = first._pid
assert first.result(60) is not None
print(copy, flush=True)
os._exit(0)  # the server dies before any page has loaded
"""


def test_a_copy_whose_server_died_exits_without_analysing(tmp_path):
    code = ORPHANED.format(tests=str(TESTS), root=str(TESTS.parent), root_dir=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    copy = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 5  # well before the copy would stop waiting for a page (PAGE_WAIT_S)
    while _alive(copy):
        assert time.monotonic() < deadline, "the copy outlived its server"
        time.sleep(0.05)
    assert not _analysis_entries(tmp_path)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"  # a zombie has exited
    except (FileNotFoundError, IndexError):
        return False


def _analysis_entries(root: Path) -> list[Path]:
    """Cache entries holding the curves' arrays (`lincae.analysis`)."""
    return list((root / "cache").glob("??/*/homogeneity.npy"))

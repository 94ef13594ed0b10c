"""Load test: concurrent clients against the app on this machine (loopback only), for a bounded time.

    python benchmarks/bench_load.py [--clients 20] [--duration 180] [--idle 60] [--cache-gb 2] [--seconds 5]
                                    [--alone 3] [--raw calls.json]

Starts `python app.py` on a free loopback port with a fresh cache folder and Gradio temp folder (embedded models
only: the Hub is not contacted), then runs `--clients` clients for `--duration` seconds. Each client is a
process of its own, as visitors and scripts are on their own machines (no interpreter lock shared with the other
clients), at a lower priority (nice +10: the load generator must not take the server's cores first), with its
own `gradio_client.Client` and one page session, as a browser tab has. All start together once every one is
connected. Each call picks, at random, one of:

- page: cached table — a bundled track's table through the page's own events, as the browser asks for it: the
  cached table outside Gradio's queue, then the queued event (which computes when the first found nothing);
  timed until the table arrives;
- api: process_stems (cached) — the bundled song's stems, already computed: metrics and files from the cache;
- api: process_stems (new audio) — freshly generated stems: a new track, encoded and decoded;
- api: mix_latents — the bundled song with random gains (the mixer's computation);

The Analysis tab has no API endpoint: its numbers are what `process_stems` returns as metrics. Before the load it
times `--alone` calls of each kind one at a time (what a call costs when nothing else runs). At the end it
prints the errors, p50/p95 per kind of call and over every API call, the server's peak RSS, its RSS after `--idle` seconds without
requests, and the disk used by the cache and by Gradio's temp folder. For page tables the queued event had to
compute it also prints how long they waited in Gradio's queue (from joining it to the handler's start, as the
client sees it), and the CPU time the server and the clients used (they share the machine).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf
from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
SONG = ROOT / "assets" / "songs" / "song-1"
STEMS = ("vocals", "drums", "bass", "other")
MODELS = ("demo-lincae", "demo-ae")
KINDS = {  # kind of call → share of the calls
    "page: cached table": 0.4,
    "api: process_stems (cached)": 0.2,
    "api: process_stems (new audio)": 0.2,
    "api: mix_latents": 0.2,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


def new_stems(folder: Path, seconds: float, rng: random.Random) -> dict[str, Path]:
    """Four stems no one has sent before (random tones and noise), as WAV files."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 44100)) / 44100
    out = {}
    for s in STEMS:
        f = rng.uniform(50, 2000)
        x = 0.2 * np.sin(2 * np.pi * f * t) + 0.02 * np.random.default_rng(rng.randrange(1 << 30)).standard_normal(t.size)
        out[s] = folder / f"{s}.wav"
        sf.write(out[s], x.astype(np.float32), 44100)
    return out


def api_client(url: str) -> Client:
    """A `gradio_client.Client` as a script would make one, but without TLS verification, which the loopback's
    plain HTTP never uses: by default the client builds a verifying TLS context, loading the CA bundle (about
    30 ms of CPU), for each of the ~16 requests of a call — enough to make 20 clients use more CPU than the server
    they are measuring, on the same two cores."""
    return Client(url, verbose=False, ssl_verify=False)


class PageEvent:
    """The page's table events, called the way a browser tab calls them: the cached table outside the queue
    (`run/predict`), then the queued event, which computes the table when the first found nothing (queue/join,
    then the event stream). One object is one tab: its calls share a session, as a visitor's track changes do."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        config = httpx.get(f"{self.url}/config", timeout=30).json()
        ids = {d.get("api_name"): d["id"] for d in config["dependencies"]}
        self.cached_index, self.computed_index = ids["cached_track"], ids["computed_track"]
        self.http = httpx.Client(timeout=600)
        self.session = uuid.uuid4().hex

    def table(self, track_id: str) -> tuple[float, float | None]:
        """Ask for the table as the page does. Returns the seconds until the table arrived and, when the queued
        event had to compute it, how long that waited in the queue before its handler started (else None: the
        queued event still runs, as on the page, but nobody waits for it)."""
        session = self.session
        body = {"data": [track_id], "fn_index": self.cached_index, "session_hash": session, "event_data": None,
                "trigger_id": None}
        asked = time.perf_counter()
        answer = self.http.post(f"{self.url}/gradio_api/run/predict", json=body)
        if answer.status_code != 200:
            raise RuntimeError(f"run/predict {answer.status_code}: {answer.text[:200]}")
        shown = time.perf_counter() - asked if isinstance(answer.json()["data"][0], str) else None
        joined = time.perf_counter()
        started = None
        body = {**body, "data": [track_id, None], "fn_index": self.computed_index}
        join = self.http.post(f"{self.url}/gradio_api/queue/join", json=body)
        if join.status_code != 200:
            raise RuntimeError(f"queue/join {join.status_code}: {join.text[:200]}")
        with self.http.stream("GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_starts" and started is None:
                    started = time.perf_counter()
                if message.get("msg") == "process_completed":
                    if not message.get("success", False):
                        raise RuntimeError(str(message.get("output", {}).get("error") or message)[:200])
                    if shown is not None:
                        return shown, None
                    return time.perf_counter() - asked, (started or time.perf_counter()) - joined
        raise RuntimeError("the event stream ended before the table was complete")


class Caller:
    """Makes one call of each kind, as one client: its own `gradio_client.Client` and page connection."""

    def __init__(self, url: str, seconds: float, uploads: Path, api: Client | None = None,
                 page: PageEvent | None = None) -> None:
        self.api, self.page = api or api_client(url), page or PageEvent(url)
        self.seconds, self.uploads = seconds, uploads
        self.song = {s: handle_file(str(SONG / f"{s}.flac")) for s in STEMS}

    def call(self, kind: str, model: str, rng: random.Random, tag: str) -> tuple[float | None, float | None]:
        """For the page's table, (seconds until the table arrived, seconds its queued event waited or None); for
        the others, (None, None): their whole call is what is timed."""
        if kind == "page: cached table":
            return self.page.table("song-1")
        if kind == "api: process_stems (cached)":
            self.api.predict(**self.song, model=model, length=self.seconds, api_name="/process_stems")
        elif kind == "api: process_stems (new audio)":
            files = new_stems(self.uploads / tag, self.seconds, rng)
            self.api.predict(**{s: handle_file(str(p)) for s, p in files.items()}, model=model,
                             api_name="/process_stems")
        else:
            gains = {f"{s}_gain": round(rng.uniform(-1, 2), 2) for s in STEMS}
            self.api.predict(**self.song, model=model, **gains, length=self.seconds, api_name="/mix_latents")
        return None, None


def client(index: int, url: str, seconds: float, uploads: Path, start, duration: float, results) -> None:
    """One client, in its own process (as visitors and scripts are: no interpreter lock shared with the others)
    at a lower priority (they stand in for other machines: their work must not take the server's cores first):
    once connected, it says so on `results` and waits for `start` (a shared monotonic time); then it makes calls
    of random kinds for `duration` seconds, each after a pause of up to 0.5 s, and puts (its calls, its CPU seconds
    during the load) on `results`."""
    os.nice(10)
    caller, rng = Caller(url, seconds, uploads), random.Random(index)
    results.put(index)
    while not start.value:
        time.sleep(0.01)
    began = start.value
    time.sleep(max(0.0, began - time.monotonic()))
    cpu, calls, n = time.process_time(), [], 0
    while time.monotonic() < began + duration:
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        model = rng.choice(MODELS)
        start = time.perf_counter()
        call = {"kind": kind, "model": model, "start": round(time.monotonic() - began, 3)}
        try:
            shown, wait = caller.call(kind, model, rng, f"{index}-{n}")
        except Exception as err:  # every failure is counted and shown, none stops the test
            call["error"] = f"{kind}: {type(err).__name__}: {err}"[:300]
        else:
            call["seconds"] = shown if shown is not None else time.perf_counter() - start
            if wait is not None:
                call["queue_wait"] = wait
        calls.append(call)
        n += 1
        time.sleep(rng.uniform(0, 0.5))
    results.put((calls, time.process_time() - cpu))


def reported(results, processes: list, timeout: float):
    """The next report a client put on `results`; stops the test when a client process died instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise SystemExit(f"{len(dead)} client process(es) failed (exit codes {dead}); see the output above")
    raise SystemExit(f"no client reported within {timeout:g} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds without requests before the final RSS")
    parser.add_argument("--cache-gb", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the audio each API call sends")
    parser.add_argument("--alone", type=int, default=3,
                        help="before the load, time this many calls of each kind one at a time (0: none)")
    parser.add_argument("--raw", type=Path, help="write every call (kind, start, seconds, error) here as JSON")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 100 and 0 < args.duration <= 1800 and 0 <= args.idle <= 600):
        parser.error("bounded on purpose: 1–100 clients, at most 30 minutes of load and 10 of idle")

    work = Path(tempfile.mkdtemp(prefix="lincae-load-"))
    cache, gradio_tmp = work / "cache", work / "gradio"
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "LINCAE_CACHE_DIR": str(cache), "LINCAE_CACHE_GB": str(args.cache_gb), "GRADIO_TEMP_DIR": str(gradio_tmp),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=open(work / "server.log", "w"))
    url = f"http://127.0.0.1:{port}/"
    try:
        return run(args, server, url, work, cache, gradio_tmp)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def run(args, server: subprocess.Popen, url: str, work: Path, cache: Path, gradio_tmp: Path) -> int:
    deadline = time.monotonic() + 300
    while True:
        try:
            httpx.get(url, timeout=5)
            break
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                print((work / "server.log").read_text()[-3000:])
                raise SystemExit("the app did not start")
            time.sleep(1)
    page, warm = PageEvent(url), api_client(url)
    song = {s: handle_file(str(SONG / f"{s}.flac")) for s in STEMS}
    print("warming: the bundled track's table and the API's cached call…", flush=True)
    page.table("song-1")
    for model in MODELS:
        warm.predict(**song, model=model, length=args.seconds, api_name="/process_stems")
    base_rss = rss_mb(server.pid)

    latencies: dict[str, list[float]] = defaultdict(list)
    queue_waits: list[float] = []  # of the page's tables that the queued event computed: joining to the start
    errors: list[str] = []
    peak = [base_rss]
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(server.pid))
            time.sleep(0.5)

    if args.alone:
        print(f"one call at a time, {args.alone} of each kind (what a call costs without load):", flush=True)
        caller = Caller(url, args.seconds, work / "uploads", warm, page)
        rng = random.Random(-1)
        for kind in KINDS:
            times = []
            for i in range(args.alone):
                asked = time.perf_counter()
                shown, _ = caller.call(kind, MODELS[i % len(MODELS)], rng, f"alone-{i}")
                times.append(shown if shown is not None else time.perf_counter() - asked)
            print(f"  {kind:34} median {statistics.median(times):6.3f} s  (min {min(times):.3f}, max {max(times):.3f})")

    print(f"load: {args.clients} client processes for {args.duration:g} s…", flush=True)
    context = multiprocessing.get_context("spawn")
    results, start = context.Queue(), context.Value("d", 0.0)
    processes = [context.Process(target=client, args=(i, url, args.seconds, work / "uploads", start, args.duration,
                                                      results), daemon=True) for i in range(args.clients)]
    for proc in processes:
        proc.start()
    for _ in processes:  # every client connected (imports, its Client) before the clock starts
        reported(results, processes, 600)
    began = start.value = time.monotonic() + 1.0
    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    time.sleep(max(0.0, began - time.monotonic()))
    cpu_before = cpu_seconds(server.pid), began
    reports = [reported(results, processes, args.duration + 600) for _ in processes]  # (calls, client CPU seconds)
    for proc in processes:
        proc.join()
    stop.set()
    calls = sorted((c for r in reports for c in r[0]), key=lambda c: c["start"])
    for call in calls:
        if "error" in call:
            errors.append(call["error"])
        else:
            latencies[call["kind"]].append(call["seconds"])
            if "queue_wait" in call:
                queue_waits.append(call["queue_wait"])
    client_cpu = sum(r[1] for r in reports)
    server_cpu = cpu_seconds(server.pid) - cpu_before[0]
    wall = time.monotonic() - cpu_before[1]
    peak_rss = max(peak[0], rss_mb(server.pid))
    disk_after_load = folder_mb(cache), folder_mb(gradio_tmp)
    print(f"idle for {args.idle:g} s…", flush=True)
    time.sleep(args.idle)
    idle_rss = rss_mb(server.pid)

    print(f"\n{'call':34} {'n':>5} {'p50 (s)':>9} {'p95 (s)':>9} {'max (s)':>9}")
    every_api_call = [x for k in KINDS if k.startswith("api:") for x in latencies[k]]
    for kind, xs in [*((k, latencies[k]) for k in KINDS), ("api: every call", every_api_call),
                     ("  computed: waiting in the queue", queue_waits)]:
        xs = sorted(xs)
        if xs:
            p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
            print(f"{kind:34} {len(xs):5d} {statistics.median(xs):9.3f} {p95:9.3f} {xs[-1]:9.3f}")
    print(f"\nerrors: {len(errors)} of {sum(map(len, latencies.values())) + len(errors)} calls")
    for line in errors[:20]:
        print("  " + line)
    print(f"CPU during the load ({wall:.0f} s on {os.cpu_count()} cores): server {server_cpu:.0f} s, "
          f"load-test clients {client_cpu:.0f} s")
    print(f"server RSS: {base_rss:.0f} MB after warm-up, peak {peak_rss:.0f} MB, {idle_rss:.0f} MB after "
          f"{args.idle:g} s idle")
    print(f"disk after the load: cache {disk_after_load[0]:.0f} MB (budget {args.cache_gb * 1000:.0f} MB), "
          f"Gradio temp {disk_after_load[1]:.0f} MB")
    if args.raw:
        args.raw.write_text(json.dumps(calls, indent=0))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

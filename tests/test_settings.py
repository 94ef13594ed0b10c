"""Settings: built once from the environment and the command line, never written back to the environment."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from lincae import settings
from lincae.settings import ENVIRONMENT, Settings


def parse(argv: list[str], environ: dict[str, str], sources: bool = True) -> Settings:
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser, sources=sources)
    return settings.from_arguments(parser.parse_args(argv), environ)


def test_defaults_without_flags_or_environment():
    s = parse([], {})
    assert s == Settings()
    assert s.cache_dir.parts[-2:] == (".cache", "lincae") and s.max_seconds == 30.0 and s.musdb_dir is None
    assert (s.cpu_bf16, s.compile, s.device) == (False, False, None)


def test_the_environment_sets_every_field(tmp_path):
    environ = {ENVIRONMENT["cache_dir"]: str(tmp_path / "c"), ENVIRONMENT["max_seconds"]: "12.5",
               ENVIRONMENT["musdb_dir"]: str(tmp_path / "m"), ENVIRONMENT["cpu_bf16"]: "1",
               ENVIRONMENT["compile"]: "1"}
    assert settings.from_environment(environ) == Settings(cache_dir=tmp_path / "c", max_seconds=12.5,
                                                          musdb_dir=tmp_path / "m", cpu_bf16=True, compile=True)


def test_flags_win_over_the_environment_and_the_environment_is_left_alone(tmp_path):
    environ = {ENVIRONMENT["max_seconds"]: "12.5", ENVIRONMENT["cache_dir"]: str(tmp_path / "env")}
    before = dict(os.environ)
    s = parse(["--musdb", str(tmp_path), "--max-seconds", "8", "--cpu-bf16", "--compile", "--device", "cpu",
               "--cache-dir", str(tmp_path / "flag")], environ)
    assert s == Settings(cache_dir=tmp_path / "flag", max_seconds=8.0, musdb_dir=Path(tmp_path).resolve(),
                         cpu_bf16=True, compile=True, device="cpu")
    assert dict(os.environ) == before and environ == {ENVIRONMENT["max_seconds"]: "12.5",
                                                      ENVIRONMENT["cache_dir"]: str(tmp_path / "env")}


def test_bad_limits_are_refused_with_their_source():
    for bad in ("soon", "0", "-3", "nan"):
        with pytest.raises(ValueError, match=ENVIRONMENT["max_seconds"]):
            settings.from_environment({ENVIRONMENT["max_seconds"]: bad})
    with pytest.raises(ValueError, match="at least 0.1 s"):
        parse(["--max-seconds", "0"], {})


def test_the_command_line_of_precompute_has_no_upload_flags():
    with pytest.raises(SystemExit):
        parse(["--musdb", "x"], {}, sources=False)
    assert parse(["--compile"], {}, sources=False).compile


def test_no_module_writes_the_environment():
    """Settings are read once and handed down: nothing in the library or the app assigns `os.environ[...]`
    except the app's analytics opt-out (a Gradio variable)."""
    root = Path(__file__).resolve().parents[1]
    writers = [str(p.relative_to(root)) for folder in ("lincae", "ui") for p in (root / folder).rglob("*.py")
               if "os.environ[" in p.read_text() or "environ.setdefault(" in p.read_text()]
    assert writers == []
    assert "os.environ.setdefault(\"GRADIO_ANALYTICS_ENABLED\"" in (root / "app.py").read_text()


def test_the_registry_finds_local_weights_through_the_settings(official_mirror, offline_hub):
    from lincae import registry

    assert not registry.model_info("lin-cae").available  # nothing in the environment, no network
    found = registry.model_info("lin-cae", settings=Settings(weights_dir=official_mirror))
    assert found.available and ENVIRONMENT["weights_dir"] in found.source
    assert registry.load_model("lin-cae", "cpu", Settings(weights_dir=official_mirror)).name == "lin-cae"

"""The registry: which models exist, whether they can run here and why not."""
from __future__ import annotations

import importlib.machinery
import json
import sys
import types

import huggingface_hub
import pytest

from lincae import ModelInfo, ModelUnavailable, list_models, model_info, registry
from lincae.registry import load_model
from lincae.settings import from_environment
from lincae.__main__ import main

NAMES = ["demo-lincae", "demo-ae", "lin-cae", "lin-cae-2", "m2l", "stable-audio-vae"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the Hub fails as a machine without a connection would."""

    def refuse(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", refuse)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


def test_order_and_flags(offline_hub) -> None:
    infos = list_models()
    assert [i.name for i in infos] == NAMES
    assert [i.embedded for i in infos] == [True, True, False, False, False, False]
    assert [i.linear for i in infos] == [True, False, True, True, False, False]
    assert all(isinstance(i, ModelInfo) and i.display_name and i.description for i in infos)
    assert {i.family for i in infos} == {"spectral-ae", "consistency-ae", "oobleck"}


def test_offline_reasons_are_human(offline_hub, monkeypatch) -> None:
    monkeypatch.setattr(registry, "EMBEDDED_DIR", offline_hub / "nothing-here")
    reasons = {i.name: i.reason for i in list_models() if not i.available}
    assert reasons == {
        "demo-lincae": "embedded checkpoint not found",
        "demo-ae": "embedded checkpoint not found",
        "lin-cae": "weights not reachable offline (set LINCAE_WEIGHTS_DIR or connect to the Hub)",
        "lin-cae-2": "weights not reachable offline (set LINCAE_WEIGHTS_DIR or connect to the Hub)",
        "m2l": "weights not reachable offline (set LINCAE_WEIGHTS_DIR or connect to the Hub)",
        "stable-audio-vae": "weights not reachable offline (set LINCAE_SAO_VAE_DIR or connect to the Hub)",
    }


def test_online_without_probe_asks_nothing(offline_hub, no_network, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    infos = {i.name: i for i in list_models()}
    assert infos["lin-cae"].available and "downloaded on first load" in infos["lin-cae"].source
    assert not infos["stable-audio-vae"].available
    assert infos["stable-audio-vae"].reason.startswith("needs an HF token (gated model")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert model_info("stable-audio-vae").available


def test_probe_reports_an_unreachable_hub(offline_hub, no_network, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    infos = list_models(probe=True)
    assert {i.name for i in infos if not i.available} >= {"lin-cae", "lin-cae-2", "m2l", "stable-audio-vae"}
    assert model_info("m2l", probe=True).reason.startswith("weights not reachable offline")


def test_probe_reports_a_gated_refusal(offline_hub, monkeypatch) -> None:
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        raise GatedRepoError("gated", response=types.SimpleNamespace(headers={}, request=None))

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", gated)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    reason = model_info("stable-audio-vae", probe=True).reason
    assert reason.startswith("the Hub refused access (GatedRepoError): accept the licence")


def test_missing_package_is_named(offline_hub, monkeypatch) -> None:
    real = registry.find_spec
    monkeypatch.setattr(registry, "find_spec", lambda name: None if name == "diffusers" else real(name))
    assert model_info("stable-audio-vae").reason == "package diffusers not installed"


def test_load_model_explains_failures(offline_hub, no_network, monkeypatch) -> None:
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        load_model("nope")
    with pytest.raises(ModelUnavailable, match="not reachable offline") as caught:
        load_model("m2l")
    assert caught.value.reason == model_info("m2l").reason
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelUnavailable, match="could not download the weights"):
        load_model("m2l")


def test_embedded_checkpoint_is_loaded_by_its_module(offline_hub, tmp_path, monkeypatch) -> None:
    (tmp_path / "demo-ae.pt").write_bytes(b"checkpoint")
    monkeypatch.setattr(registry, "EMBEDDED_DIR", tmp_path)
    calls = []
    fake = types.ModuleType("lincae.models.spectral_ae")
    fake.__spec__ = importlib.machinery.ModuleSpec(fake.__name__, None)
    fake.load_checkpoint = lambda path, device: calls.append((path, device)) or "model"
    monkeypatch.setitem(sys.modules, fake.__name__, fake)

    infos = {i.name: i for i in list_models()}
    assert infos["demo-ae"].available and not infos["demo-lincae"].available
    assert load_model("demo-ae", device="cpu") == "model"
    assert calls == [(tmp_path / "demo-ae.pt", registry.torch.device("cpu"))]


def test_cli_table_and_json(offline_hub, capsys) -> None:
    assert main(["models"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["name", "model", "linear", "status"]
    assert [line.split()[0] for line in table[1:]] == NAMES
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [i.to_dict() for i in list_models()]


def test_the_apps_second_look_probes_the_hub_at_most_once_per_cool_down(offline_hub, monkeypatch) -> None:
    """Without a probe an unreachable Hub would look like 'downloaded on first load', and every table request
    would try (and back off from) a download; the app's second look asks the Hub, at most once a minute."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    asked: list[str] = []
    hub_up = False

    def metadata(url, **kwargs):
        asked.append(url)
        if not hub_up:
            raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", metadata)
    now = 0.0
    second_look = registry.Reprober(from_environment(), cool_down_s=60, clock=lambda: now)
    assert not second_look("lin-cae").available
    assert not second_look("lin-cae").available and len(asked) == 1
    hub_up, now = True, 61.0
    info = second_look("lin-cae")
    assert info.available and len(asked) == 2

"""Uploading in a real browser: an error is shown and the files stay; a good upload joins this session's track
list (only this one's), computes its table and plays."""
from __future__ import annotations

from browser import chromium, open_page, state, wait_for  # noqa: I001

import pytest
import soundfile as sf

from lincae.rows import STEMS
from upload_files import served_app, stem_files

STATUS_READY = "document.querySelector('#lincae-status')?.innerText.includes('Ready')"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("files")
    good = stem_files(tmp / "good", seconds=0.8, rate=48000, channels=2)
    corrupt = tmp / "bad" / "vocals.wav"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)
    return good, corrupt


@pytest.fixture(scope="module")
def browser_and_url(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("app")) as (url, _), chromium() as browser:
        yield browser, url


def open_upload_panel(browser, url):
    page, log = open_page(browser, url)
    wait_for(page, STATUS_READY, timeout_ms=30_000)
    page.get_by_role("tab", name="Your own audio").click()
    return page, log


def upload(page, stem: str, path) -> None:
    page.locator(f"#lincae-upload-{stem} input[type=file]").set_input_files(str(path))
    page.locator(f'#lincae-upload-{stem} td.filename[aria-label="{path.name}"]').wait_for()


def uploaded(page, stem: str) -> str | None:
    """The name of the file the input holds."""
    cell = page.locator(f"#lincae-upload-{stem} td.filename")
    return cell.get_attribute("aria-label") if cell.count() else None


def track_options(page) -> list[str]:
    page.get_by_label("Track", exact=True).click()
    options = [text.split("\n")[-1] for text in page.get_by_role("option").all_inner_texts()]  # without the ✓
    page.keyboard.press("Escape")
    return options


def test_an_error_is_shown_the_files_stay_and_a_good_upload_plays(browser_and_url, files):
    browser, url = browser_and_url
    good, corrupt = files
    page, log = open_upload_panel(browser, url)

    upload(page, "vocals", corrupt)
    for stem in ("drums", "bass", "other"):
        upload(page, stem, good[stem])
    page.locator("#lincae-upload-add").click()
    note = page.locator("#lincae-upload-note")
    note.get_by_text("vocals (vocals.wav): this is not an audio file this app can decode").wait_for()
    assert note.inner_text().startswith("✖")
    # The error is told in the panel's one message area, not as an "Error" pill over the Track selector.
    assert page.locator("#lincae-track").get_by_text("Error").count() == 0
    assert page.locator(".toast-body").count() == 0
    for stem in STEMS:  # nothing the user uploaded is lost
        assert uploaded(page, stem) == f"{stem}.wav"
    assert page.locator("#lincae-upload-vocals a[download]").inner_text().startswith("2.0")  # still the bad file

    page.locator("#lincae-upload-vocals").get_by_role("button", name="Clear").click()
    upload(page, "vocals", good["vocals"])
    page.locator("#lincae-upload-title").get_by_role("textbox").fill("My stems")
    page.locator("#lincae-upload-add").click()
    wait_for(page, "window.lincaePlayer.data?.track.id.startsWith('upload-')", timeout_ms=30_000)
    wait_for(page, STATUS_READY, timeout_ms=30_000)
    assert page.evaluate("() => window.lincaePlayer.data.track.title") == "My stems (0–0.8 s)"
    assert note.inner_text().startswith("✔ Added") and "not an audio file" not in note.inner_text()
    assert page.locator("#lincae-upload-title input, #lincae-upload-title textarea").input_value() == ""
    broken = page.locator('#lincae-player td.lc-folded li[data-model="broken"]')
    assert "decoder exploded" in broken.get_attribute("title")

    download = page.locator("#lincae-player a.lc-download")
    assert download.get_attribute("href") is None and download.get_attribute("aria-disabled") == "true"
    page.locator('td[data-row="sep_vocals"][data-model="linear"]').click()
    wait_for(page, "window.lincaePlayer.state().playing")
    assert state(page)["row"] == "sep_vocals"
    with page.expect_download() as saved:
        download.click()
    track_id = page.evaluate("() => window.lincaePlayer.data.track.id")
    assert saved.value.suggested_filename == f"{track_id}_sep_vocals_linear.wav"
    audio, rate = sf.read(saved.value.path())
    assert rate == 44100 and len(audio) == round(0.8 * 44100)
    assert "My stems (0–0.8 s) — yours" in track_options(page)
    # Other audio under the same title: a second entry, told apart by its name.
    page.locator("#lincae-upload-vocals").get_by_role("button", name="Clear").click()
    upload(page, "vocals", good["other"])
    page.locator("#lincae-upload-title").get_by_role("textbox").fill("My stems")
    page.locator("#lincae-upload-add").click()
    wait_for(page, "window.lincaePlayer.data?.track.title === 'My stems (0–0.8 s) #2'", timeout_ms=30_000)
    assert "My stems (0–0.8 s) #2 — yours" in track_options(page)
    assert log.external_requests == []

    # Another visitor's track list does not have it.
    other, _ = open_upload_panel(browser, url)
    assert track_options(other) == ["Bundled test track"]
    other.context.close()
    page.context.close()


def test_mixture_mode_shows_the_mixture_input_and_explains_the_layout(browser_and_url, files, tmp_path):
    browser, url = browser_and_url
    good, _ = files
    page, _ = open_upload_panel(browser, url)
    assert not page.locator("#lincae-upload-mixture").is_visible()
    page.get_by_label("Mixture + vocals").check()
    page.locator("#lincae-upload-mixture").wait_for()
    assert not page.locator("#lincae-upload-drums").is_visible()
    upload(page, "vocals", good["vocals"])
    upload(page, "mixture", good["other"])
    page.locator("#lincae-upload-add").click()
    wait_for(page, "window.lincaePlayer.data?.track.id.startsWith('upload-')", timeout_ms=30_000)
    note = page.locator("#lincae-upload-note")
    note.get_by_text("Mixture + vocals:").wait_for()
    assert "2·Enc(silence)" in note.inner_text()
    page.context.close()

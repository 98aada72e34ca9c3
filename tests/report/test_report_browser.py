"""Report in a real browser: headless Chromium renders report.html from file:// offline.

Skipped locally when Chromium is missing; fails under CI (``CI`` set), which must install it
(Debian: ``apt-get install -y chromium``). The screenshot goes to ``$CHURN_ARTIFACTS_DIR``
when set (CI keeps it), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from factories import subscriptions_frame, subscriptions_spec
from matplotlib import image as mpimg
from wide_report import write_wide_report

from churn.registry import as_manifest
from churn.report import SECTION_IDS, build_predictions, draw_eda, draw_evaluation, write_report
from churn.spec import Spec
from churn.training.compile import compile_spec
from churn.training.evaluate import select_winner, split_dataset, train_candidate

pytestmark = pytest.mark.browser

PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter((img) => !img.complete || img.naturalWidth === 0);
  document.body.dataset.images = String(images.length);
  document.body.dataset.brokenImages = String(broken.length);
});
</script>"""
"""Appended to the test's copy of the report only: counts images that failed to render."""

WINDOW = (1280, 4000)
LAPTOP = (1366, 768)
"""A common laptop screen: every table of the report must fit its width."""

WIDTH_PROBE = """<script>
window.addEventListener("load", () => {
  const cut = Array.from(document.querySelectorAll(".table-wrap"))
    .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1)
    .map((wrap) => wrap.closest("section").id);
  document.body.dataset.cutTables = cut.join(",") || "none";
  const first = (selector) => Array.from(document.querySelectorAll(selector))
    .map((cell) => cell.innerText.replace(/\\s+/g, " ").trim());
  document.body.dataset.choices = first("table.choices tbody td:first-child").join("|");
});
</script>"""
"""Lists the sections whose table is wider than its box (cut, scrolled), and the choices rows."""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        message = "chromium is not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of the subscriptions spec with its two cheap candidates."""
    spec = Spec.model_validate(subscriptions_spec())
    frame = subscriptions_frame(600)
    split = split_dataset(spec, frame)
    results = {
        name: train_candidate(spec, name, pipeline, split)
        for name, pipeline in compile_spec(spec).items()
    }
    winner = select_winner(spec, results)
    run_dir = tmp_path_factory.mktemp("run")
    manifest = {
        "run_id": "browser-run",
        "status": "succeeded",
        "spec_name": spec.name,
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2026-01-01T00:00:09+00:00",
        "candidates": {name: result.summary() for name, result in results.items()},
        "winner": winner,
        "selection_metric": "roc_auc",
        "decision": {"action": "promote", "run_failed": False, "reason": "first run"},
    }
    return write_report(
        run_dir,
        as_manifest(manifest),
        spec_text="version: 1\n",
        predictions=build_predictions(spec, results[winner], split),
        eda=draw_eda(spec, frame, run_dir / "plots"),
        evaluation=draw_evaluation(spec, split, results, winner, run_dir / "plots"),
        top_at_risk=10,
    )


def run_chromium(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium, offline: no sandbox (root), no GPU, no background traffic."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *arguments,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


class SectionIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.ids.append(dict(attrs).get("id") or "")


def test_chromium_renders_every_section_and_image(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    probed = tmp_path / "report.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    done = run_chromium(
        chromium, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()
    )
    dom = done.stdout
    images = re.search(r'data-images="(\d+)"', dom)
    broken = re.search(r'data-broken-images="(\d+)"', dom)
    assert images and broken, "the load probe did not run"
    assert int(images.group(1)) == 13
    assert int(broken.group(1)) == 0
    parser = SectionIds()
    parser.feed(dom)
    assert parser.ids == list(SECTION_IDS)


def test_the_load_probe_counts_a_broken_image(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        f'<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">{PROBE}</body></html>'
    )
    dom = run_chromium(
        chromium, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()
    ).stdout
    assert 'data-broken-images="1"' in dom


def test_chromium_screenshot_of_the_report_is_a_full_png(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("CHURN_ARTIFACTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report-screenshot.png"
    shot.unlink(missing_ok=True)
    run_chromium(
        chromium,
        tmp_path / "profile",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={shot}",
        report.as_uri(),
    )
    assert shot.stat().st_size > 50_000
    pixels = mpimg.imread(shot, format="png")
    assert (pixels.shape[1], pixels.shape[0]) == WINDOW
    assert pixels[..., :3].std() > 0.05, "the screenshot is blank"


def test_every_table_fits_a_laptop_screen_and_blends_name_their_members(
    chromium: str, tmp_path: Path
) -> None:
    report = write_wide_report(tmp_path / "run")
    probed = tmp_path / "report.html"
    probed.write_text(report.read_text().replace("</body>", WIDTH_PROBE + "</body>"))
    dom = run_chromium(
        chromium,
        tmp_path / "profile",
        f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probed.as_uri(),
    ).stdout
    cut = re.search(r'data-cut-tables="([^"]*)"', dom)
    assert cut, "the width probe did not run"
    assert cut.group(1) == "none", f"tables wider than a {LAPTOP[0]} px window: {cut.group(1)}"
    choices = re.search(r'data-choices="([^"]*)"', dom)
    assert choices and "blend of logreg, xgb" in choices.group(1).split("|")

"""Render the digest's web view and one personal email in headless Chromium at 600 px and 375 px wide.

    .venv/bin/python benchmarks/screenshot_digest.py [--out screenshots/] [--dark]

Builds a sample edition (a week of articles, an editor's pick, a support appeal) in a temporary store,
writes the web view and a subscriber's HTML email, and saves PNGs to look at. Needs Debian's
`chromium` (apt-get install -y chromium); prints where the pictures are.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedpipe.core.model import Subscriber  # noqa: E402
from feedpipe.digest.build import build_edition  # noqa: E402
from feedpipe.digest.build import load_edition as prepare  # noqa: E402
from feedpipe.store import Store  # noqa: E402
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_of_articles  # noqa: E402

WIDTHS = (600, 375)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no chromium: apt-get install -y chromium")


def screenshot(page: Path, png: Path, width: int, *, dark: bool = False, height: int = 3000) -> None:
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--screenshot={png}", f"--window-size={width},{height}",
        ]
        if dark:
            command.append("--force-dark-mode")
            command.append("--blink-settings=preferredColorScheme=0")
        subprocess.run(command + [page.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--dark", action="store_true", help="also take dark-mode pictures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'shots.db'}", now=SEND_AT)
        articles = week_of_articles()
        store.articles.upsert(articles, now=SEND_AT)
        exiles = next(a for a in articles if a.url.endswith("/exiles"))
        store.editions.pick(WEEK, exiles.id, "How Belarusians who fled the crackdown keep a country alive abroad")
        settings = digest_settings()
        web = build_edition(store, settings, "https://news.example.org/feeds", WEEK, SEND_AT, Path(tmp) / "digest")
        reader = Subscriber(email="anna@example.com", name="Anna", status="active", token="sample-token")
        email_html = Path(tmp) / "email.html"
        email_html.write_text(prepare(store, settings, WEEK, SEND_AT).message(reader, SEND_AT)
                              .get_body(("html",)).get_content(), encoding="utf-8")
        for name, page in (("web", web), ("email", email_html)):
            for width in WIDTHS:
                png = args.out / f"digest-{name}-{width}.png"
                screenshot(page, png, width)
                print(png)
                if args.dark:
                    dark = args.out / f"digest-{name}-{width}-dark.png"
                    screenshot(page, dark, width, dark=True)
                    print(dark)
        store.close()


if __name__ == "__main__":
    main()

"""`feedpipe tag`: files shown with evidence, and JSON Lines in and out."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from feedpipe.cli.tag import tag


def cli() -> click.Group:
    """The command as the lead registers it: main.add_command(tag)."""

    @click.group()
    def main() -> None:
        pass

    main.add_command(tag)
    return main


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """The command caches its compiled gazetteer in the user's cache folder; keep tests out of it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def test_tag_a_plain_text_file_shows_countries_with_evidence(tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(
        "Subscribe today!\n\nChile's copper output hits a record high\n\n"
        "Chile mined more copper than ever, the ministry in Santiago said.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli(), ["tag", str(story)])
    assert result.exit_code == 0, result.output
    assert "Chile's copper output hits a record high" in result.output
    assert "CL Chile [focus" in result.output
    assert "title:Chile" in result.output
    assert "medtop:04000000" in result.output


def test_tag_jsonl_from_stdin_writes_one_line_per_input_and_reports_bad_lines():
    lines = [
        {"id": "a1", "title": "Georgia votes", "body": "Queues formed in Atlanta and Savannah."},
        "this is not json",
        {"title": "no id here"},
        {
            "id": 7,
            "title": "Striker scores twice",
            "body": "The team won the league match.",
            "url": "https://x.org/opinion/a",
        },
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    result = CliRunner().invoke(cli(), ["tag", "--jsonl", "-"], input=stdin)
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a1", 7]
    assert set(out[0]) == {"id", "countries", "topics", "section"}
    assert out[0]["countries"][0] == {"code": "US", "name": "United States", "role": "focus", "score": 1.0}
    assert out[1]["topics"][0]["code"] == "medtop:15000000"
    assert out[1]["section"] == "opinion"
    assert "-:2: not valid JSON" in result.stderr
    assert '-:3: missing "id"' in result.stderr
    assert result.exit_code == 2  # bad input (README: 1 is only for bugs); the good lines were still written
    assert "2 bad line(s) skipped" in result.stderr

"""`feedpipe tag --jsonl --explain`: the same reasons `--explain` prints, as data a script can read."""

from __future__ import annotations

import json

from click.testing import CliRunner

from feedpipe.cli.tag import tag as tag_command

SPORT = "medtop:15000000"
LINES = "\n".join(json.dumps(obj) for obj in (
    {"id": 1, "title": "Striker scores twice as United win the derby",
     "body": "The forward's late goal settled the league match in front of a full stadium."},
    {"id": 2, "title": "Der Bundestag stimmt über den Haushalt ab",
     "body": "Die Abgeordneten in Berlin debattierten bis spät in die Nacht über die Ausgaben der Regierung."},
)) + "\n"


def _run(tmp_path, monkeypatch, *args: str) -> list[dict[str, object]]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    batch = tmp_path / "batch.jsonl"
    batch.write_text(LINES, encoding="utf-8")
    result = CliRunner().invoke(tag_command, [*args, "--jsonl", str(batch)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_each_line_says_which_words_and_lexicon_entries_gave_its_topics(tmp_path, monkeypatch):
    sport, german = _run(tmp_path, monkeypatch, "--explain")
    why = {r["code"]: r for r in sport["explain"]}
    assert why[SPORT]["given"] is True and why[SPORT]["label"] == "sport"
    assert "striker" in {w.removeprefix("t:") for w, _v in why[SPORT]["words"]}
    assert "goal" in {entry for entry, _w in why[SPORT]["lexicon"]}
    given = [r["code"] for r in sport["explain"] if r["given"]]
    assert given == [t["code"] for t in sport["topics"]]  # what was given is exactly what the line carries
    assert german["explain"] == [] and german["topics"] == []
    assert any("de" in note and "English only" in note for note in german["notes"])  # says why: no topics


def test_without_explain_the_lines_keep_their_plain_shape(tmp_path, monkeypatch):
    for line in _run(tmp_path, monkeypatch):
        assert set(line) == {"id", "countries", "topics", "section"}

"""Configuration: every problem listed at once with file, key, what is wrong and an example."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedpipe.config import find_config, load_settings
from feedpipe.core.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "feedpipe.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_shipped_config_is_valid_and_resolves_paths_against_its_folder():
    settings = load_settings(REPO / "config" / "feedpipe.toml", cwd=Path("/"))
    assert settings.store_url == f"sqlite:///{REPO / 'var' / 'feedpipe.db'}"
    assert settings.public_dir == REPO / "public"
    assert {s.name for s in settings.sources} >= {"world", "articles"}
    assert all(Path(s.location).is_absolute() for s in settings.sources if s.kind == "file")


def test_every_problem_is_reported_at_once_with_file_key_and_example(tmp_path):
    path = write(tmp_path, """
[outlet]
timezone = "Mars/Olympus"
nmae = "typo"

[fetch]
deadline = -1

[[sources]]
name = "a"
type = "rss"

[[sources]]
name = "b"
type = "feed"
url = "not a url"

[[sources]]
name = "c"
type = "file"
path = "missing-folder"
country = "XX"
""")
    with pytest.raises(ConfigError) as err:
        load_settings(path, cwd=tmp_path)
    problems = err.value.problems
    text = "\n".join(problems)
    assert len(problems) >= 6
    assert all(str(path) in p for p in problems)
    assert "[outlet] timezone: 'Mars/Olympus' is not an IANA time zone" in text
    assert f"{path} [outlet] nmae: unknown key; did you mean 'name'?" in text
    assert f"{path} [fetch] deadline: must be a positive number, got -1 - e.g. deadline = 60" in text
    assert "[[sources]] name='a' type: 'rss' is not a source type; use one of feed, page, file" in text
    assert "'not a url' is not an http(s) URL" in text
    assert "missing-folder" not in text  # a missing folder fails its source at ingest, not the whole run
    assert "'XX' is not an ISO 3166-1 alpha-2 country code" in text


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[outlet\nname = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, cwd=tmp_path)


def test_store_override_and_default_lookup(tmp_path):
    assert find_config(None, tmp_path) is None  # no ./config/feedpipe.toml: built-in defaults
    settings = load_settings(None, cwd=tmp_path, store_override="sqlite:///elsewhere.db")
    assert settings.store_url == "sqlite:///elsewhere.db"
    assert settings.public_dir == tmp_path / "public"
    assert settings.sources == ()
    with pytest.raises(ConfigError, match="no such config file"):
        find_config(tmp_path / "nope.toml", tmp_path)


def test_sources_can_live_in_a_file_beside_the_config(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "sources.toml").write_text('[[sources]]\nname = "local"\ntype = "file"\npath = "in"\n')
    settings = load_settings(write(tmp_path, 'sources_file = "sources.toml"\n'), cwd=Path("/"))
    assert [(s.name, s.location) for s in settings.sources] == [("local", str(tmp_path / "in"))]


def test_every_section_reports_problems_in_one_format(tmp_path):
    path = write(tmp_path, """
[paths]
pubic = "out"

[feeds]
max_entrys = 5

[digest]
dya = "friday"

[mail]
transprt = "smtp"

[schedule]
ingest_minute = 5
""")
    with pytest.raises(ConfigError) as err:
        load_settings(path, cwd=tmp_path)
    assert err.value.problems == [
        f"{path} [paths] pubic: unknown key; did you mean 'public'?",
        f"{path} [feeds] max_entrys: unknown key; did you mean 'max_entries'?",
        f"{path} [digest] dya: unknown key; did you mean 'day'?",
        f"{path} [mail] transprt: unknown key; did you mean 'transport'?",
        f"{path} [schedule] ingest_minute: unknown key; did you mean 'ingest_minutes'?",
    ]


def test_a_digest_schedule_key_left_in_schedule_names_the_digest_key(tmp_path):
    path = write(tmp_path, '[schedule]\ndigest_day = "sunday"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, cwd=tmp_path)
    assert err.value.problems == [
        f"{path} [schedule] digest_day: moved; the digest's day is set in [digest] - e.g. [digest] day = \"friday\""
    ]


def test_file_mode_is_an_octal_string_readable_by_the_owner(tmp_path):
    assert load_settings(None, cwd=tmp_path).file_mode == 0o644
    assert load_settings(write(tmp_path, '[paths]\nfile_mode = "0640"\n'), cwd=tmp_path).file_mode == 0o640
    assert load_settings(write(tmp_path, '[paths]\nfile_mode = "600"\n'), cwd=tmp_path).file_mode == 0o600
    for bad, what in (('"0844"', "must be an octal permission string"), ("644", "got 644"),
                      ('"1777"', "must be an octal permission string"), ('"rw-r--r--"', "got 'rw-r--r--'"),
                      ('"0044"', "'0044' does not let the owner read")):
        with pytest.raises(ConfigError) as err:
            load_settings(write(tmp_path, f"[paths]\nfile_mode = {bad}\n"), cwd=tmp_path)
        (problem,) = err.value.problems
        assert problem.startswith(f"{tmp_path / 'feedpipe.toml'} [paths] file_mode: ") and what in problem
        assert problem.endswith(' - e.g. file_mode = "0640"')


def test_digest_header_values_are_cleaned_before_they_are_validated(tmp_path):
    from email.utils import parseaddr

    # a title with NEL (U+0085, a line break to `one_line`) becomes the From name, never the From address
    path = write(tmp_path, '[digest]\ntitle = "Weekly\\u0085<x@evil.example>"\n')
    digest = load_settings(path, cwd=tmp_path).digest
    assert digest.title == "Weekly <x@evil.example>"
    assert parseaddr(digest.from_address) == ("Weekly <x@evil.example>", "weekly@example.org")
    # an address that reads as two once cleaned is refused, not cut down to whichever comes first
    for value in ("Weekly <weekly@example.org>\\u0085<x@evil.example>", "x@evil.example\\u0085<weekly@example.org>"):
        with pytest.raises(ConfigError) as err:
            load_settings(write(tmp_path, f'[digest]\nfrom = "{value}"\n'), cwd=tmp_path)
        (problem,) = err.value.problems
        assert "[digest] from: " in problem and "is not an address" in problem
    good = load_settings(write(tmp_path, '[digest]\nfrom = " Example\\u2028Weekly <weekly@example.org>"\n'),
                         cwd=tmp_path).digest
    assert good.from_address == "Example Weekly <weekly@example.org>"

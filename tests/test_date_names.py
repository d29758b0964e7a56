"""RFC 822 dates with Portuguese, Spanish, French, German or Italian names are read without dateparser,
to the same instant dateparser gives them; every other string still goes to dateparser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dateparser.date import DateDataParser

from feedpipe.extract import dates
from feedpipe.extract.date_names import DAYS, LANGUAGES, MONTHS, named_rfc822
from feedpipe.extract.dates import parse_date


def dateparser_reads(text: str, lang: str) -> datetime | None:
    found = DateDataParser(languages=[lang], settings=dates._DATEPARSER_SETTINGS).get_date_data(text).date_obj
    return dates.to_utc(found)


@pytest.fixture
def no_dateparser(monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dateparser asked")

    monkeypatch.setattr(dates, "_parser", refuse)
    dates._slow.cache_clear()
    yield
    dates._slow.cache_clear()


def test_a_brazilian_pubdate_is_read_without_dateparser(no_dateparser):
    assert parse_date("Seg, 24 Set 2018 19:42:40 -0300") == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)
    assert parse_date("sáb, 29 dez 2018 08:00:00 GMT", language="pt-BR") == datetime(2018, 12, 29, 8, tzinfo=UTC)
    assert parse_date("Mi., 14. Mai 2023 10:00", language="de") == datetime(2023, 5, 14, 10, tzinfo=UTC)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_month_and_day_name_reads_as_dateparser_reads_it(lang):
    for month_name, month in MONTHS[lang].items():
        for day_name in [*DAYS[lang], ""]:
            text = f"{day_name.capitalize() + ', ' if day_name else ''}14 {month_name.capitalize()} 2023 10:05:00 +0200"
            ours = named_rfc822(text, (lang,))
            assert ours is not None and ours.month == month + 1, text
            assert dates.to_utc(ours) == dateparser_reads(text, lang), text


def test_a_name_means_the_same_month_in_every_language_that_knows_it():
    meaning: dict[str, int] = {}
    for lang in LANGUAGES:
        for name, month in MONTHS[lang].items():
            assert meaning.setdefault(name, month) == month, (lang, name)


def test_other_shapes_and_other_languages_go_to_dateparser():
    assert named_rfc822("3 de mayo de 2022", LANGUAGES) is None
    assert named_rfc822("Ma, 14 mei 2023 10:00:00 +0200", LANGUAGES) is None  # Dutch: not in the table
    assert named_rfc822("Seg, 24 Set 2018 19:42:40 BRT", LANGUAGES) is None  # a zone name
    assert named_rfc822("Seg, 31 Fev 2018 19:42:40 -0300", LANGUAGES) is None  # no such day
    assert parse_date("3 de mayo de 2022") == datetime(2022, 5, 3, tzinfo=UTC)
    # a Dutch feed's date is dateparser's to read, in Dutch first
    assert parse_date("14 mei 2023 10:00", language="nl") == datetime(2023, 5, 14, 10, tzinfo=UTC)


def test_the_day_name_and_the_month_name_must_be_of_one_language():
    assert named_rfc822("Seg, 24 Sept 2018 19:42:40 -0300", ("pt",)) is None  # "sept" is not Portuguese
    assert named_rfc822("Seg, 24 Sept 2018 19:42:40 -0300", ("es", "pt")) is None  # "seg" is not Spanish

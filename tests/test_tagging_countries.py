"""Country tagging, one test per trap named in issue 3. Every sentence here was written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedpipe.tagging import Tagger
from feedpipe.tagging.plaintext import split_title


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    # one compiled-gazetteer cache for the whole test session, never the user's own
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


def codes(tags, role: str | None = None) -> set[str]:
    return {c.code for c in tags.countries if role is None or c.role == role}


# --- people who carry a place's name ------------------------------------------------------------


def test_goalkeeper_named_jordan_is_not_the_kingdom(tagger):
    tags = tagger.tag(
        "England keeper shines", "Jordan Pickford made three fine saves as England drew in Leeds."
    )
    assert "JO" not in codes(tags)
    assert "GB" in codes(tags, "focus")


def test_drummer_named_chad_is_not_the_country_and_nor_is_a_paper_chad(tagger):
    tags = tagger.tag(
        "Band announces tour", "Chad Smith said the band would play twelve dates. A hanging chad was found."
    )
    assert "TD" not in codes(tags)


def test_paris_hilton_is_a_person_but_paris_is_france(tagger):
    assert "FR" not in codes(tagger.tag("Heiress opens a hotel", "Paris Hilton cut the ribbon on Tuesday."))
    assert "FR" in codes(
        tagger.tag("Museum reopens", "The museum in Paris reopened after a year of repairs.")
    )


def test_denzel_washington_is_not_the_us_capital(tagger):
    tags = tagger.tag("Actor honoured", "Denzel Washington received a lifetime award from his peers.")
    assert "US" not in codes(tags)


def test_sofia_as_a_first_name_is_not_bulgaria(tagger):
    person = tagger.tag("Activist freed", "Sofia Petrova, a student activist, was released after ten days.")
    assert "BG" not in codes(person)
    city = tagger.tag("Talks in the Balkans", "Ministers met in Sofia on Monday to discuss energy links.")
    assert "BG" in codes(city, "focus")


def test_a_title_before_the_name_means_a_person(tagger):
    tags = tagger.tag("Company results", "Mr Jordan, the finance director, said profits rose.")
    assert "JO" not in codes(tags)


# --- common words -------------------------------------------------------------------------------


def test_turkey_the_bird_is_not_turkey_the_country(tagger):
    bird = tagger.tag("How to roast a turkey", "Turkey needs a low oven. Baste the turkey every half hour.")
    assert "TR" not in codes(bird)
    country = tagger.tag("Turkey raises rates", "Turkey's central bank in Ankara raised its main rate again.")
    assert "TR" in codes(country, "focus")


# --- one name, two countries --------------------------------------------------------------------


def test_georgia_with_atlanta_and_savannah_is_the_us_state(tagger):
    tags = tagger.tag("Georgia goes to the polls", "Queues formed in Atlanta and Savannah as Georgia voted.")
    assert "US" in codes(tags, "focus")
    assert "GE" not in codes(tags)


def test_georgia_with_tbilisi_is_the_country(tagger):
    tags = tagger.tag(
        "Georgia protests", "Thousands marched in Tbilisi against the Georgian government's bill."
    )
    assert codes(tags, "focus") == {"GE"}


def test_georgia_alone_leans_on_the_outlets_country(tagger):
    text = "Georgia will hold a vote on the new budget next week."
    assert "US" in codes(tagger.tag("Budget vote", text, source_country="US"))
    assert "GE" in codes(tagger.tag("Budget vote", text))


def test_st_petersburg_florida_is_in_the_us(tagger):
    tags = tagger.tag("Storm damage", "Roofs were torn off in St. Petersburg, Florida, and in Tampa.")
    assert codes(tags) == {"US"}


def test_st_petersburg_with_the_neva_is_russia(tagger):
    tags = tagger.tag("Summit", "Putin hosted the meeting in St. Petersburg, on the banks of the Neva.")
    assert "RU" in codes(tags, "focus")
    assert "US" not in codes(tags)


def test_florida_uruguay_is_a_town_in_uruguay(tagger):
    tags = tagger.tag("Dairy exports", "The cooperative is based in Florida, Uruguay, north of Montevideo.")
    assert "UY" in codes(tags, "focus")
    assert "US" not in codes(tags)


# --- names inside names -------------------------------------------------------------------------


def test_niger_and_nigeria_are_told_apart(tagger):
    assert codes(tagger.tag("Oil deal", "Nigeria signed the pipeline deal in Abuja.")) == {"NG"}
    assert codes(tagger.tag("Uranium mine", "Niger reopened the uranium mine near Arlit.")) == {"NE"}


def test_guinea_inside_longer_names_is_not_guinea(tagger):
    tags = tagger.tag(
        "Fishing pact", "Guinea-Bissau, Equatorial Guinea and Papua New Guinea signed the fisheries pact."
    )
    assert codes(tags) == {"GW", "GQ", "PG"}


def test_refugees_from_sudan_into_south_sudan_make_both_focus(tagger):
    tags = tagger.tag(
        "Refugees cross into South Sudan",
        "Thousands of families fleeing fighting in Sudan crossed into South Sudan this week. Camps in South "
        "Sudan near Renk are full, and aid agencies in South Sudan asked for more money. South Sudan's "
        "government opened a second crossing.",
    )
    assert {"SD", "SS"} <= codes(tags, "focus")


def test_congo_with_kinshasa_is_the_democratic_republic(tagger):
    assert "CD" in codes(tagger.tag("Mine strike", "Miners in Congo walked out; Kinshasa called for talks."))
    assert "CG" in codes(tagger.tag("Oil field", "Congo's oil output near Brazzaville rose."))
    assert "CD" in codes(tagger.tag("Aid", "The Democratic Republic of the Congo asked for help."))


def test_north_and_south_korea(tagger):
    tags = tagger.tag(
        "Missile test", "North Korea fired a missile; South Korea's military said it fell into the sea."
    )
    assert {"KP", "KR"} <= codes(tags, "focus")
    assert "KP" in codes(tagger.tag("Parade", "Korea held a parade in Pyongyang for Kim Jong Un."))


# --- kinds of evidence --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Burma released the prisoners.", "MM"),
        ("Swaziland held a vote.", "SZ"),
        ("Ivory Coast exports cocoa.", "CI"),
        ("Côte d'Ivoire exports cocoa.", "CI"),
        ("The Czech Republic cut rates.", "CZ"),
        ("Holland won the final.", "NL"),
        ("Belorussia was a Soviet republic.", "BY"),
        ("Dutch farmers protested.", "NL"),
        ("A Kyrgyz delegation arrived.", "KG"),
        ("Shells fell on Kharkov and Odessa.", "UA"),
        ("The Chernigiv region was shelled.", "UA"),
        ("Officials in Kiev denied it.", "UA"),
        ("The Kremlin denied it.", "RU"),
        ("Downing Street declined to comment.", "GB"),
        ("Whitehall officials disagreed.", "GB"),
        ("The Élysée said the president would travel.", "FR"),
        ("Zhongnanhai gave no reply.", "CN"),
        ("Ohio and Texas sued the agency.", "US"),
        ("Quebec and Ontario signed the deal.", "CA"),
    ],
)
def test_names_old_spellings_demonyms_regions_and_metonyms(tagger, text, code):
    assert code in codes(tagger.tag("", text))


def test_datelines_count_even_in_upper_case_wire_copy(tagger):
    tags = tagger.tag("SHARES CLOSE HIGHER", "NEW YORK, March 3 - Stocks rose in late trading.")
    us = next(c for c in tags.countries if c.code == "US")
    assert us.role == "focus" and any(e.startswith("dateline:") for e in us.evidence)
    tags = tagger.tag("Gas talks stall", "MOSCOW (Reuters) - Talks on gas supplies stalled on Friday.")
    assert codes(tags, "focus") == {"RU"}
    assert "JP" in codes(tagger.tag("JAPAN TRADE SURPLUS WIDENS", "The surplus grew in February."), "focus")


def test_lower_case_us_is_a_pronoun(tagger):
    assert "US" not in codes(tagger.tag("Letters", "Write to us and tell us what you think."))


# --- focus and mention --------------------------------------------------------------------------


def test_country_in_headline_is_focus_and_passing_one_is_mention(tagger):
    tags = tagger.tag(
        "Chile's copper output hits record",
        "Chile produced more copper than ever last year, the mining ministry in Santiago said. Chilean "
        "mines ran at full capacity. Most of the metal went to buyers in China.",
    )
    roles = {c.code: c.role for c in tags.countries}
    assert roles["CL"] == "focus"
    assert roles["CN"] == "mention"
    assert tags.countries[0].code == "CL" and tags.countries[0].score == 1.0
    assert any(e.startswith("title:") for e in tags.countries[0].evidence)


SEED_LIKE = (
    "Kyiv accuses Moscow of pulling Belarus into the war",
    "Ukraine said on Sunday that Russian rockets launched from Belarusian soil hit villages in the "
    "Chernihiv region, north of Kyiv. Ukrainian officials said the strikes were meant to drag Belarus into "
    "the conflict. Russia's defence ministry did not comment, and the Kremlin said the Belarusian leader "
    "would meet Vladimir Putin in Moscow. Belarus has let Russian troops use its airfields since the "
    "invasion of Ukraine. Exiled Belarusian opposition figures live in Poland and Lithuania; one athlete "
    "sought asylum during the games in Tokyo. Western sanctions on Minsk were tightened after the election.",
)


def test_seed_like_story_focus_and_mentions(tagger):
    tags = tagger.tag(*SEED_LIKE)
    assert {"UA", "RU", "BY"} <= codes(tags, "focus")
    assert not {"PL", "LT", "JP"} & codes(tags, "focus")
    assert {"medtop:16000000", "medtop:11000000"} <= {t.code for t in tags.topics}


SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_8f26df3e451ccae8.txt"


@pytest.mark.corpus
@pytest.mark.skipif(
    not SEED.is_file(), reason=f"seed file not present at {SEED} (a fresh clone has no ../shared)"
)
def test_the_real_seed_article(tagger):
    title, body = split_title(SEED.read_text(encoding="utf-8"))
    tags = tagger.tag(title, body)
    assert {"UA", "RU", "BY"} <= codes(tags, "focus")
    assert not {"PL", "LT", "JP"} & codes(tags, "focus")
    assert {"medtop:16000000", "medtop:11000000"} <= {t.code for t in tags.topics}


def test_an_outlet_can_add_its_own_aliases(tmp_path):
    (tmp_path / "tagging").mkdir()
    (tmp_path / "tagging" / "aliases.tsv").write_text("Ruritania\tAT\tname\t\n", encoding="utf-8")
    default = Tagger.load(cache_dir=None)
    outlet = Tagger.load(tmp_path, cache_dir=None)
    text = "Ruritania closed its border on Friday."
    assert "AT" not in codes(default.tag("", text))
    assert "AT" in codes(outlet.tag("", text))
    assert "UA" in codes(outlet.tag("", "Kyiv was quiet."))  # the defaults still apply


def test_the_compiled_gazetteer_is_cached_and_rebuilt_when_data_changes(tmp_path):
    cache = tmp_path / "cache"
    (tmp_path / "config" / "tagging").mkdir(parents=True)
    aliases = tmp_path / "config" / "tagging" / "aliases.tsv"
    aliases.write_text("Ruritania\tAT\tname\t\n", encoding="utf-8")
    first = Tagger.load(tmp_path / "config", cache_dir=cache)
    assert len(list(cache.glob("gazetteer-*.pickle"))) == 1
    again = Tagger.load(tmp_path / "config", cache_dir=cache)
    text = ("Ruritania talks", "Ruritania and Georgia met in Tbilisi.")
    assert again.tag(*text) == first.tag(*text)
    aliases.write_text("Ruritania\tAT\tname\t\nGrand Fenwick\tCH\tname\t\n", encoding="utf-8")
    changed = Tagger.load(tmp_path / "config", cache_dir=cache)
    assert "CH" in codes(changed.tag("", "Grand Fenwick declared war."))


@pytest.mark.parametrize(
    "text",
    ["", "   ", "İSTANBUL İzmir ﬁnance", "\x00\x01 –—…", "Kyiv" * 500, "a. b. c.", "U.S.-Soviet ties"],
)
def test_odd_input_never_breaks_the_tagger(tagger, text):
    tags = tagger.tag(text[:40], text)
    assert all(len(c.code) == 2 and c.code.isupper() for c in tags.countries)

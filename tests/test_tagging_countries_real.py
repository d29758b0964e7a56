"""Country tagging on the traps real articles set (issue 12, point 4). Every sentence was written for
these tests; none is copied from an article."""

from __future__ import annotations

import pytest

from feedpipe.tagging import Tagger


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


def roles(tags) -> dict[str, str]:
    return {c.code: c.role for c in tags.countries}


# --- plural and inflected demonyms -------------------------------------------------------------


def test_a_plural_demonym_in_the_headline_names_the_country(tagger):
    tags = tagger.tag("Latvians pull stranded elk from frozen lake", "Firefighters used ropes and a ladder.")
    assert roles(tags) == {"LV": "focus"}


def test_britons_are_the_united_kingdom(tagger):
    tags = tagger.tag("Britons queue for passports", "Offices opened early to clear the backlog before summer.")
    assert roles(tags).get("GB") == "focus"


def test_filipinos_abroad_are_the_philippines(tagger):
    tags = tagger.tag("Remittances hit a record", "Filipinos working overseas sent home more money than ever.")
    assert "PH" in roles(tags)


def test_kyrgyzstanis_are_kyrgyzstan(tagger):
    tags = tagger.tag("Migrant workers return", "Thousands of Kyrgyzstanis came home from building sites.")
    assert "KG" in roles(tags)


# --- agreements, treaties and formats named after a place --------------------------------------


def test_minsk_agreements_do_not_make_a_russia_ukraine_story_about_belarus(tagger):
    tags = tagger.tag(
        "Moscow and Kyiv trade blame over stalled talks",
        "Russia said Ukraine had never meant to honour the Minsk agreements, and Ukrainian officials said "
        "the Minsk agreements had been dead since Russian troops crossed the border. The Minsk accords "
        "were signed in 2015.",
    )
    got = roles(tags)
    assert got["RU"] == "focus" and got["UA"] == "focus"
    assert got.get("BY") in (None, "mention")
    assert tags.countries[0].code in ("RU", "UA")


def test_a_treaty_in_the_headline_is_still_only_a_mention(tagger):
    tags = tagger.tag("Ten years of the Paris Agreement", "Emissions kept rising in most large economies.")
    assert roles(tags).get("FR") in (None, "mention")


def test_normandy_format_and_geneva_conventions_are_not_focus(tagger):
    tags = tagger.tag(
        "Envoys meet again",
        "Advisers in the Normandy format met online, and the Red Cross reminded both armies of the "
        "Geneva Conventions.",
    )
    got = roles(tags)
    assert got.get("FR") in (None, "mention") and got.get("CH") in (None, "mention")


def test_good_friday_agreement_alone_is_not_a_british_story(tagger):
    tags = tagger.tag(
        "Peace deal anniversary marked in Dublin",
        "Irish ministers said the Good Friday Agreement had brought a generation of calm.",
    )
    got = roles(tags)
    assert got["IE"] == "focus"
    assert got.get("GB") in (None, "mention")


def test_the_place_named_for_real_stays_focus_beside_its_treaty(tagger):
    tags = tagger.tag("Talks in Minsk", "Belarus hosted envoys; the old Minsk protocol was not discussed.")
    assert roles(tags)["BY"] == "focus"


# --- institutions named after places -----------------------------------------------------------


def test_georgetown_university_is_not_guyana(tagger):
    tags = tagger.tag(
        "Sanctions will not work, professor says",
        "A professor at Georgetown University said the measures would hurt ordinary people most.",
    )
    assert "GY" not in roles(tags)


def test_a_university_named_after_its_city_does_not_name_the_country(tagger):
    tags = tagger.tag(
        "New battery chemistry",
        "Chemists at the University of Tokyo and at Moscow State University reported the result.",
    )
    assert "JP" not in roles(tags) and "RU" not in roles(tags)


def test_georgetown_with_guyana_around_it_is_still_guyana(tagger):
    tags = tagger.tag("Oil revenue fund grows", "Officials in Georgetown said Guyana's fund doubled this year.")
    assert roles(tags).get("GY") == "focus"


# --- landmarks and regions ---------------------------------------------------------------------


def test_great_barrier_reef_is_australia(tagger):
    tags = tagger.tag("Coral bleaching spreads along the Great Barrier Reef", "Divers saw white coral for miles.")
    assert roles(tags).get("AU") == "focus"


def test_siberia_is_russia(tagger):
    tags = tagger.tag("Wildfires rage", "Smoke from fires in Siberia drifted over several villages.")
    assert "RU" in roles(tags)


def test_crimea_follows_the_packaged_policy_and_an_outlet_can_change_it(tagger, tmp_path):
    tags = tagger.tag("Bridge reopens", "Traffic on the bridge to Crimea resumed after repairs.")
    assert roles(tags).get("UA") == "focus"  # the packaged aliases.tsv: Crimea -> UA
    (tmp_path / "tagging").mkdir()
    (tmp_path / "tagging" / "aliases.tsv").write_text("Crimea\t-\tstop\t\n", encoding="utf-8")
    outlet = Tagger.load(tmp_path, cache_dir=None)
    assert "UA" not in roles(outlet.tag("Bridge reopens", "Traffic on the bridge to Crimea resumed."))


# --- common words and foods ---------------------------------------------------------------------


def test_a_recipe_post_with_a_capitalised_turkey_is_not_turkiye(tagger):
    tags = tagger.tag(
        "Flavours For Every Season",
        "Turkey is the star of our winter menu. Rub it with sage and butter, then leave it in a slow oven "
        "and make the gravy from the pan juices.",
    )
    assert "TR" not in roles(tags)


def test_turkey_with_ankara_and_the_lira_is_the_country(tagger):
    tags = tagger.tag("Turkey cuts rates", "Turkey's central bank in Ankara cut rates as the lira steadied.")
    assert roles(tags).get("TR") == "focus"


def test_foods_and_tableware_named_after_countries_are_not_evidence(tagger):
    tags = tagger.tag(
        "A brunch to remember",
        "Serve French fries and a Danish pastry on your best china plates, with Turkish delight, "
        "Brussels sprouts and Greek yogurt on the side.",
    )
    assert roles(tags) == {}


def test_chile_peppers_are_not_chile(tagger):
    tags = tagger.tag("Slow-cooked beans", "Chile peppers, cumin and beans simmer into a rich sauce.")
    assert "CL" not in roles(tags)

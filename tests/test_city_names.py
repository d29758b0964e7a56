"""City names in other languages: GeoNames' alternate names that the language's dictionary knows as names
count for their country (declined like any name), and words that only look like them do not."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from feedpipe.tagging import Tagger
from feedpipe.tagging.gazetteer import BIG_CITY

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "build_city_names.py"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load(cache_dir=False)


def focus(tagger: Tagger, title: str, body: str) -> list[str]:
    return [c.code for c in tagger.tag(title, body).countries if c.role == "focus"]


@pytest.mark.parametrize(("title", "body", "code"), [
    ("Regierung in Kopenhagen stürzt",
     "Die Ministerpräsidentin trat am Abend zurück, meldeten Medien aus Kopenhagen nach einer langen Sitzung.", "DK"),
    ("Sommet à Copenhague sur le climat",
     "Les ministres se sont retrouvés à Copenhague pour deux jours de discussions sur les émissions.", "DK"),
    ("Cimeira em Estocolmo sobre energia",
     "Os ministros reuniram-se em Estocolmo para discutir o clima e a energia durante dois dias.", "SE"),
    ("Переговори у Стокгольмі тривають",
     "Делегації зустрілися у Стокгольмі, щоб обговорити оборонну угоду. Зустріч триватиме два дні.", "SE"),
    ("Выставка открылась в Стокгольме",
     "В Стокгольме открылась выставка современного искусства, которую посетили тысячи людей.", "SE"),
])
def test_a_city_known_only_from_geonames_gives_its_country(tagger, title, body, code):
    assert focus(tagger, title, body) == [code]


@pytest.mark.parametrize(("title", "body"), [
    ("Врачи спасли пациента", "Хирург сказал, что вена на ноге была повреждена, и пациента оперировали ночью."),
    ("Der Hang rutschte ab", "Nach dem Regen rutschte ein Hang oberhalb des Dorfes ab. Die Feuerwehr war im Einsatz."),
    ("Réunion des syndicats ce matin", "Les syndicats se sont réunis pour préparer la grève de la semaine prochaine."),
    ("Reunión de los sindicatos", "Los sindicatos se reunieron para preparar la huelga de la próxima semana en el país."),
])
def test_common_words_that_look_like_places_are_no_evidence(tagger, title, body):
    assert tagger.tag(title, body).countries == ()


def test_the_island_of_reunion_is_still_named(tagger):
    assert focus(tagger, "Cyclone sur La Réunion",
                 "Le cyclone a frappé l'île de la Réunion dans la nuit, privant des foyers d'électricité.") == ["RE"]


def _tool():
    spec = importlib.util.spec_from_file_location("build_city_names", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_city_files_are_what_the_tool_writes():
    tool = _tool()
    assert tool.BIG_CITY == BIG_CITY  # the same cities as the English gazetteer's places
    missing = [d for d in tool.DICTIONARIES.values() if not (tool.HUNSPELL / f"{d}.dic").is_file()]
    if missing:
        pytest.skip(f"Hunspell dictionaries {missing} not installed (Debian hunspell-*; .ci/run installs them)")
    assert tool.main(["--check"]) == 0, "run python tools/build_city_names.py"

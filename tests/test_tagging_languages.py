"""Tagging beyond English (issue 12, point 5): the language of each article, and its countries in
Russian, Ukrainian, German, French, Spanish and Portuguese. Every article here was written for these
tests; the stories are invented."""

from __future__ import annotations

import pytest

from feedpipe.tagging import Tagger
from feedpipe.tagging.language import detect_language, primary


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


def focus(tags) -> set[str]:
    return {c.code for c in tags.countries if c.role == "focus"}


# (language, headline, body, focus countries) -- three or more per language, with case endings
ARTICLES = [
    ("ru", "Россия и Украина обменялись пленными",
     "Министерство обороны России сообщило, что украинская сторона передала девяносто военнослужащих. "
     "Обмен прошёл при посредничестве ОАЭ, которые уже не раз помогали сторонам договориться.",
     {"RU", "UA"}),
    ("ru", "Германия выделит Молдове новый кредит",
     "Правительство Германии согласилось выделить Кишинёву двести миллионов евро на ремонт дорог. "
     "Немецкие инженеры будут следить за ходом работ до конца следующего года.",
     {"DE", "MD"}),
    ("ru", "Наводнение в Китае",
     "Сильные дожди затопили несколько провинций на юге страны. Китайские власти эвакуировали более "
     "ста тысяч человек, сообщили местные спасатели в пятницу вечером.",
     {"CN"}),
    ("ru", "В Минске прошли переговоры о транзите",
     "Делегации Белоруссии и Литвы обсудили в Минске транзит удобрений. Литовская сторона отказалась "
     "продлить договор, о чём сообщили в белорусском министерстве.",
     {"BY", "LT"}),
    ("uk", "Зеленський зустрівся з прем'єром Польщі",
     "Президент України обговорив у Варшаві постачання зброї та відновлення енергетики. Польська сторона "
     "пообіцяла передати Києву ще кілька систем протиповітряної оборони.",
     {"UA", "PL"}),
    ("uk", "Японія збільшить допомогу Україні",
     "Уряд Японії оголосив про новий пакет допомоги на відбудову мостів і шкіл. Японські компанії "
     "також постачатимуть генератори для лікарень у прифронтових областях.",
     {"JP", "UA"}),
    ("uk", "Вибори у Грузії",
     "У Грузії завершилося голосування на парламентських виборах. Грузинська опозиція заявила про "
     "порушення на дільницях у Тбілісі та закликала до протестів.",
     {"GE"}),
    ("de", "Russland und die Ukraine tauschen Gefangene aus",
     "Das russische Verteidigungsministerium teilte mit, dass die Ukraine neunzig Soldaten übergeben habe. "
     "Vermittelt hatten die Vereinigten Arabischen Emirate, die schon öfter geholfen haben.",
     {"RU", "UA"}),
    ("de", "Frankreichs Präsident besucht Berlin",
     "Der französische Präsident wird am Montag in Berlin erwartet. Themen sind die Verteidigung Europas "
     "und die Lage der Landwirte in beiden Ländern, hieß es aus Paris.",
     {"FR", "DE"}),
    ("de", "Streik legt Häfen in Italien lahm",
     "In Genua und Neapel standen am Dienstag alle Kräne still. Italienische Gewerkschaften fordern höhere "
     "Löhne für die Hafenarbeiter und drohen mit weiteren Streiks im Sommer.",
     {"IT"}),
    ("fr", "La France et l'Allemagne relancent leur coopération",
     "Le président français a reçu le chancelier allemand à l'Élysée mardi pour parler de défense et "
     "d'énergie, deux sujets sur lesquels les deux pays divergent encore.",
     {"FR", "DE"}),
    ("fr", "Le Maroc qualifié pour la finale",
     "Les joueurs marocains ont battu l'Égypte deux buts à un au terme d'un match tendu. Le Maroc "
     "affrontera le Sénégal dimanche soir pour le titre continental.",
     {"MA", "EG"}),
    ("fr", "Inondations meurtrières au Brésil",
     "Des pluies torrentielles ont frappé le sud du Brésil ce week-end. Les autorités brésiliennes "
     "comptent des dizaines de disparus et des milliers de sinistrés.",
     {"BR"}),
    ("es", "Rusia y Ucrania intercambian prisioneros",
     "El Ministerio de Defensa ruso informó de que Ucrania entregó a noventa soldados en un canje. "
     "Lo mediaron los Emiratos Árabes Unidos, que ya han ayudado en otras ocasiones.",
     {"RU", "UA"}),
    ("es", "México y Estados Unidos firman un acuerdo sobre el agua",
     "Los gobiernos de México y de Estados Unidos acordaron repartir el caudal del río durante la sequía. "
     "Los agricultores mexicanos celebraron el pacto, aunque piden más garantías.",
     {"MX", "US"}),
    ("es", "Elecciones en Colombia",
     "Los colombianos votaron este domingo en una jornada tranquila. El recuento en Bogotá terminó antes de "
     "la medianoche y los resultados se conocerán el lunes por la mañana.",
     {"CO"}),
    ("pt", "Brasil e Argentina assinam acordo comercial",
     "O presidente brasileiro viajou a Buenos Aires para assinar o acordo com o governo argentino. "
     "O texto reduz tarifas sobre carros, trigo e vinho a partir do próximo ano.",
     {"BR", "AR"}),
    ("pt", "Portugal recebe cimeira sobre os oceanos",
     "Lisboa acolhe esta semana delegações de cinquenta países para discutir a pesca e a poluição. O "
     "governo português quer aprovar uma declaração comum até sexta-feira.",
     {"PT"}),
    ("pt", "Angola aumenta produção de petróleo",
     "A petrolífera estatal angolana anunciou um novo campo ao largo de Luanda. A produção deverá "
     "crescer dez por cento até ao fim do ano, segundo o ministério.",
     {"AO"}),
]


@pytest.mark.parametrize(("lang", "title", "body", "expected"), ARTICLES, ids=[a[1][:30] for a in ARTICLES])
def test_focus_countries_beyond_english(tagger, lang, title, body, expected):
    tags = tagger.tag(title, body)
    assert tags.language == lang
    assert focus(tags) == expected


def test_case_endings_are_evidence_too(tagger):
    # genitive, dative, instrumental: России, Украине, Россией; Києву, Польщі; Frankreichs
    ru = tagger.tag("Переговоры", "Делегация отправилась к Украине, а затем встретилась с Россией и Турцией "
                    "для обсуждения поставок зерна по Черному морю в этом году.")
    assert {"UA", "RU", "TR"} <= {c.code for c in ru.countries}
    de = tagger.tag("Wahlkampf", "Die Zukunft Frankreichs und Spaniens stand im Mittelpunkt der Debatte im "
                    "Parlament, die bis in die Nacht dauerte.")
    assert {"FR", "ES"} <= {c.code for c in de.countries}


def test_the_minsk_agreements_stay_a_mention_in_russian_and_ukrainian(tagger):
    ru = tagger.tag("Кремль обвинил Киев", "Москва заявила, что Украина никогда не собиралась выполнять "
                    "Минские соглашения, подписанные много лет назад.")
    assert "BY" not in focus(ru) and {"RU", "UA"} <= focus(ru)
    uk = tagger.tag("Київ відповів Москві", "Україна нагадала, що Росія порушила Мінські угоди задовго до "
                    "повномасштабного вторгнення.")
    assert "BY" not in focus(uk) and {"RU", "UA"} <= focus(uk)


def test_other_languages_get_no_english_topic_guesses_and_say_why(tagger):
    tags = tagger.tag(*ARTICLES[7][1:3])  # German, about prisoners of war
    assert tags.topics == ()
    assert any("topic" in note and "'de'" in note for note in tags.notes)


def test_english_is_tagged_as_before_and_says_so(tagger):
    tags = tagger.tag("Central bank raises rates", "The central bank in Ankara raised its main interest rate "
                      "again on Thursday to fight inflation, its third rise this year.")
    assert tags.language == "en" and tags.topics
    assert "TR" in focus(tags)


def test_a_headline_too_short_to_judge_keeps_the_declared_language(tagger):
    assert tagger.tag("Ein Albtraum", "", language="de-AT").language == "de-AT"
    assert tagger.tag("Ein Albtraum", "").language is None  # neither known: tagged as English would be


def test_the_text_wins_over_a_feed_that_declares_every_item_english():
    lang = detect_language("Rusia y Ucrania intercambian prisioneros",
                           "El Ministerio de Defensa informó de que se entregaron noventa soldados en un canje.",
                           declared="en-US")
    assert lang.code == "es" and lang.tag == "es" and "declares en-US" in lang.reason


def test_a_declared_tag_is_kept_when_the_text_agrees():
    lang = detect_language("Portugal recebe cimeira", ARTICLES[17][2], declared="pt-PT")
    assert (lang.code, lang.tag, lang.source) == ("pt", "pt-PT", "detected")


def test_garbage_in_the_declared_language_is_ignored():
    assert primary("not a language!") is None and primary("pt_BR") == "pt"
    assert detect_language("Hi", "", declared="<script>").tag is None


def test_a_language_without_country_names_says_so(tagger):
    tags = tagger.tag("Nuntius", "Imperator cum legionibus trans flumen iter fecit et castra prope oppidum "
                      "posuit, ubi milites per totam hiemem manserunt et frumentum ex agris collegerunt.")
    assert tags.language == "la" and tags.countries == () and tags.topics == ()
    assert any("no country names" in note for note in tags.notes)


JAPANESE = [  # written without spaces: names are found inside runs of text, the longest one winning
    ("ロシアとウクライナが捕虜を交換", "ロシア国防省によると、ウクライナ側は兵士九十人を引き渡した。交換は数か月ぶりとなる。", {"RU", "UA"}),
    ("インドネシアで強い地震", "インドネシアのスマトラ島沖で強い地震があり、沿岸部に津波警報が出された。被害の情報はまだない。", {"ID"}),
    ("韓国と北朝鮮の協議", "韓国政府は北朝鮮との実務協議を来月ソウルで開くと発表した。議題は離散家族の再会だという。", {"KR", "KP"}),
]


@pytest.mark.parametrize(("title", "body", "expected"), JAPANESE, ids=["ru-ua", "id", "kr-kp"])
def test_focus_countries_in_japanese(tagger, title, body, expected):
    tags = tagger.tag(title, body)
    assert tags.language == "ja" and focus(tags) == expected


def test_rice_is_not_america_in_japanese(tagger):
    tags = tagger.tag("新米の価格が上昇", "今年の新米は猛暑の影響で収穫量が減り、お米の値段が上がっている。農家は対応に追われている。")
    assert "US" not in {c.code for c in tags.countries}

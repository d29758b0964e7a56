"""The Tagger: gazetteer, taxonomy and section rules compiled once, then `tag()` per article."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from feedpipe.core.model import CountryTag, Tags
from feedpipe.tagging import gazetteer, topics
from feedpipe.tagging.countries import Prepared, tag_countries
from feedpipe.tagging.countries_i18n import build_language
from feedpipe.tagging.gazetteer import Gazetteer
from feedpipe.tagging.language import detect_language
from feedpipe.tagging.resources import DataFiles
from feedpipe.tagging.scanner import Scanner
from feedpipe.tagging.sections import SectionRules
from feedpipe.tagging.topic_fast import FastModel
from feedpipe.tagging.topic_model import MODEL_FILE, TopicModel, TopicScore, features


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feedpipe"


@dataclass(frozen=True)
class Tagger:
    gazetteer: gazetteer.Gazetteer
    taxonomy: topics.Taxonomy
    sections: SectionRules
    scanner: Scanner
    files: DataFiles | None = None  # where the per-language gazetteers are read from, on first use
    model: TopicModel | None = None  # the trained topic model (topic_model.py); None: lexicon only
    by_language: dict[str, Gazetteer | None] = field(default_factory=dict, compare=False, repr=False)
    fast: dict[int, FastModel] = field(default_factory=dict, compare=False, repr=False)  # id(model) -> it

    def fast_model(self, model: TopicModel) -> FastModel:
        """The model's weights laid out for tag() (topic_fast.py), built once per model."""
        fast = self.fast.get(id(model))
        if fast is None or fast.model is not model:
            fast = self.fast[id(model)] = FastModel.of(model)
        return fast

    def gazetteer_for(self, lang: str) -> Gazetteer | None:
        """The country gazetteer for a language other than English, built once; None if none is known."""
        if lang not in self.by_language:
            files = self.files or DataFiles.for_config(None)
            self.by_language[lang] = build_language(files, lang, self.gazetteer)
        return self.by_language[lang]

    @classmethod
    def load(cls, config_dir: Path | None = None, *, cache_dir: Path | None | bool = True) -> Tagger:
        """Build from the packaged data files, plus `config_dir/tagging/` when given (outlet overrides).

        `cache_dir`: where compiled gazetteer tables are kept between runs; True means the user's cache
        folder ($XDG_CACHE_HOME/feedpipe or ~/.cache/feedpipe), None or False means build from scratch.
        """
        files = DataFiles.for_config(config_dir)
        if cache_dir is True:
            cache_dir = default_cache_dir()
        gz, tax = gazetteer.build(files, cache_dir or None), topics.build(files)
        model_path = next((d / MODEL_FILE for d in reversed(files.dirs) if (d / MODEL_FILE).is_file()), None)
        model = TopicModel.load(model_path) if model_path else None
        tagger = cls(gz, tax, SectionRules.load(files), Scanner.combine(gz, tax), files, model)
        if model is not None:
            tagger.fast_model(model)
        return tagger

    def tag(
        self,
        title: str,
        text: str,
        *,
        url: str | None = None,
        categories: tuple[str, ...] = (),
        source_country: str | None = None,
        subtopics: bool = True,
        language: str | None = None,
    ) -> Tags:
        """`language`: what the source declares (e.g. "pt-BR"); the text's own language is detected and
        wins when the text is long enough to tell."""
        title, text = title or "", text or ""
        lang = detect_language(title, text, language)
        section = self.sections.section(tuple(categories), url)
        if lang.code not in (None, "en"):
            return self._tag_other(title, text, lang.code, lang.tag, lang.reason, source_country, section)
        art = Prepared.of(self.gazetteer, title, text)
        geo_hits, tally = self.scanner.scan(art.low, art.full, art.title_end, art.lead_end)
        countries = tag_countries(self.gazetteer, art, source_country, geo_hits)
        scores = topics.scores_of_tally(self.taxonomy, tally)  # scores_from_tally's, quicker
        counts = topics.TallyCounts(tally)
        focus = {c.code for c in countries if c.role == "focus"}
        calibrated = None
        if self.model is not None:  # model.given(features(...), scores), computed faster (topic_fast.py)
            calibrated = self.fast_model(self.model).given(
                art.low, art.title_end, art.lead_end, art.body_start + 1 + self.model.lead_chars, scores
            )
        return Tags(countries=countries,
                    topics=topics.pick_topics(self.taxonomy, scores, counts, focus, subtopics, calibrated),
                    section=section, language=lang.tag, notes=(lang.reason,))

    def explain_topics(self, title: str, text: str) -> tuple[tuple[TopicScore, tuple[tuple[str, float], ...]], ...]:
        """Every topic with its calibrated score and why, best first: the model's words (in the
        TopicScore) and the lexicon entries that counted for it. Only those >= the threshold are given."""
        if detect_language(title or "", text or "", None).code not in (None, "en"):
            return ()  # as tag(): no topics for other languages
        art = Prepared.of(self.gazetteer, title or "", text or "")
        _geo, tally = self.scanner.scan(art.low, art.full, art.title_end, art.lead_end)
        scores, counts = topics.scores_from_tally(self.taxonomy, tally)
        if self.model is None:
            return ()
        feats = features(art.low, art.title_end, art.lead_end, art.body_start + 1 + self.model.lead_chars)
        ranked = self.model.score(feats, scores, explain=True) if feats or any(scores.values()) else []
        return tuple((t, topics.lexicon_terms(self.taxonomy, counts, t.code)) for t in ranked)

    def _tag_other(self, title: str, text: str, code: str, tag: str | None, reason: str,
                   source_country: str | None, section: str | None) -> Tags:
        """A text not in English: countries from that language's gazetteer; no topics, since the topic
        lexicon is English and English guesses on other languages are noise."""
        gz = self.gazetteer_for(code)
        notes = [reason, f"topics: none, there is no topic lexicon or model for language {code!r} (English only)"]
        countries: tuple[CountryTag, ...] = ()
        if gz is None:
            notes.append(f"countries: none, there are no country names for language {code!r}")
        else:
            countries = tag_countries(gz, Prepared.of(gz, title, text), source_country)
        return Tags(countries=countries, topics=(), section=section, language=tag, notes=tuple(notes))

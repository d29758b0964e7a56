"""The Tagger: gazetteer, taxonomy and section rules compiled once, then `tag()` per article."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from feedpipe.core.model import Tags
from feedpipe.tagging import gazetteer, topics
from feedpipe.tagging.countries import Prepared, tag_countries
from feedpipe.tagging.resources import DataFiles
from feedpipe.tagging.scanner import Scanner
from feedpipe.tagging.sections import SectionRules
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
    model: TopicModel | None = None  # the trained topic model (topic_model.py); None: lexicon only

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
        return cls(gz, tax, SectionRules.load(files), Scanner.combine(gz, tax), model)

    def tag(
        self,
        title: str,
        text: str,
        *,
        url: str | None = None,
        categories: tuple[str, ...] = (),
        source_country: str | None = None,
        subtopics: bool = True,
    ) -> Tags:
        art = Prepared.of(self.gazetteer, title or "", text or "")
        geo_hits, topic_hits = self.scanner.split(art.low)
        countries = tag_countries(self.gazetteer, art, source_country, geo_hits)
        scores, counts = topics.score_topics(
            self.taxonomy, art.full, art.low, art.title_end, art.lead_end, topic_hits
        )
        focus = {c.code for c in countries if c.role == "focus"}
        calibrated = None
        if self.model is not None:
            feats = features(art.low, art.body_start + 1 + self.model.lead_chars)
            calibrated = self.model.given(feats, scores) if feats or any(scores.values()) else []
        return Tags(
            countries=countries,
            topics=topics.pick_topics(self.taxonomy, scores, counts, focus, subtopics, calibrated),
            section=self.sections.section(tuple(categories), url),
        )

    def explain_topics(self, title: str, text: str) -> tuple[tuple[TopicScore, tuple[tuple[str, float], ...]], ...]:
        """Every topic with its calibrated score and why, best first: the model's words (in the
        TopicScore) and the lexicon entries that counted for it. Only those >= the threshold are given."""
        art = Prepared.of(self.gazetteer, title or "", text or "")
        _geo, hits = self.scanner.split(art.low)
        scores, counts = topics.score_topics(self.taxonomy, art.full, art.low, art.title_end, art.lead_end, hits)
        if self.model is None:
            return ()
        feats = features(art.low, art.body_start + 1 + self.model.lead_chars)
        ranked = self.model.score(feats, scores, explain=True) if feats or any(scores.values()) else []
        return tuple((t, topics.lexicon_terms(self.taxonomy, counts, t.code)) for t in ranked)

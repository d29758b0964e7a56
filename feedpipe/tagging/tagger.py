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


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feedpipe"


@dataclass(frozen=True)
class Tagger:
    gazetteer: gazetteer.Gazetteer
    taxonomy: topics.Taxonomy
    sections: SectionRules
    scanner: Scanner

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
        return cls(gz, tax, SectionRules.load(files), Scanner.combine(gz, tax))

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
        return Tags(
            countries=countries,
            topics=topics.pick_topics(self.taxonomy, scores, counts, focus, subtopics),
            section=self.sections.section(tuple(categories), url),
        )

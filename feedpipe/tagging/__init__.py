"""Tag articles by country (ISO 3166-1 alpha-2, focus or mention), IPTC topic and section.

    from feedpipe.tagging import Tagger
    tagger = Tagger.load()            # or Tagger.load(config_dir) for an outlet's overrides
    tags = tagger.tag(title, text, url=url, categories=cats, source_country="GB")
"""

from feedpipe.tagging.tagger import Tagger

__all__ = ["Tagger"]

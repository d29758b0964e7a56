"""Tag articles by country (ISO 3166-1 alpha-2, focus or mention), IPTC topic and section.

Usage: ``tagger = Tagger.load()`` once (``Tagger.load(config_dir)`` adds an outlet's overrides from
``config_dir/tagging/``), then ``tagger.tag(title, text, url=..., categories=..., source_country=...)``
per article, which returns a ``feedpipe.model.Tags``.
"""

from feedpipe.tagging.tagger import Tagger

__all__ = ["Tagger"]

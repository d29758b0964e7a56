"""The topic model's scoring as Tagger.tag runs it: what `model.given(features(...), lex)` gives, computed
with less work per article (issue 12, speed). topic_model.py stays the definition (training, --explain).

Why it is faster, not different:
- The model's sum over an article's features is a sum of integers (see topic_model.pack): it does not
  depend on the features' order, only on which distinct features the article has. So the three kinds of
  feature (headline words, words up to `end`, pairs of neighbouring words of the first sentence) are each
  collected in a set instead of one de-duplicated list in reading order.
- Each kind is looked up in a table of its own, built once from the model (`FastModel.of`): the weights
  of "t:" + word keyed by the bare word (no "t:" + word string is made per article), single words, and
  pairs. The kinds cannot collide (a word has no space, and a headline feature holds a ":" that fold()
  never leaves in a text). Inside tag(), where the rest of the tagger keeps evicting the model's 4 MB
  of weights, each lookup is mostly cache misses; fewer strings made and hashed, and no list of them,
  is what is left to save. (Copying each table's keys and weights side by side, in name order or
  shortest first, made no measurable difference in simulated cache misses and cost 25 ms at load.)
- Each word is split out of the text once and shared by the three kinds (see `given`).
The plain path runs whenever that argument could fail: a "t:" or LONG in the text, or more features than
topic_model.MAX_FEATURES (where the plain path keeps only the first ones in reading order). A long article
(features() ends with LONG) is scored at the model's long-article temperature, as model.given does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from feedpipe.tagging.topic_model import (
    LONG,
    MAX_FEATURES,
    TopicModel,
    features,
    reads_past,
    softmax,
)

_TITLE_MARK = "t:"  # what features() puts before a headline word


@dataclass(frozen=True, slots=True)
class FastModel:
    model: TopicModel
    title: dict[str, int]  # headline word -> the packed weights of "t:" + word
    words: dict[str, int]  # single word -> its packed weights
    pairs: dict[str, int]  # "word word" -> its packed weights
    plain: bool = False  # True: the model's own path runs (the self-check in `of` found a difference)

    @classmethod
    def of(cls, model: TopicModel) -> FastModel:
        """The model's weights split by feature kind (by the shape of each feature's name, whatever the
        weights are): the same key and weight objects, in three smaller tables."""
        title: dict[str, int] = {}
        words: dict[str, int] = {}
        pairs: dict[str, int] = {}
        for f, v in model.packed.items():
            if f.startswith(_TITLE_MARK):
                title[f[len(_TITLE_MARK) :]] = v
            elif " " in f:
                pairs[f] = v
            else:
                words[f] = v
        fast = cls(model, title, words, pairs)
        # a safety net for when topic_model.py changes what it reads or how it scores and this file is not
        # brought along (the tests compare far more): two articles, one long, one a feed item
        if any(fast.given(*args) != _plain_given(model, *args) for args in _self_check_articles(model)):
            return cls(model, {}, {}, {}, plain=True)
        return fast

    def given(
        self, low: str, title_end: int, lead_end: int, end: int, lex: Mapping[str, float]
    ) -> list[tuple[str, float]]:
        """What Tagger.tag gives from the model: `model.given(features(low, title_end, lead_end, end), lex)`
        when there are features or lexicon scores, else no topic (the same values, to the bit)."""
        m = self.model
        if self.plain:
            return _plain_given(m, low, title_end, lead_end, end, lex)
        title = low[: title_end + 1].split()
        if title_end < lead_end < end - 1 and _cut_between_words(low, title_end + 1) and _cut_between_words(
            low, lead_end + 1
        ):  # the usual case: each word split once (and hashed once), shared by the three kinds
            lead = title + low[title_end + 1 : lead_end + 1].split()
            words = lead + low[lead_end + 1 : end].split()
        else:
            words = low[:end].split()
            lead = low[: lead_end + 1].split() if lead_end < end else words
        if (
            len(words) + len(title) + len(lead) >= MAX_FEATURES  # (LONG may follow them)
            or low.find(_TITLE_MARK, 0, max(end, lead_end + 1)) >= 0
            or low.find(LONG, 0, max(end, lead_end + 1)) >= 0
        ):
            return _plain_given(m, low, title_end, lead_end, end, lex)
        if not words and not title and len(lead) < 2 and not any(lex.values()):
            return []  # no feature and no lexicon score: as Tagger.tag did, no model call
        hits = [*filter(None, map(self.title.get, set(title)))]
        hits += filter(None, map(self.words.get, set(words)))
        hits += filter(None, map(self.pairs.get, set(map(" ".join, zip(lead, lead[1:], strict=False)))))
        long = (bool(words) or bool(title) or len(lead) > 1) and reads_past(low, end)  # features() adds LONG
        if long and self.words.get(LONG):  # (LONG has no weights in the models train_topics.py makes)
            hits.append(self.words[LONG])
        return m.given_of(softmax(m.logits_of_hits(hits, lex), m.temperature_for(long=long)), lex)


def _plain_given(
    model: TopicModel, low: str, title_end: int, lead_end: int, end: int, lex: Mapping[str, float]
) -> list[tuple[str, float]]:
    """The definition: what Tagger.tag gave before this file."""
    feats = features(low, title_end, lead_end, end)
    return model.given(feats, lex) if feats or any(lex.values()) else []


def _self_check_articles(
    model: TopicModel,
) -> list[tuple[str, int, int, int, Mapping[str, float]]]:
    """A long article and a feed item laid out as countries.Prepared does (folded, one pad character,
    headline, two blanks, body), with lexicon scores for every topic the model knows."""
    out: list[tuple[str, int, int, int, Mapping[str, float]]] = []
    title = "minister wins the vote on the budget as markets rally"
    lex = {c: 1.5 + i for i, c in enumerate((*model.classes, *model.lexicon_only))}
    for body in ("the finance minister said the plan would cut the deficit  " * 200, "the vote was close  "):
        low = f" {title}  {body} "
        start = len(title) + 2
        out.append((low, len(title), start + 60, start + 1 + model.lead_chars, lex))
    return out


def _cut_between_words(text: str, i: int) -> bool:
    """Does cutting `text` at `i` leave every word whole, so that text[:i].split() + text[i:].split() is
    text.split()? (Python's split() and isspace() agree on what a space is.)"""
    return 0 < i < len(text) and (text[i - 1].isspace() or text[i].isspace())



"""A trained topic model (naive Bayes over words and word pairs) combined with the topic lexicon.

Why: on a headline and one or two sentences the lexicon alone is wrong about one time in three (a film
title with "Rain" in it is weather). The model learned, from labelled news (tools/train_topics.py), how
the words of short items go with the IPTC top-level topics that the data has; the lexicon's per-topic
scores are inputs of the model too, and the lexicon alone keeps the topics the data lacks (weather,
disaster, conflict, labour).

What it reads: the headline and the first `lead_chars` characters of the body (news puts its topic at
the top; the lexicon still reads the whole article), as lower-case words and pairs of neighbouring words.
Scores are calibrated probabilities: the model's by a temperature and the lexicon-only topics' by a
logistic curve over the lexicon's evidence, both fitted on held-out folds. A topic below `threshold` is
not given. Everything is plain Python over dicts and tuples: no numpy at run time.
"""

from __future__ import annotations

import gzip
import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

MODEL_FILE = "topic_model.json.gz"  # gzip of the canonical JSON (4.3 MB of text, 0.7 MB packed)
# Packed weights: every class's weight of a feature in one integer, 64 bits per class, in units of
# 1/10,000 plus an offset that keeps each field positive, so that summing the integers of an article's
# features (one C-level `sum`) sums all classes at once; `struct` unpacks the fields.
_WORD_UNIT, _WORD_BIAS = 10_000, 1 << 20
_LEX_UNIT, _LEX_BIAS, _LEX_STEPS = 1_000, 1 << 16, 10  # lexicon: log1p(score) counted in tenths


def pack(weights: Sequence[float], unit: int = _WORD_UNIT, bias: int = _WORD_BIAS) -> int:
    """A feature's class weights as one integer (see above)."""
    fmt = f"<{len(weights)}Q"
    return int.from_bytes(struct.pack(fmt, *[round(w * unit) + bias for w in weights]), "little")


def read_model_text(path: Path) -> str:
    """The canonical JSON text of a model file (stored gzip-compressed)."""
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def model_file_bytes(text: str) -> bytes:
    """What a model file holds for `text`: gzip with no timestamp, so the same model is the same bytes."""
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


@dataclass(frozen=True)
class TopicScore:
    code: str
    score: float  # calibrated probability that this topic is right for the article
    words: tuple[tuple[str, float], ...] = ()  # the model's strongest words for it, (feature, log-odds)
    source: str = "model"  # "model" (learned topics) or "lexicon" (topics only the lexicon knows)


@dataclass(frozen=True)
class TopicModel:
    classes: tuple[str, ...]  # IPTC codes the data has, in weight order
    prior: tuple[float, ...]  # log prior per class, centred
    weights: Mapping[str, Sequence[float]]  # feature -> centred log-likelihood per class (hundredths)
    lexicon: dict[str, tuple[float, ...]]  # IPTC code -> weight per class of log1p(lexicon score)
    temperature: float
    lexicon_curve: tuple[float, float, float]  # (share, log1p(score), bias): P(lexicon-only topic right)
    lexicon_only: tuple[str, ...]  # topics only the lexicon gives
    threshold: float
    lead_chars: int
    packed: Mapping[str, int] = field(default_factory=dict)  # feature -> pack(weights[feature])
    lexicon_packed: Mapping[str, int] = field(default_factory=dict)  # code -> pack(lexicon[code], ...)

    def __post_init__(self) -> None:
        if not self.packed and self.weights:
            object.__setattr__(self, "packed", {f: pack(w) for f, w in self.weights.items()})
        if not self.lexicon_packed and self.lexicon:
            lp = {c: pack(w, _LEX_UNIT, _LEX_BIAS) for c, w in self.lexicon.items()}
            object.__setattr__(self, "lexicon_packed", lp)

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        try:
            doc = json.loads(read_model_text(path))
            return cls.from_json(doc)
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"topic model {path} is unreadable ({exc}); rebuild it with tools/train_topics.py"
            ) from None

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> TopicModel:
        def floats(v: object) -> tuple[float, ...]:
            if not isinstance(v, list):
                raise TypeError("expected a list of numbers")
            return tuple(float(x) for x in v)

        def table(v: object) -> dict[str, tuple[float, ...]]:
            if not isinstance(v, dict):
                raise TypeError("expected an object")
            return {str(k): floats(w) for k, w in v.items()}

        weights = doc["weights"]
        if not isinstance(weights, dict):
            raise TypeError("weights: expected an object")

        classes = doc["classes"]
        only = doc["lexicon_only"]
        curve = floats(doc["lexicon_curve"])
        if not isinstance(classes, list) or not isinstance(only, list) or len(curve) != 3:
            raise TypeError("classes, lexicon_only and lexicon_curve have the wrong shape")
        return cls(
            classes=tuple(str(c) for c in classes),
            prior=floats(doc["prior"]),
            weights=weights,  # lists of numbers as parsed: converted only when explained
            lexicon=table(doc["lexicon"]),
            temperature=float(str(doc["temperature"])),
            lexicon_curve=(curve[0], curve[1], curve[2]),
            lexicon_only=tuple(str(c) for c in only),
            threshold=float(str(doc["threshold"])),
            lead_chars=int(str(doc["lead_chars"])),
        )

    def logits(self, feats: list[str], lex: Mapping[str, float]) -> list[float]:
        """Raw class scores (before the temperature): prior + words + lexicon (log1p of its score)."""
        hits = list(filter(None, map(self.packed.get, feats)))
        total, off = sum(hits), len(hits) * _WORD_BIAS
        lp = self.lexicon_packed
        for code, s in lex.items():
            if s > 0 and code in lp:
                steps = round(math.log1p(s) * _LEX_STEPS)
                total += lp[code] * steps
                off += steps * _LEX_BIAS
        k = len(self.prior)
        fields = struct.unpack(f"<{k}Q", total.to_bytes(8 * k, "little")) if total else (off,) * k
        return [p + (v - off) / _WORD_UNIT for p, v in zip(self.prior, fields, strict=True)]

    def probabilities(self, feats: list[str], lex: Mapping[str, float]) -> list[float]:
        return softmax(self.logits(feats, lex), self.temperature)

    def lexicon_confidence(self, lex: Mapping[str, float]) -> dict[str, float]:
        """Calibrated confidence for the topics only the lexicon knows (weather, disaster, ...)."""
        total = sum(s for s in lex.values() if s > 0)
        a, b, c = self.lexicon_curve
        out: dict[str, float] = {}
        for code in self.lexicon_only:
            s = lex.get(code, 0.0)
            if s > 0:
                out[code] = sigmoid(a * s / total + b * math.log1p(s) + c)
        return out

    def given(self, feats: list[str], lex: Mapping[str, float]) -> list[tuple[str, float]]:
        """The topics at or over the threshold, (code, calibrated score), best first: what an article gets."""
        cut = self.threshold
        out = [(c, p) for c, p in zip(self.classes, self.probabilities(feats, lex), strict=True) if p >= cut]
        out += [(c, q) for c, q in self.lexicon_confidence(lex).items() if q >= cut]
        out.sort(key=lambda cs: (-cs[1], cs[0]))
        return out

    def score(self, feats: list[str], lex: Mapping[str, float], *, explain: bool = False) -> list[TopicScore]:
        """Every topic with its calibrated score, best first (the caller keeps those >= threshold)."""
        probs = self.probabilities(feats, lex)
        out = [TopicScore(c, p) for c, p in zip(self.classes, probs, strict=True)]
        out += [TopicScore(c, q, source="lexicon") for c, q in self.lexicon_confidence(lex).items()]
        out.sort(key=lambda t: (-t.score, t.code))
        if explain:
            out = [
                TopicScore(t.code, t.score, self.top_words(feats, t.code), t.source)
                if t.source == "model"
                else t
                for t in out
            ]
        return out

    def top_words(self, feats: list[str], code: str, n: int = 6) -> tuple[tuple[str, float], ...]:
        """The features that pushed `code` up the most, with their log-odds against the other topics."""
        i = self.classes.index(code)
        seen: dict[str, float] = {}
        for f in feats:
            w = self.weights.get(f)
            if w is not None and f not in seen:
                seen[f] = w[i] - max(v for j, v in enumerate(w) if j != i)
        best = sorted(seen.items(), key=lambda kv: -kv[1])
        return tuple((f, round(v, 2)) for f, v in islice(best, n) if v >= 0.1)


def features(low: str, end: int) -> list[str]:
    """Words and neighbouring word pairs of the folded text up to `end` (headline plus lead), each once."""
    toks = low[:end].split()
    pairs = map(" ".join, zip(toks, toks[1:], strict=False))
    return list(dict.fromkeys([*toks, *pairs]))


def softmax(xs: list[float], temperature: float = 1.0) -> list[float]:
    if not xs:
        return []
    m = max(xs)
    es = [math.exp((x - m) / temperature) for x in xs]
    z = sum(es)
    return [e / z for e in es]


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)

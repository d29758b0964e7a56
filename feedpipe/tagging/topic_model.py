"""A trained topic model (multinomial logistic regression) combined with the topic lexicon.

Why: on a headline and one or two sentences the lexicon alone is wrong about one time in three (a film
title with "Rain" in it is weather). The model learned, from labelled news (tools/train_topics.py), how
the words of short items go with the IPTC top-level topics that the data has; the lexicon's per-topic
scores are inputs of the model too, and the lexicon alone keeps the topics the data lacks (weather,
disaster, conflict, labour).

What it reads (`features`): the headline's words twice (once marked "t:", since a headline word says more
than a body word), the words of the body's first `lead_chars` characters, and the pairs of neighbouring
words of the headline and the first sentence (news puts its topic at the top; the lexicon still reads the
whole article). Each feature counts once. Scores are calibrated probabilities: the model's by a
temperature and the lexicon-only topics' by a logistic curve over the lexicon's evidence, both fitted on
held-out folds. The temperature depends on the article's shape: a feed item (headline and a sentence or
two, all of it read) and a long article (read only up to `lead_chars`; `features` ends with the marker
`LONG`) are not equally sure of the same logits, so each shape has its own, fitted on its own held-out items. A topic below `threshold` is not given. Everything is plain Python at run time: no numpy.

The file (`MODEL_FILE`, gzip with no timestamp) is a magic line, one line of JSON (classes, prior,
lexicon weights, calibration, ...), the feature names joined by newlines, then every feature's packed
weights as fixed-width little-endian integers (see `pack`), so loading is one split and one
`int.from_bytes` per feature rather than parsing numbers.
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

MODEL_FILE = "topic_model.bin.gz"
MAGIC = b"feedpipe-topic-model 2\n"  # format 2: 32-bit fields
# Packed weights: every class's weight of a feature in one integer, 32 bits per class, in units of
# 1/1,000 plus an offset that keeps each field positive, so that summing the integers of an article's
# features (one C-level `sum`) sums all classes at once; `struct` unpacks the fields. A field holds
# 2**32 / 2**17 = 32,768 summed features: `logits` reads at most MAX_FEATURES, well under that.
_WIDTH, _FMT = 4, "I"  # bytes per class field, struct code
_WORD_UNIT, _WORD_BIAS = 1_000, 1 << 16  # a weight must lie within +-65 (LR weights are a few units)
_LEX_STEPS, _LEX_MAX_STEPS = 10, 100  # lexicon: log1p(score) counted in tenths, at most 100 of them
MAX_FEATURES = 20_000
LONG = "#long"  # the last of an article's features when its body goes on past what the model reads


def pack(weights: Sequence[float], unit: int = _WORD_UNIT) -> int:
    """A feature's class weights as one integer (see above)."""
    fields = [round(w * unit) + _WORD_BIAS for w in weights]
    if any(not 0 <= f < 2 * _WORD_BIAS for f in fields):
        raise ValueError(f"a weight in {list(weights)} is out of the packable range")
    return int.from_bytes(struct.pack(f"<{len(fields)}{_FMT}", *fields), "little")


def unpack(value: int, k: int) -> tuple[float, ...]:
    """The class weights `pack` put into `value` (k classes)."""
    raw = struct.unpack(f"<{k}{_FMT}", value.to_bytes(_WIDTH * k, "little"))
    return tuple((v - _WORD_BIAS) / _WORD_UNIT for v in raw)


def lexicon_steps(score: float) -> int:
    """How the model counts a lexicon score: log1p(score) in tenths (training rounds the same way)."""
    return min(_LEX_MAX_STEPS, round(math.log1p(score) * _LEX_STEPS))


@dataclass(frozen=True)
class TopicScore:
    code: str
    score: float  # calibrated probability that this topic is right for the article
    words: tuple[tuple[str, float], ...] = ()  # the model's strongest words for it, (feature, log-odds)
    source: str = "model"  # "model" (learned topics) or "lexicon" (topics only the lexicon knows)


@dataclass(frozen=True)
class TopicModel:
    classes: tuple[str, ...]  # IPTC codes the data has, in weight order
    prior: tuple[float, ...]  # bias per class, centred
    packed: Mapping[str, int]  # feature -> pack(its weight per class), centred across classes
    lexicon: dict[str, tuple[float, ...]]  # IPTC code -> weight per class of log1p(lexicon score)
    temperature: float
    lexicon_curve: tuple[float, float, float]  # (share, log1p(score), bias): P(lexicon-only topic right)
    lexicon_only: tuple[str, ...]  # topics only the lexicon gives
    threshold: float
    lead_chars: int
    about: str = ""
    lexicon_packed: Mapping[str, int] = field(default_factory=dict)  # code -> its weights per tenth, packed
    long_temperature: float = 0.0  # the temperature of long articles (features end with LONG); 0: `temperature`

    def __post_init__(self) -> None:
        if not self.lexicon_packed and self.lexicon:
            lp = {c: pack([x / _LEX_STEPS for x in w]) for c, w in self.lexicon.items()}
            object.__setattr__(self, "lexicon_packed", lp)

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        try:
            return cls.from_bytes(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, ValueError, KeyError, TypeError, struct.error) as exc:
            raise ValueError(
                f"topic model {path} is unreadable ({exc}); rebuild it with tools/train_topics.py"
            ) from None

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicModel:
        """The model a file holds (uncompressed; see the module's docstring for the layout)."""
        if not data.startswith(MAGIC):
            raise ValueError(f"not a topic model file (it should start with {MAGIC!r})")
        head_end = data.index(b"\n", len(MAGIC))
        doc = json.loads(data[len(MAGIC) : head_end])
        n, names_len = int(doc["features"]), int(doc["names_bytes"])
        names_end = head_end + 1 + names_len
        names = data[head_end + 1 : names_end].decode("utf-8").split("\n") if n else []
        width = _WIDTH * len(doc["classes"])
        blob = memoryview(data)[names_end:]
        if len(names) != n or len(blob) != n * width:
            raise ValueError(
                f"{n} features announced, {len(names)} names and {len(blob)} bytes of weights found"
            )
        frm = int.from_bytes
        packed = {
            name: frm(blob[i : i + width], "little")
            for name, i in zip(names, range(0, n * width, width), strict=True)
        }
        return cls._from_doc(doc, packed)

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> TopicModel:
        """A model written out as JSON with a "weights" object (feature -> weight per class): for tests and
        hand-made models."""
        weights = doc["weights"]
        if not isinstance(weights, dict):
            raise TypeError("weights: expected an object")
        return cls._from_doc(doc, {str(f): pack(_floats(w)) for f, w in weights.items()})

    @classmethod
    def _from_doc(cls, doc: Mapping[str, object], packed: Mapping[str, int]) -> TopicModel:
        lexicon = doc["lexicon"]
        classes = doc["classes"]
        only = doc["lexicon_only"]
        curve = _floats(doc["lexicon_curve"])
        if not isinstance(lexicon, dict) or not isinstance(classes, list) or not isinstance(only, list):
            raise TypeError("lexicon, classes or lexicon_only has the wrong shape")
        if len(curve) != 3:
            raise TypeError("lexicon_curve: expected three numbers")
        return cls(
            classes=tuple(str(c) for c in classes),
            prior=_floats(doc["prior"]),
            packed=packed,
            lexicon={str(k): _floats(w) for k, w in lexicon.items()},
            temperature=float(str(doc["temperature"])),
            lexicon_curve=(curve[0], curve[1], curve[2]),
            lexicon_only=tuple(str(c) for c in only),
            threshold=float(str(doc["threshold"])),
            lead_chars=int(str(doc["lead_chars"])),
            about=str(doc.get("about", "")),
            long_temperature=float(str(doc.get("long_temperature", 0.0))),
        )

    def to_bytes(self) -> bytes:
        """The file's content before compression: deterministic (sorted features, sorted JSON keys)."""
        names = sorted(self.packed)
        if any("\n" in f for f in names):
            raise ValueError("a feature name holds a newline")
        names_blob = "\n".join(names).encode("utf-8")
        k = len(self.classes)
        head = {
            "about": self.about,
            "classes": list(self.classes),
            "prior": list(self.prior),
            "lexicon": {c: list(w) for c, w in sorted(self.lexicon.items())},
            "temperature": self.temperature,
            "lexicon_curve": list(self.lexicon_curve),
            "lexicon_only": list(self.lexicon_only),
            "threshold": self.threshold,
            "lead_chars": self.lead_chars,
            "long_temperature": self.long_temperature,
            "features": len(names),
            "names_bytes": len(names_blob),
        }
        line = json.dumps(head, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        weights = b"".join(self.packed[f].to_bytes(_WIDTH * k, "little") for f in names)
        return MAGIC + line + b"\n" + names_blob + weights

    def file_bytes(self) -> bytes:
        """What the model file holds: gzip with no timestamp, so the same model is the same bytes."""
        return gzip.compress(self.to_bytes(), compresslevel=9, mtime=0)

    def logits(self, feats: list[str], lex: Mapping[str, float]) -> list[float]:
        """Raw class scores (before the temperature): prior + features + lexicon (log1p of its score)."""
        return self.logits_of_hits(list(filter(None, map(self.packed.get, feats[:MAX_FEATURES]))), lex)

    def logits_of_hits(self, hits: list[int], lex: Mapping[str, float]) -> list[float]:
        """`logits` from the packed weights of the features an article has (topic_fast finds them its way)."""
        total, off = sum(hits), len(hits) * _WORD_BIAS
        lp = self.lexicon_packed
        for code, s in lex.items():
            if s > 0 and code in lp:
                steps = lexicon_steps(s)
                total += lp[code] * steps
                off += steps * _WORD_BIAS
        k = len(self.prior)
        fields = struct.unpack(f"<{k}{_FMT}", total.to_bytes(_WIDTH * k, "little")) if total else (off,) * k
        return [p + (v - off) / _WORD_UNIT for p, v in zip(self.prior, fields, strict=True)]

    def probabilities(self, feats: list[str], lex: Mapping[str, float]) -> list[float]:
        return softmax(self.logits(feats, lex), self.temperature_of(feats))

    def temperature_of(self, feats: Sequence[str]) -> float:
        """The temperature for an article of this shape (long: its features end with LONG)."""
        return self.temperature_for(long=bool(feats) and feats[-1] == LONG)

    def temperature_for(self, *, long: bool) -> float:
        """The temperature of long articles (see `reads_past`) or of feed items."""
        return self.long_temperature if long and self.long_temperature else self.temperature

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
        return self.given_of(self.probabilities(feats, lex), lex)

    def given_of(self, probs: list[float], lex: Mapping[str, float]) -> list[tuple[str, float]]:
        """`given` from the model's probabilities per class."""
        cut = self.threshold
        out = [(c, p) for c, p in zip(self.classes, probs, strict=True) if p >= cut]
        if self.lexicon_only and lex:
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

    def weights_of(self, feat: str) -> tuple[float, ...] | None:
        """A feature's weight per class (in `classes` order), None if the model does not know it."""
        v = self.packed.get(feat)
        return None if v is None else unpack(v, len(self.classes))

    def top_words(self, feats: list[str], code: str, n: int = 6) -> tuple[tuple[str, float], ...]:
        """The features that pushed `code` up the most, with their log-odds against the other topics
        (a headline word shows as "t:word")."""
        i = self.classes.index(code)
        seen: dict[str, float] = {}
        for f in feats:
            w = self.weights_of(f)
            if w is not None and f not in seen:
                seen[f] = w[i] - max(v for j, v in enumerate(w) if j != i)
        best = sorted(seen.items(), key=lambda kv: -kv[1])
        return tuple((f, round(v, 2)) for f, v in islice(best, n) if v >= 0.1)


def features(low: str, title_end: int, lead_end: int, end: int) -> list[str]:
    """The model's features of a folded text (`low`: one pad character, then the headline, then the
    body): the headline's words marked "t:", the words up to `end` (headline plus lead), and the pairs of
    neighbouring words up to `lead_end` (headline plus first sentence); each once, in that order; then
    LONG when the text goes on past `end` (it only picks the temperature: it has no weights)."""
    words = low[:end].split()
    title = low[: title_end + 1].split()
    lead = low[: lead_end + 1].split() if lead_end < end else words
    pairs = map(" ".join, zip(lead, lead[1:], strict=False))
    out = list(dict.fromkeys([*map("t:".__add__, title), *words, *pairs]))
    if out and reads_past(low, end):  # (no words read: no features at all, so no model call)
        out.append(LONG)
    return out


def reads_past(low: str, end: int) -> bool:
    """Does the text go on past `end`, the last character the model reads (a long article, not a feed
    item)? A bounded look: the rest of a long article is not copied."""
    return bool(low[end : end + 80].strip())


def _floats(v: object) -> tuple[float, ...]:
    if not isinstance(v, list):
        raise TypeError("expected a list of numbers")
    return tuple(float(x) for x in v)


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

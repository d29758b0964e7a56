"""Train the packaged topic model (feedpipe/defaults/tagging/topic_model.json.gz) from labelled news.

    FEEDPIPE_EVAL_DATA=../shared/data python tools/train_topics.py            # writes the packaged file
    FEEDPIPE_EVAL_DATA=../shared/data python tools/train_topics.py --out m.json

Data (never copied into the repository; read from FEEDPIPE_EVAL_DATA/tagging/):
- huffpost-sample/: headline + short description, category mapped by iptc_map.tsv (about 7,000 items);
- bbc-news/: headline + full article, five classes mapped to IPTC;
- reuters21578-dev/: every 8th story with <TOPICS> (all economic) as economy, business and finance.

The model is multinomial naive Bayes over the words and word pairs of the headline and lead (binary per
item, add-`ALPHA` smoothing, features seen in at least `MIN_DF` items), plus the lexicon's per-topic
scores as extra counts. A temperature (for the model's topics) and a logistic curve over the lexicon's
evidence (for the topics only the lexicon has) are fitted on 5 held-out folds. Pure Python and
deterministic: the same data gives the same file, byte for byte; tests/test_topic_model.py checks that.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from feedpipe.tagging import Tagger, topics
from feedpipe.tagging.countries import Prepared
from feedpipe.tagging.resources import packaged_dir
from feedpipe.tagging.topic_model import MODEL_FILE, TopicModel, features, model_file_bytes, sigmoid, softmax

ROOT = Path(__file__).resolve().parent.parent
ALPHA = 0.1  # add-alpha smoothing of word counts
LEXICON_SCALE = 1.0  # the lexicon's counts weigh this much against one word's
MIN_SPREAD = 0.5  # ... and tell the topics apart by at least this much (log-likelihood)
MIN_DF = 3  # a feature must occur in at least this many training items
LEAD_CHARS = 1000  # headline plus this many characters of the body are the model's text
FOLDS = 5
REUTERS_EVERY = 8  # Reuters has ~9,000 economic stories: a sample keeps it from drowning the rest
THRESHOLD = 0.5  # a topic is given when it is more likely right than wrong
LEXICON_ONLY = ("medtop:03000000", "medtop:09000000", "medtop:16000000", "medtop:17000000")
BBC_MAP = {
    "business": "medtop:04000000",
    "entertainment": "medtop:01000000",
    "politics": "medtop:11000000",
    "sport": "medtop:15000000",
    "tech": "medtop:13000000",
}


@dataclass(frozen=True)
class Doc:
    corpus: str  # "huffpost", "bbc" or "reuters"
    title: str
    body: str
    gold: str  # IPTC code
    fold: int  # 0..FOLDS-1: position in its corpus modulo FOLDS


@dataclass(frozen=True)
class Item:
    doc: Doc
    feats: tuple[str, ...]  # each once, in text order
    lex: dict[str, float]  # lexicon score per IPTC code (whole article)


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_docs(data: Path) -> list[Doc]:
    """Every labelled item, in a fixed order; raises SystemExit naming a missing folder."""
    tagging = data / "tagging"
    for sub in ("huffpost-sample", "bbc-news", "reuters21578-dev"):
        if not (tagging / sub).is_dir():
            raise SystemExit(f"{tagging / sub} not found: set FEEDPIPE_EVAL_DATA to the shared data folder")
    docs: list[Doc] = []
    hp = tagging / "huffpost-sample"
    cats: dict[str, str] = {}
    for line in (hp / "iptc_map.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, codes = line.split("\t", 1)
            cats[name] = codes.split()[0]
    n = 0
    for line in (hp / "news_category_v3_sample.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        code = cats.get(rec.get("category", ""))
        if code and (rec.get("headline") or rec.get("short_description")):
            docs.append(Doc("huffpost", rec["headline"], rec["short_description"], code, n % FOLDS))
            n += 1
    bbc = _load_module(tagging / "bbc-news" / "load_bbc.py", "load_bbc")
    for n, (text, topic, title, _path) in enumerate(bbc.iter_bbc(tagging / "bbc-news")):
        body = text.split("\n", 1)[1] if "\n" in text else ""
        docs.append(Doc("bbc", title, body, BBC_MAP[topic], n % FOLDS))
    reu = _load_module(tagging / "reuters21578-dev" / "load_reuters.py", "load_reuters")
    stories = [a for a in reu.iter_articles(str(tagging / "reuters21578-dev")) if a["topics"] and a["title"]]
    for n, a in enumerate(stories[::REUTERS_EVERY]):
        docs.append(Doc("reuters", a["title"], a["body"], "medtop:04000000", n % FOLDS))
    return docs


def inputs(
    tagger: Tagger, title: str, body: str, lead_chars: int = LEAD_CHARS
) -> tuple[list[str], dict[str, float]]:
    """The model's features and the lexicon's scores for one article, exactly as Tagger.tag makes them."""
    art = Prepared.of(tagger.gazetteer, title, body)
    _geo, hits = tagger.scanner.split(art.low)
    scores, _counts = topics.score_topics(
        tagger.taxonomy, art.full, art.low, art.title_end, art.lead_end, hits
    )
    return features(art.low, art.body_start + 1 + lead_chars), dict(scores)


def prepare(tagger: Tagger, docs: Iterable[Doc]) -> list[Item]:
    out = []
    for d in docs:
        feats, lex = inputs(tagger, d.title, d.body)
        out.append(Item(d, tuple(feats), {k: v for k, v in lex.items() if v > 0}))
    return out


@dataclass
class Counts:
    docs: Counter[str]  # items per class
    words: dict[str, Counter[str]]  # class -> feature -> items with it
    df: Counter[str]  # feature -> items with it
    lex: dict[str, Counter[str]]  # class -> lexicon code -> sum of log1p(score)

    @classmethod
    def of(cls, items: Iterable[Item]) -> Counts:
        c = cls(Counter(), {}, Counter(), {})
        for it in items:
            g = it.doc.gold
            c.docs[g] += 1
            c.words.setdefault(g, Counter()).update(it.feats)
            c.df.update(it.feats)
            c.lex.setdefault(g, Counter()).update({k: math.log1p(v) for k, v in it.lex.items()})
        return c


def _centre(xs: Sequence[float], digits: int = 2) -> tuple[float, ...]:
    m = sum(xs) / len(xs)
    return tuple(round(x - m, digits) for x in xs)


def fit(items: Sequence[Item], *, calibration: TopicModel | None = None) -> TopicModel:
    """Naive Bayes weights from `items`; temperature and curves from `calibration` (or neutral)."""
    c = Counts.of(items)
    classes = tuple(sorted(c.docs))
    vocab = sorted(f for f, n in c.df.items() if n >= MIN_DF)
    codes = sorted({k for cl in classes for k in c.lex.get(cl, {})})
    logs = {}
    for cl in classes:
        words, lex = c.words.get(cl, Counter()), c.lex.get(cl, Counter())
        total = sum(words[f] for f in vocab) + sum(lex.values()) + ALPHA * (len(vocab) + len(codes))
        logs[cl] = (words, lex, math.log(total))
    n = sum(c.docs.values())
    prior = _centre([math.log(c.docs[cl] / n) for cl in classes])
    weights = {}
    for f in vocab:
        w = _centre([math.log(logs[cl][0][f] + ALPHA) - logs[cl][2] for cl in classes])
        if max(w) - min(w) >= MIN_SPREAD:  # a feature that says nothing about the topic is left out
            weights[f] = w
    lexicon = {
        k: _centre([LEXICON_SCALE * (math.log(logs[cl][1][k] + ALPHA) - logs[cl][2]) for cl in classes])
        for k in codes
    }
    cal = calibration
    return TopicModel(
        classes=classes,
        prior=prior,
        weights=weights,
        lexicon=lexicon,
        temperature=cal.temperature if cal else 1.0,
        lexicon_curve=cal.lexicon_curve if cal else (0.0, 0.0, 0.0),
        lexicon_only=LEXICON_ONLY,
        threshold=THRESHOLD,
        lead_chars=LEAD_CHARS,
    )


def held_out(items: Sequence[Item]) -> Iterator[tuple[int, TopicModel, list[Item]]]:
    """(fold, model trained without that fold, the fold's items): for calibration and evaluation."""
    for k in range(FOLDS):
        yield k, fit([it for it in items if it.doc.fold != k]), [it for it in items if it.doc.fold == k]


def fit_temperature(rows: Sequence[tuple[list[float], int]]) -> float:
    """The temperature that minimises held-out log loss (golden-section search over log T)."""

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        return -sum(math.log(max(softmax(z, t)[y], 1e-12)) for z, y in rows)

    lo, hi = math.log(0.05), math.log(20.0)
    g = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return round(math.exp((lo + hi) / 2), 4)


def fit_curve(rows: Sequence[tuple[float, float, int]], l2: float = 1.0) -> tuple[float, float, float]:
    """Logistic regression P(y | share, log1p score) by Newton's method (3 parameters, small L2)."""
    w = [0.0, 0.0, 0.0]
    for _ in range(25):
        g = [0.0, 0.0, 0.0]
        h = [[0.0] * 3 for _ in range(3)]
        for s, x, y in rows:
            v = (s, x, 1.0)
            p = sigmoid(w[0] * s + w[1] * x + w[2])
            for i in range(3):
                g[i] += (p - y) * v[i]
                for j in range(3):
                    h[i][j] += p * (1 - p) * v[i] * v[j]
        for i in range(2):
            g[i] += l2 * w[i]
            h[i][i] += l2
        step = _solve3(h, g)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
    return (round(w[0], 4), round(w[1], 4), round(w[2], 4))


def _solve3(a: list[list[float]], b: list[float]) -> list[float]:
    m = [row[:] + [bi] for row, bi in zip(a, b, strict=True)]
    for i in range(3):
        p = max(range(i, 3), key=lambda r: abs(m[r][i]))
        m[i], m[p] = m[p], m[i]
        for r in range(3):
            if r != i and m[i][i]:
                f = m[r][i] / m[i][i]
                m[r] = [x - f * y for x, y in zip(m[r], m[i], strict=True)]
    return [m[i][3] / m[i][i] if m[i][i] else 0.0 for i in range(3)]


def calibrate(items: Sequence[Item]) -> TopicModel:
    """Temperature and lexicon curve from held-out folds, carried by an otherwise empty model."""
    logits: list[tuple[list[float], int]] = []
    lex_rows: list[tuple[float, float, int]] = []
    for _k, model, test in held_out(items):
        for it in test:
            logits.append((model.logits(list(it.feats), it.lex), model.classes.index(it.doc.gold)))
            total = sum(it.lex.values())
            for code, s in it.lex.items():
                if code in model.classes:
                    lex_rows.append((s / total, math.log1p(s), int(code == it.doc.gold)))
    return TopicModel(
        classes=(),
        prior=(),
        weights={},
        lexicon={},
        temperature=fit_temperature(logits),
        lexicon_curve=fit_curve(lex_rows),
        lexicon_only=LEXICON_ONLY,
        threshold=THRESHOLD,
        lead_chars=LEAD_CHARS,
    )


def to_json(model: TopicModel) -> str:
    """One feature per line, sorted: a readable, diffable, deterministic file."""
    head = {
        "about": "feedpipe topic model: naive Bayes over headline+lead words and pairs plus lexicon "
        "scores; built by tools/train_topics.py from labelled news; do not edit by hand",
        "classes": list(model.classes),
        "prior": list(model.prior),
        "lexicon": {k: list(v) for k, v in sorted(model.lexicon.items())},
        "temperature": model.temperature,
        "lexicon_curve": list(model.lexicon_curve),
        "lexicon_only": list(model.lexicon_only),
        "threshold": model.threshold,
        "lead_chars": model.lead_chars,
    }
    lines = [json.dumps(head, sort_keys=True, ensure_ascii=False)[:-1] + ',"weights":{']
    rows = [
        json.dumps(f, ensure_ascii=False) + ":" + json.dumps(list(w), separators=(",", ":"))
        for f, w in sorted(model.weights.items())
    ]
    lines.append(",\n".join(rows))
    lines.append("}}\n")
    return "\n".join(lines)


def train(data: Path, tagger: Tagger | None = None) -> tuple[TopicModel, list[Item]]:
    tagger = tagger or Tagger.load(cache_dir=None)
    items = prepare(tagger, load_docs(data))
    return fit(items, calibration=calibrate(items)), items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = os.environ.get("FEEDPIPE_EVAL_DATA", str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--data", default=default, help="eval data folder (FEEDPIPE_EVAL_DATA)")
    ap.add_argument("--out", default=str(packaged_dir() / MODEL_FILE), help="where to write the model")
    args = ap.parse_args(argv)
    model, items = train(Path(args.data))
    Path(args.out).write_bytes(model_file_bytes(to_json(model)))
    print(
        f"{args.out}: {len(items)} items, {len(model.weights)} features, {len(model.classes)} classes, "
        f"temperature {model.temperature}, lexicon curve {model.lexicon_curve}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

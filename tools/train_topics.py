"""Train the packaged topic model (feedpipe/defaults/tagging/topic_model.bin.gz) from labelled news.

    FEEDPIPE_EVAL_DATA=../shared/data python tools/train_topics.py            # writes the packaged file
    FEEDPIPE_EVAL_DATA=../shared/data python tools/train_topics.py --out m.bin.gz

Data (never copied into the repository; read from FEEDPIPE_EVAL_DATA/tagging/):
- huffpost-sample/: headline + short description, category mapped by iptc_map.tsv (about 7,000 items);
- bbc-news/: headline + full article, five classes mapped to IPTC;
- reuters21578-dev/: every 8th story with <TOPICS> (all economic) as economy, business and finance.

The model is multinomial logistic regression with an L2 penalty (scikit-learn, `C`), its weights mixed with
naive Bayes weights over the same inputs (`NB_SHARE`: NB gives rare telling words a voice), over binary features
(topic_model.features: headline words marked, lead words, word pairs of the headline and first sentence;
features seen in at least `MIN_DF` training items) plus the lexicon's per-topic scores (log1p, in tenths).
A temperature for each shape of article (feed items read whole, long articles read up to LEAD_CHARS: the
features of a long one end with topic_model.LONG, which has no weights) for the model's topics, and a
logistic curve over the lexicon's evidence (for the topics only the lexicon has), are fitted on 5 held-out
folds. Training needs numpy and scikit-learn (the `test`
extra); the model runs in pure Python. Deterministic on one machine (one BLAS thread, sorted features,
weights rounded): the same data gives the same file, byte for byte; tests/test_topic_model.py checks that.
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
from feedpipe.tagging.topic_model import (
    LONG,
    MODEL_FILE,
    TopicModel,
    features,
    lexicon_steps,
    pack,
    sigmoid,
    softmax,
)

ROOT = Path(__file__).resolve().parent.parent
NB_SHARE = 0.15  # the model's weights are 0.85 x logistic regression + 0.15 x naive Bayes (5-fold CV on
# HuffPost, first topic given and right: LR alone 0.777, NB alone 0.763, 0.1-0.2 of NB 0.796; see fit)
ALPHA = 0.1  # naive Bayes: add-alpha smoothing of word counts
NB_MIN_DF, NB_MIN_SPREAD = 3, 0.5  # naive Bayes: features in at least 3 items that tell topics apart
C = 10.0  # inverse strength of the L2 penalty (5-fold CV: 3, 10 and 30 within 0.003 on HuffPost)
MIN_DF = 2  # a feature must occur in at least this many training items
MIN_SPREAD = 0.1  # ... and tell the topics apart by at least this much (log-odds), else it is left out
# (5-fold CV on HuffPost, LR alone: 0.02 keeps 49k features, 0.1 30k for -0.001, 0.2 17k for -0.004;
# mixed with NB, 0.1 keeps 42k and 0.25 37k for -0.001)
LEAD_CHARS = 400  # headline plus this many characters of the body are the model's words (5-fold CV: 400
# as good as 600 on HuffPost and BBC, and fewer features to look up on a long article)
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
    return features(art.low, art.title_end, art.lead_end, art.body_start + 1 + lead_chars), dict(scores)


def prepare(tagger: Tagger, docs: Iterable[Doc]) -> list[Item]:
    out = []
    for d in docs:
        feats, lex = inputs(tagger, d.title, d.body)
        out.append(Item(d, tuple(feats), {k: v for k, v in lex.items() if v > 0}))
    return out


def _matrix(items: Sequence[Item], index: dict[str, int]) -> object:
    """Binary features plus the lexicon's log1p scores (in tenths, as at run time), as a CSR matrix."""
    from scipy.sparse import csr_matrix  # noqa: PLC0415 (training only: never imported at run time)

    indptr, cols, vals = [0], [], []
    for it in items:
        row = {index[f]: 1.0 for f in it.feats if f in index}
        for code, s in it.lex.items():
            if "lex:" + code in index:
                row[index["lex:" + code]] = lexicon_steps(s) / 10
        for j in sorted(row):
            cols.append(j)
            vals.append(row[j])
        indptr.append(len(cols))
    return csr_matrix((vals, cols, indptr), shape=(len(items), len(index)))


def _centre(xs: Sequence[float], digits: int = 4) -> tuple[float, ...]:
    m = sum(xs) / len(xs)
    return tuple(round(x - m, digits) for x in xs)


def fit_lr(items: Sequence[Item]) -> tuple[dict[str, list[float]], list[float], tuple[str, ...]]:
    """Multinomial logistic regression: (feature or "lex:"+code -> weight per class, bias, classes)."""
    import numpy as np  # noqa: PLC0415 (training only: never imported at run time)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    df = Counter(f for it in items for f in it.feats)
    vocab = sorted(f for f, n in df.items() if n >= MIN_DF and f != LONG)
    codes = sorted({k for it in items for k in it.lex})
    names = vocab + ["lex:" + c for c in codes]
    index = {f: i for i, f in enumerate(names)}
    classes = tuple(sorted({it.doc.gold for it in items}))
    y = np.array([classes.index(it.doc.gold) for it in items])
    with threadpool_limits(limits=1):  # one BLAS thread: the same sums in the same order, every run
        lr = LogisticRegression(C=C, max_iter=5000)
        lr.fit(_matrix(items, index), y)
    return dict(zip(names, lr.coef_.T.tolist(), strict=True)), lr.intercept_.tolist(), classes


def fit_nb(items: Sequence[Item], classes: Sequence[str]) -> tuple[dict[str, list[float]], list[float]]:
    """Multinomial naive Bayes over the same features (binary per item, lexicon as extra counts):
    (feature or "lex:"+code -> log-likelihood per class, log prior per class)."""
    docs: Counter[str] = Counter()
    df: Counter[str] = Counter()
    words: dict[str, Counter[str]] = {c: Counter() for c in classes}
    lex: dict[str, Counter[str]] = {c: Counter() for c in classes}
    for it in items:
        docs[it.doc.gold] += 1
        words[it.doc.gold].update(it.feats)
        df.update(it.feats)
        lex[it.doc.gold].update({k: math.log1p(v) for k, v in it.lex.items()})
    vocab = sorted(f for f, n in df.items() if n >= NB_MIN_DF and f != LONG)
    codes = sorted({k for c in classes for k in lex[c]})
    logz = {
        c: math.log(
            sum(words[c][f] for f in vocab) + sum(lex[c].values()) + ALPHA * (len(vocab) + len(codes))
        )
        for c in classes
    }
    out: dict[str, list[float]] = {}
    for f in vocab:
        w = [math.log(words[c][f] + ALPHA) - logz[c] for c in classes]
        if max(w) - min(w) >= NB_MIN_SPREAD:  # a feature that says nothing about the topic is left out
            out[f] = w
    for k in codes:
        out["lex:" + k] = [math.log(lex[c][k] + ALPHA) - logz[c] for c in classes]
    n = sum(docs.values())
    return out, [math.log(docs[c] / n) for c in classes]


def fit(items: Sequence[Item], *, calibration: TopicModel | None = None) -> TopicModel:
    """Weights from `items` (logistic regression and naive Bayes, mixed); temperature and curves from
    `calibration` (or neutral)."""
    lr, lr_bias, classes = fit_lr(items)
    nb, nb_prior = fit_nb(items, classes)
    zero = [0.0] * len(classes)
    a, b = 1 - NB_SHARE, NB_SHARE
    packed, lexicon = {}, {}
    for f in sorted(lr.keys() | nb.keys()):
        w = _centre([a * x + b * z for x, z in zip(lr.get(f, zero), nb.get(f, zero), strict=True)])
        if f.startswith("lex:"):
            lexicon[f[4:]] = _centre(w, 3)
        elif max(w) - min(w) >= MIN_SPREAD:  # a feature that says nothing about the topic is left out
            packed[f] = pack(w)
    cal = calibration
    return TopicModel(
        classes=classes,
        prior=_centre([a * x + b * z for x, z in zip(lr_bias, nb_prior, strict=True)]),
        packed=packed,
        lexicon=lexicon,
        temperature=cal.temperature if cal else 1.0,
        long_temperature=cal.long_temperature if cal else 0.0,
        lexicon_curve=cal.lexicon_curve if cal else (0.0, 0.0, 0.0),
        lexicon_only=LEXICON_ONLY,
        threshold=THRESHOLD,
        lead_chars=LEAD_CHARS,
        about="feedpipe topic model: logistic regression mixed with naive Bayes over headline and lead "
        "words and pairs plus lexicon scores; built by tools/train_topics.py; do not edit by hand",
    )


Fold = tuple[int, TopicModel, list[Item]]


def held_out(items: Sequence[Item]) -> Iterator[Fold]:
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


def calibrate(folds: Sequence[Fold]) -> TopicModel:
    """Temperatures (feed items, long articles) and lexicon curve from held-out folds, carried by an
    otherwise empty model."""
    logits: list[tuple[list[float], int]] = []
    long_logits: list[tuple[list[float], int]] = []
    lex_rows: list[tuple[float, float, int]] = []
    for _k, model, test in folds:
        for it in test:
            row = (model.logits(list(it.feats), it.lex), model.classes.index(it.doc.gold))
            (long_logits if it.feats[-1:] == (LONG,) else logits).append(row)
            total = sum(it.lex.values())
            for code, s in it.lex.items():
                if code in model.classes:
                    lex_rows.append((s / total, math.log1p(s), int(code == it.doc.gold)))
    return TopicModel(
        classes=(),
        prior=(),
        packed={},
        lexicon={},
        temperature=fit_temperature(logits),
        long_temperature=fit_temperature(long_logits) if long_logits else 0.0,
        lexicon_curve=fit_curve(lex_rows),
        lexicon_only=LEXICON_ONLY,
        threshold=THRESHOLD,
        lead_chars=LEAD_CHARS,
    )


def train_with_folds(data: Path, tagger: Tagger | None = None) -> tuple[TopicModel, list[Item], list[Fold]]:
    """The shipped model, the items it learned from, and the 5 held-out folds its calibration used
    (benchmarks/eval_tagging.py scores those folds)."""
    if tagger is None:
        try:
            tagger = Tagger.load(cache_dir=None)
        except ValueError as exc:  # the shipped model is unreadable (e.g. an older format)
            raise SystemExit(
                f"{exc}\ntraining needs only the lexicon and gazetteer: delete that file and run this again"
            ) from None
    items = prepare(tagger, load_docs(data))
    folds = list(held_out(items))
    return fit(items, calibration=calibrate(folds)), items, folds


def train(data: Path, tagger: Tagger | None = None) -> tuple[TopicModel, list[Item]]:
    model, items, _folds = train_with_folds(data, tagger)
    return model, items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = os.environ.get("FEEDPIPE_EVAL_DATA", str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--data", default=default, help="eval data folder (FEEDPIPE_EVAL_DATA)")
    ap.add_argument("--out", default=str(packaged_dir() / MODEL_FILE), help="where to write the model")
    args = ap.parse_args(argv)
    model, items = train(Path(args.data))
    Path(args.out).write_bytes(model.file_bytes())
    print(
        f"{args.out}: {len(items)} items, {len(model.packed)} features, {len(model.classes)} classes, "
        f"temperature {model.temperature} (long articles {model.long_temperature}), "
        f"lexicon curve {model.lexicon_curve}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

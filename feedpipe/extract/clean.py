"""HTML sanitising, text helpers and a site-agnostic boilerplate filter over paragraphs.

Extractors (trafilatura included) keep newsletter boxes, donation appeals and "Read more"
blocks; the filter here removes them by what they say, not by which site they come from.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Sequence

# The one nh3 policy lives in core.html (feeds sanitise with it too); re-exported for the extractors.
from feedpipe.core.html import ALLOWED_ATTRIBUTES as ALLOWED_ATTRIBUTES
from feedpipe.core.html import ALLOWED_TAGS as ALLOWED_TAGS
from feedpipe.core.html import POLICY_VERSION as POLICY_VERSION
from feedpipe.core.html import sanitize_html as sanitize_html
from feedpipe.core.text import xml_safe

log = logging.getLogger(__name__)

_LINEBREAKS = re.compile(r"[\s\u2028\u2029\x85]+")
_SPACES = re.compile(r"[ \t\f\v\xa0\u2000-\u200b\u202f\u205f\u3000]+")
_BLOCK_TAG = re.compile(
    r"(?i)<(?:br|hr|/?(?:p|div|h[1-6]|li|blockquote|tr|pre|figure|figcaption|ul|ol|dl|table|section|article|"
    r"header|footer|aside|main|dd|dt|caption|address|details|summary))\b[^>]*>"
)
_CELL_TAG = re.compile(r"(?i)</?t[dh]\b[^>]*>")
_DROP_BLOCKS = re.compile(r"(?is)<(script|style|noscript|template|head)\b.*?</\1\s*>|<!--.*?-->")
_TAG = re.compile(r"<[^>]*>")


def normalize_paragraph(s: str) -> str:
    """Collapse runs of spaces inside one paragraph and drop illegal characters."""
    return _SPACES.sub(" ", xml_safe(s)).strip()


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one paragraph per block, separated by blank lines.

    Regex-based on purpose: it runs on every feed item, and lxml parsing was most of the cost.
    """
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return _join_lines(html)
    s = _DROP_BLOCKS.sub(" ", html)
    s = _BLOCK_TAG.sub("\n", s)
    s = _CELL_TAG.sub(" ", s)
    s = html_lib.unescape(_TAG.sub("", s))
    return _join_lines(s)


# Every boundary str.splitlines() knows (\r\n becomes two, harmless: blank lines are dropped).
_LINE_BOUNDARY = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# What _SPACES replaces, minus the lone " " that would be replaced by itself (most of the matches): a
# space followed by another space character, or any other space character, and the rest of the run. (The
# same matches as "[...]{2,}|[...minus ' ']" in 40% less time: this runs over every item's text.)
_SPACE_RUNS = re.compile(
    r"(?: [ \t\f\v\xa0\u2000-\u200b\u202f\u205f\u3000]|[\t\f\v\xa0\u2000-\u200b\u202f\u205f\u3000])"
    r"[ \t\f\v\xa0\u2000-\u200b\u202f\u205f\u3000]*"
)


def _join_lines(text: str) -> str:
    """Non-blank lines, each `normalize_paragraph`-ed, joined by blank lines.

    Same result as normalising line by line, in a few whole-string passes (this runs on every feed item).
    """
    text = _SPACE_RUNS.sub(" ", xml_safe(_LINE_BOUNDARY.sub("\n", text)))
    return "\n\n".join(filter(None, map(str.strip, text.split("\n"))))


# --- boilerplate -------------------------------------------------------------------------------------

_I = re.IGNORECASE
# Headings that open a block of links to other stories (several languages).
_LINKS_HEADING = re.compile(
    r"^(?:read more|read next|read also|also read|see also|related(?: articles?| stories| content| coverage"
    r"| news| links| topics| reading)?|more (?:from|on|about|stories|news)\b.{0,60}|more on this story"
    r"|recommended(?: for you| stories| reading)?|most (?:read|popular|viewed|shared)|top stories|trending(?: now)?"
    r"|you (?:may|might) (?:also )?(?:like|be interested in)|further reading|popular videos|latest (?:news|stories)"
    r"|temas relacionados|noticias relacionadas|mir[aá] tambi[eé]n|lea tambi[eé]n|lee tambi[eé]n|ver tambi[eé]n"
    r"|m[aá]s sobre\b.{0,60}|video recomendado|noticias para ti|te puede interesar|mehr zum thema"
    r"|lesen sie auch|auch interessant|das k[oö]nnte sie (?:auch )?interessieren|weitere artikel|newsticker"
    r"|[aà] lire aussi|lire aussi|sur le m[eê]me sujet|articles? (?:li[ée]s|similaires)"
    r"|et vid[eé]os sur le sujet|leia tamb[eé]m|leggi anche|paid content|sponsored(?: content| stories)?"
    r"|advertisement|anzeige|publicidad)\s*[:.…»>|-]*\s*$",
    _I,
)
# A "Read more: <headline>" line.
_READ_MORE_INLINE = re.compile(r"^(?:read more|read also|also read|see also|related|lesen sie auch|lea también|"
                               r"mirá también|lire aussi)\s*[:»>|-]\s*\S", _I)
_NEWSLETTER = re.compile(r"newsletter|\bbulletin\b|\bdaily briefing\b|\bour (?:daily|weekly) email", _I)
_SIGNUP = re.compile(
    r"\b(?:sign[- ]?up|subscribe\b|inbox|mailbox|e-?mail address|delivered to you|"
    r"abonnieren|anmelden|suscr[ií]b|inscr[ií]ba|suscripci[oó]n)", _I
)
_SIGNUP_START = re.compile(r"^(?:sign up|subscribe|register|abonnieren sie|suscr[ií]bete|inscr[ií]bete)\b", _I)
_SIGNUP_WHAT = re.compile(r"newsletter|e-?mail|alerts|updates|briefing|inbox|\bfree\b|digest|\bnow\b|\btoday\b", _I)
_PRIVACY = re.compile(
    r"privacy (?:policy|notice|statement)|terms (?:of|and) (?:use|service)|(?:our|agree to the|accept the) terms and conditions|cookie(?:s)? (?:policy|settings"
    r"|&\s*tracking)|datenschutz|pol[ií]tica de privacidad|by (?:registering|signing up|subscribing|clicking)[^.]{0,60}\b(?:agree|accept|consent)"
    r"|tracking choices|notice to california residents|code of conduct and complaints", _I
)
_SUBSCRIBER = re.compile(
    r"^subscribers? (?:agree|can|only|get)|already (?:a subscriber|have an account)|subscribe to (?:continue|read)"
    r"|for subscribers only|haben sie schon ein benutzerkonto|w[aä]hlen sie ihren zugang|unlimitiertem zugang"
    r"|und vorteile sichern|log ?in to (?:continue|read)|create (?:a free )?account", _I
)
_APPEAL_OPENER = re.compile(
    r"^(?:a (?:message|note|letter) from\b.{0,80}|dear (?:readers?|friends?|subscribers?|listeners?)\b.{0,40}"
    r"|(?i:support|donate to|contribute to|help fund) (?:(?i:us|our (?:work|journalism|newsroom|reporting))"
    r"|(?:[Tt]he )?[A-Z][\w'’.&-]*(?:\s+[A-Z][\w'’.&-]*){0,5})\s*[!.]?"
    r"|support (?:independent|quality) journalism.{0,40}|(?:make|give) a (?:contribution|donation).{0,30}"
    r"|we need your (?:help|support).{0,40})$",
    _I,
)
# Openers of a multi-paragraph letter to readers; the letter runs to its closer.
_LETTER_OPENER = re.compile(
    r"^(?:a (?:message|note|letter) from\b.{0,80}|dear (?:readers?|friends?|subscribers?|listeners?)\b.{0,40}"
    r"|we need your (?:help|support).{0,40})$",
    _I,
)
_APPEAL = re.compile(
    r"\b(?:support|donate to|contribute to|fund) us\b|\bhelp us (?:continue|keep|fund|sustain|remain|stay)\b"
    r"|\b(?:support|donate to|contribute to|fund|help fund) (?:our (?:work|journalism|reporting|newsroom|mission)"
    r"|independent journalism|quality journalism)\b"
    r"|\b(?:your|any) (?:support|donation|contribution|gift)s?\b[^.]{0,80}\b(?:makes?|help|keeps?|matters?|"
    r"sustains?|funds?|enables?|allows?)\b"
    r"|\b(?:please|can you|could you|will you|consider) (?:support|donat|contribut|chip in|becom)"
    r"|\bby supporting\b[^.]{0,60}\byou\b|\b(?:funded|supported) by (?:our )?readers\b"
    r"|\bsupport (?:us|\w+) (?:monthly|today|from just)\b|\bfrom just [$€£]\s?\d",
    _I,
)
# Reported speech: a quoted "help us" or "the newsletter says" is body text, not furniture.
_SPEECH = re.compile(r"[\"“”„«»].{0,400}\b(?:said|says|told|added|according to)\b|\b(?:said|says|told)\b[^.]{0,40}[\"“„«:]", _I)
_APPEAL_CLOSER = re.compile(r"\b(?:thank you|remind me later|maybe later|continue)\b", _I)
_WIDGET = re.compile(
    r"^(?:once|one[- ]time|monthly|annual(?:ly)?|yearly|weekly|continue|pa[iy]ment methods|remind me later"
    r"|not (?:ready|now)\b.{0,30}|maybe later|donate(?: now)?|support(?: us)?(?: now)?|subscribe(?: now)?"
    r"|sign up(?: now)?|log ?in|register|share(?: this)?(?: article| story)?|e-?mail|print|comments?|permalink"
    r"|permalien|verschickt|preview|close|menu|skip (?:to|advert).{0,30}|\d+ min(?:ute)?s? read"
    r"|lesedauer:? .{0,20}|follow us(?: on)?.{0,30}|mail the editor|puede escribirnos.{0,80}"
    r"|\d{1,2}:\d{2}\s?(?:am|pm)?|[$€£]\s?\d+(?:[.,]\d+)?)\s*[.!?:]*$",
    _I,
)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\s*(?:©|\(c\)|\d{4}))|all rights reserved|vervielf[aä]ltigung nur mit", _I)
_CREDIT_WORD = re.compile(
    r"^(?:photo(?:graph)?s?|image|picture|pic|illustration|credit|foto|bild|imagen|fotograf[ií]a|video)"
    r"\s*(?:by\b|:|credit\b|/)", _I
)
_AGENCY = re.compile(
    r"\b(?:getty(?: images)?|afp|reuters|ap photo|associated press|epa(?:-efe)?|efe|tass|ria novosti|sputnik"
    r"|shutterstock|xinhua|anadolu|bloomberg|dpa|alamy|pool|imago|picture[- ]alliance|istock|ap)\b", _I
)
# A caption that ends in its credit: "... Bild: dpa", "... (Foto: Name/Pool via REUTERS)."
_CAPTION_CREDIT = re.compile(
    r"(?:\b(?:bild|foto|photo|photograph|image|imagen|credit|picture)s?\s*:\s*[^.:]{1,60}"
    r"|\((?:foto|photo|photograph|image|imagen|credit|bild|reuters|afp|ap|efe|epa|getty images)\b[:/ ][^()]{1,80}\))"
    r"\s*\.?$",
    _I,
)
_STANDARDS = re.compile(r"^(?:our|editorial) standards\b|\btrust principles\.?$", _I)
_REPORTING_VERB = re.compile(r"\b(?:told|said|says|reported|according)\b", _I)
_SLASH_CREDIT = re.compile(r"^[^/.!?]{2,60}\s?/\s?[^/.!?]{2,40}$")
_SENTENCE_END = re.compile(r"[.!?…\"”»]\s*$")


_BANNER = re.compile(
    r"^(?:(?i:support|donate(?: to)?|subscribe(?: to)?|sign up(?: for)?|register|log ?in|join"
    r"|become a (?:member|subscriber|supporter))"
    r"(?:\s+(?i:now|today|here|us|our\b.*)|\s+(?:The|the)\s+[A-Z].*|\s+[A-Z][\w'’.&-]*(?:\s+[A-Z][\w'’.&-]*)*)?"
    r"|(?i:advertisement|skip to (?:main )?content|menu))\s*[!.]?$"
)


def is_banner(line: str) -> bool:
    """A short call to action shown above a title ("Support The Moscow Times!", "Subscribe now").

    Headlines that merely start with such a word ("Support for Lukashenko wanes") are not banners.
    """
    s = line.strip()
    return 0 < len(s) <= 80 and bool(_BANNER.match(s))


def is_photo_credit(line: str, *, position_known: bool = False) -> bool:
    """A short credit line under a picture ("Russian Defense Ministry/TASS", "Photo: AFP").

    A bare "Name/Organisation" line counts only where a credit is expected (`position_known`, e.g.
    right under the title); in the body such a line could be a subheading ("Russia/Ukraine talks").
    """
    s = line.strip()
    if not s or len(s) > 120 or len(s.split()) > 14:
        return False
    if _CREDIT_WORD.search(s):
        return True
    if s.endswith("."):
        return False
    if position_known and _SLASH_CREDIT.match(s) and "http" not in s and " and/or " not in s:
        return True
    # "Name/TASS", "Name (Agency)", "Name via Getty Images", "REUTERS/Name"
    return bool(_AGENCY.search(s) and re.search(r"[/(]|\bvia\b|\|", s) and len(s.split()) <= 10
                and not _REPORTING_VERB.search(s))


def is_heading_like(line: str) -> bool:
    """A short line without sentence punctuation that starts with a capital: a subheading in plain text."""
    s = line.strip()
    return (
        0 < len(s) <= 90
        and len(s.split()) <= 12
        and not _SENTENCE_END.search(s)
        and not s.endswith((",", ";", ":"))
        and s[0].isupper()
    )


def _appeal_line(p: str) -> bool:
    return len(p) <= 900 and bool(_APPEAL.search(p)) and not _SPEECH.search(p)


def boilerplate_reason(p: str) -> str | None:
    """Why a single paragraph is boilerplate on its own (or None when it may be body text)."""
    s = p.strip()
    if not s:
        return "empty"
    n = len(s)
    if n <= 120 and _LINKS_HEADING.match(s) and not (n > 40 and s[:5].lower() == "more "):
        return "links-heading"
    if n <= 250 and _READ_MORE_INLINE.match(s):
        return "read-more"
    if n <= 80 and _WIDGET.match(s) and not (s.endswith(".") and " " not in s and s[0].islower()):
        return "widget"
    if n <= 600 and _NEWSLETTER.search(s) and _SIGNUP.search(s) and not _SPEECH.search(s):
        return "newsletter"
    if n <= 120 and _SIGNUP_START.match(s) and (n <= 25 or _SIGNUP_WHAT.search(s)):
        return "sign-up"
    if n <= 300 and _SUBSCRIBER.search(s):
        return "subscriber"
    if n <= 300 and _PRIVACY.search(s):
        return "privacy"
    if n <= 200 and _COPYRIGHT.search(s):
        return "copyright"
    if n <= 140 and _APPEAL_OPENER.match(s):
        return "appeal"
    if _appeal_line(s):
        return "appeal"
    if is_photo_credit(s):
        return "photo-credit"
    if n <= 250 and _CAPTION_CREDIT.search(s):
        return "caption"
    if n <= 150 and _STANDARDS.search(s):
        return "standards"
    if n <= 200 and s.count(" | ") >= 2 and not _SENTENCE_END.search(s):
        return "breadcrumb"
    return None


def boilerplate_flags(paragraphs: Sequence[str], *, link_only: Sequence[bool] | None = None) -> list[str | None]:
    """Reason per paragraph (None = keep), with context: an appeal opener takes its letter with it,
    and a "Read more"/"Related" heading takes the short link lines after it.

    `link_only[i]` (from HTML) marks a paragraph whose text is all link text.
    """
    n = len(paragraphs)
    flags: list[str | None] = [boilerplate_reason(p) for p in paragraphs]
    i = 0
    while i < n:
        reason = flags[i]
        if reason == "appeal" and _LETTER_OPENER.match(paragraphs[i].strip()):
            end = _appeal_end(paragraphs, i)
            for j in range(i + 1, end + 1):
                flags[j] = flags[j] or "appeal"
            i = end + 1
            continue
        if reason == "links-heading":
            j = i + 1
            while j < n and _looks_like_link_line(paragraphs[j], link_only[j] if link_only else False):
                flags[j] = flags[j] or "related-link"
                j += 1
            i = j
            continue
        i += 1
    return flags


def _appeal_end(paragraphs: Sequence[str], start: int, window: int = 12) -> int:
    """Index of the last paragraph of an appeal that opens at `start`.

    The letter runs to its closer ("Thank you", "Remind me later", payment widgets); without a
    closer in reach only the paragraphs that plead on their own are part of it.
    """
    last = start
    closer = None
    for j in range(start + 1, min(len(paragraphs), start + 1 + window)):
        p = paragraphs[j].strip()
        if _APPEAL_CLOSER.search(p) and (_appeal_line(p) or _WIDGET.match(p) or len(p) <= 60):
            closer = j
        elif closer is not None and not (_WIDGET.match(p) or len(p) <= 40):
            break
    if closer is not None:
        last = closer
        while last + 1 < len(paragraphs) and (
            _WIDGET.match(paragraphs[last + 1].strip()) or boilerplate_reason(paragraphs[last + 1]) is not None
        ):
            last += 1
        return last
    j = start + 1
    while j < len(paragraphs) and (
        _appeal_line(paragraphs[j]) or _WIDGET.match(paragraphs[j].strip()) or len(paragraphs[j].strip()) <= 30
    ):
        last = j
        j += 1
    return last


def _looks_like_link_line(p: str, link_only: bool) -> bool:
    s = p.strip()
    if not s:
        return True
    if link_only and len(s) <= 250:
        return True
    return len(s) <= 160 and not _SENTENCE_END.search(s) and len(s.split()) <= 25


def filter_paragraphs(paragraphs: Sequence[str]) -> list[str]:
    """The paragraphs that are body text, in order."""
    flags = boilerplate_flags(paragraphs)
    dropped = [(f, p[:60]) for f, p in zip(flags, paragraphs, strict=True) if f and f != "empty"]
    if dropped:
        log.debug("boilerplate dropped: %s", dropped)
    return [p for p, f in zip(paragraphs, flags, strict=True) if f is None]

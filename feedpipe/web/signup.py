"""Double opt-in: `/subscribe` → an email with `/confirm/<token>` → a button there activates.

The confirm page asks for a click (POST) rather than confirming on GET, so a mail scanner that
prefetches links cannot subscribe anyone. Every sign-up gets the same answer whether the address
was new, pending or active: no one learns who is subscribed.
"""

from __future__ import annotations

import email.policy
import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import flask
from flask import render_template, request
from flask.typing import ResponseReturnValue

from feedpipe.core.address import mail_address
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Subscriber
from feedpipe.core.text import one_line
from feedpipe.mailer import Transport
from feedpipe.web.deps import Web, current, subscriber_or_404

log = logging.getLogger(__name__)
NAME_MAX = 100

bp = flask.Blueprint("signup", __name__)


@bp.get("/subscribe")
def form() -> str:
    return render_template("subscribe.html", error=None, email="", name="")


@bp.post("/subscribe")
def subscribe() -> ResponseReturnValue:
    web = current()
    app = web.app
    allowed, wait = web.limiter.allow(request.remote_addr or "?")
    if not allowed:
        response = flask.make_response(render_template(
            "message.html", title="Too many sign-ups",
            text="Too many sign-ups from your address. Please try again in a few minutes."), 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    address = (request.form.get("email") or "").strip()
    name = " ".join((request.form.get("name") or "").split())[:NAME_MAX] or None
    try:
        sub = app.store.subscribers.add(address, name=name, status="pending", now=app.clock(), opt_in=True)
    except FeedpipeError:
        return render_template("subscribe.html", error="Please enter a valid email address.",
                               email=address, name=name or ""), 400
    if sub.status == "bounced":
        sub = app.store.subscribers.set_status(sub.email, "pending", now=app.clock(),
                                               reason="signed up again on the web", opt_in=True)
    if sub.status == "pending":
        try:
            deliver(app.transport(), confirmation(web, sub), sub.email)
        except Exception:
            log.exception("could not send the confirmation email to a new subscriber")
            return render_template("message.html", title="Something went wrong",
                                   text="We could not send the confirmation email. Please try again later."), 503
    return render_template("message.html", title="Check your inbox",
                           text="We have sent you an email with a link. Follow it to confirm your "
                                f"subscription; until then you will not receive {web.site.newsletter}.")


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> str:
    sub = subscriber_or_404(token)
    return render_template("confirm.html", subscriber=sub, token=token, done=sub.status == "active")


@bp.post("/confirm/<token>")
def confirm(token: str) -> str:
    app = current().app
    sub = subscriber_or_404(token)
    if sub.status in ("pending", "active"):
        sub = app.store.subscribers.set_status(sub.email, "active", now=app.clock(),
                                               reason="confirmed (double opt-in)", opt_in=True)
    return render_template("confirm.html", subscriber=sub, token=token, done=sub.status == "active")


def confirmation(web: Web, sub: Subscriber) -> EmailMessage:
    """The email asking `sub` to confirm, with the link to `/confirm/<token>`."""
    sender = web.app.settings.digest.from_address
    msg = EmailMessage()
    msg["From"] = one_line(sender)
    msg["To"] = mail_address(sub.email).for_header()  # an internationalised domain in IDNA, never an encoded-word
    msg["Subject"] = one_line(f"Confirm your subscription to {web.site.newsletter}")
    msg["Date"] = format_datetime(web.app.clock())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "feedpipe.invalid"
    msg["Message-ID"] = make_msgid("confirm", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    link = f"{web.site.public_url}/confirm/{sub.token}"
    msg.set_content(render_template("confirm_email.txt", link=link, subscriber=sub))
    return msg


def deliver(transport: Transport, msg: EmailMessage, to: str) -> None:
    """Send one message through `transport` (`feedpipe.mailer`: SMTP or outbox), then close it."""
    try:
        transport.send(
            msg.as_bytes(policy=email.policy.SMTP if str(msg["To"]).isascii() else email.policy.SMTPUTF8),
            sender=parseaddr(str(msg["From"]))[1],
            recipients=[to],
            message_id=str(msg["Message-ID"]),
        )
    finally:
        transport.close()

"""Who is at the desk: the signed-in editor of this request, and the admin-only guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import abort, g

from feedpipe.store.desk import Editor

P = ParamSpec("P")
R = TypeVar("R")


def editor() -> Editor:
    found = g.get("editor")
    if not isinstance(found, Editor):
        abort(401)
    return found


def admin_only(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if editor().role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped

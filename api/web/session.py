"""Browser sessions: a cookie holding a person's short-lived token, and CSRF protection.

The cookie carries the same opaque token ``POST /auth/login`` hands API clients (only its
hash is stored; it expires with the shift, ``LAPOR_API_TOKEN_TTL_MINUTES``), so a page and
the JSON API share one notion of who is signed in, one lockout and one revocation.

CSRF, two layers: the cookie is ``SameSite=Strict`` (a cross-site request carries no
session), and every state change must also present the session's CSRF token (a header
htmx sends, or a form field), which a page of another site can't read. Requests the
browser marks as cross-site (``Sec-Fetch-Site``, else ``Origin``) are refused outright,
the sign-in form included.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlmodel import Session

from api.core.auth import Principal, current_principal
from api.core.errors import ApiError, Unauthorized
from api.people.users import User

COOKIE = "lapor_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSite(ApiError, status_code=403, error_id="cross_site_request"):
    """A state change that did not come from our own pages."""


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    user: User
    token: str

    @property
    def csrf_token(self) -> str:
        return csrf_token_of(self.token)


def csrf_token_of(session_token: str) -> str:
    """The session's CSRF token: derived, so nothing more is stored, and useless without
    the cookie's token, which scripts of other sites can't read (HttpOnly)."""
    return hmac.new(session_token.encode(), b"lapor-csrf", hashlib.sha256).hexdigest()


def set_cookie(response: Response, request: Request, token: str, expires_at: datetime) -> None:
    secure = request.url.scheme == "https" or request.app.state.settings.cookie_secure
    response.set_cookie(
        COOKIE,
        token,
        expires=expires_at,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def signed_in(session: Session, request: Request) -> WebUser:
    """The person whose session cookie came with the request; Unauthorized without one,
    or when it expired or was revoked (signed out, or the shift ended)."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 100:
        raise Unauthorized("no session: sign in", "no_session")
    try:
        principal = current_principal(session, token)
    except Unauthorized:
        raise Unauthorized("the session has ended: sign in again", "session_ended") from None
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None or not user.active:
        raise Unauthorized("the session has ended: sign in again", "session_ended")
    return WebUser(principal=principal, user=user, token=token)


def check_same_site(request: Request) -> None:
    """Refuse a state change the browser says came from another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in {"same-origin", "none"}:
            raise CrossSite(f"refused a {fetch_site} request")
        return
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc != request.headers.get("host", ""):
            raise CrossSite("refused a request from another origin")
    elif origin == "null":
        raise CrossSite("refused a request from an opaque origin")


async def check_csrf(request: Request, web_user: WebUser) -> None:
    """A state change must carry the session's CSRF token (header or form field)."""
    check_same_site(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent, web_user.csrf_token):
        raise CrossSite("the request's CSRF token is missing or wrong: reload the page")

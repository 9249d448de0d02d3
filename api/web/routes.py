"""Signing in and out of the pages, the landing page, static files, and the pages' errors.

A page request without a live session is sent to the sign-in form (an htmx request gets
``HX-Redirect``, so a fragment never renders the form inside itself).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.auth import ApiToken, Role, revoke_token
from api.core.clock import as_utc
from api.core.db import SessionDep
from api.core.deps import ControlDep
from api.core.errors import BadCredentials, TooManyAttempts, Unauthorized
from api.people import browser_phone
from api.people.users import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, login_from
from api.web.session import (
    CrossSite,
    WebUser,
    check_csrf,
    check_same_site,
    clear_cookie,
    set_cookie,
    signed_in,
)
from api.web.templates import render
from api.web.texts import texts

STATIC = Path(__file__).resolve().parent / "static"
PAGE_PREFIXES = ("/login", "/logout", "/console", "/home", "/wallboard", "/desk")
# No inline script or style anywhere: the pages load only their own files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'{ws}; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def csp(webrtc_ws_url: str) -> str:
    """The pages' CSP; the browser phone's WebSocket (its origin) may be connected to."""
    if not webrtc_ws_url:
        return CSP.format(ws="")
    parts = urlsplit(webrtc_ws_url)
    return CSP.format(ws=f" {parts.scheme}://{parts.netloc}")


# Where each role lands after signing in (a role without a page yet gets /home).
HOME_OF_ROLE = {
    Role.agent: "/console",
    Role.supervisor: "/wallboard",
    Role.admin: "/wallboard",
    Role.leadership: "/desk",
    Role.unit: "/desk",
}

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class PageRefused(Exception):
    """A page or action this person may not have (a 403 shown as a page)."""

    def __init__(self, message: str) -> None:
        self.message = message


def page_user(session: SessionDep, request: Request) -> WebUser:
    """The signed-in person, or the sign-in page (``expired`` when a session ended)."""
    try:
        return signed_in(session, request)
    except Unauthorized as exc:
        raise SignInRequired("expired" if exc.error_id == "session_ended" else "") from None


def page_roles(*roles: Role) -> object:
    """A dependency admitting only ``roles`` to a page (403 page otherwise)."""

    def check(web_user: Annotated[WebUser, Depends(page_user)]) -> WebUser:
        if web_user.principal.role not in roles:
            raise PageRefused(texts().errors.forbidden)
        return web_user

    return Depends(check)


async def csrf_checked(
    request: Request, web_user: Annotated[WebUser, Depends(page_user)]
) -> WebUser:
    """The signed-in person, for a state change that carries their CSRF token."""
    try:
        await check_csrf(request, web_user)
    except CrossSite:
        raise PageRefused(texts().login.cross_site) from None
    return web_user


def change_roles(*roles: Role) -> object:
    """A dependency for a state change: CSRF-checked, and only by ``roles``."""

    def check(web_user: Annotated[WebUser, Depends(csrf_checked)]) -> WebUser:
        if web_user.principal.role not in roles:
            raise PageRefused(texts().errors.forbidden)
        return web_user

    return Depends(check)


def stream_viewer(request: Request, *roles: Role) -> tuple[WebUser, datetime | None]:
    """The signed-in person opening a live stream, and when their session ends.

    Checked with a session of its own, closed before the stream starts: a dependency's
    session would live as long as the response, for the hours a page stays open (measured:
    ``bench.console`` stalled connecting 200 consoles to a ``lapor-api`` process that way).
    """
    with Session(request.app.state.engine) as session:
        web_user = page_user(session, request)
        if web_user.principal.role not in roles:
            raise PageRefused(texts().errors.forbidden)
        token = session.get(ApiToken, web_user.principal.token_id)
        ends_at = as_utc(token.expires_at) if token and token.expires_at else None
    return web_user, ends_at


def _login_page(request: Request, status_code: int = 200, **context: object) -> HTMLResponse:
    context = {"error": None, "notice": None, "username": "", "next": "", **context}
    return render(request, "login.html", status_code=status_code, **context)


def _safe_next(target: str) -> str:
    """Only our own paths: never an open redirect to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:200]
    return ""


@router.get("/login")
def login_form(request: Request, next: str = "", reason: str = "") -> HTMLResponse:
    notice = {"expired": texts().login.expired, "signed_out": texts().login.signed_out}
    return _login_page(request, next=_safe_next(next), notice=notice.get(reason))


@router.post("/login")
def sign_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=MAX_USERNAME_LENGTH)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)] = "",
    next: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        check_same_site(request)
    except CrossSite:
        raise PageRefused(texts().login.cross_site) from None
    try:
        user, token, record = login_from(request, session, username, password)
    except BadCredentials:
        return _login_page(request, 401, error=texts().login.failed, username=username)
    except TooManyAttempts:
        return _login_page(request, 429, error=texts().login.locked, username=username)
    assert record.expires_at is not None
    target = _safe_next(next) or HOME_OF_ROLE.get(user.role, "/home")
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, token, record.expires_at)
    return response


@router.post("/logout")
async def sign_out(
    session: SessionDep, web_user: Annotated[WebUser, Depends(csrf_checked)], ami: ControlDep
) -> Response:
    revoke_token(session, token_id=web_user.principal.token_id)
    if web_user.principal.role == Role.agent:
        # The browser phone's password stops working with the session.
        await browser_phone.revoke(session, web_user.principal, ami)
    response = RedirectResponse("/login?reason=signed_out", status_code=303)
    clear_cookie(response)
    return response


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/home", status_code=303)


@router.get("/home")
def home(request: Request, web_user: Annotated[WebUser, Depends(page_user)]) -> Response:
    target = HOME_OF_ROLE.get(web_user.principal.role)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "home.html", web_user=web_user)


def _sign_in_required(request: Request, exc: Exception) -> Response:
    """To the sign-in page, and back to the page afterwards (for a fragment, the page it
    was on: htmx says which in HX-Current-URL)."""
    assert isinstance(exc, SignInRequired)
    fragment = request.headers.get("hx-request") == "true"
    page = urlsplit(request.headers.get("hx-current-url", "")).path if fragment else ""
    query = "?next=" + quote(_safe_next(page) or request.url.path, safe="/")
    if exc.reason:
        query += f"&reason={exc.reason}"
    if fragment:
        return Response(status_code=401, headers={"HX-Redirect": "/login" + query})
    return RedirectResponse("/login" + query, status_code=303)


def _page_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    if request.headers.get("hx-request") == "true":
        return Response(exc.message, status_code=403, media_type="text/plain")
    return render(request, "error.html", status_code=403, message=exc.message)


class PageHeaders:
    """Security headers on every page, fragment and static file (a plain ASGI middleware:
    it must not buffer the live-update stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        page = path == "/" or path.startswith(PAGE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if page:
                    settings = scope["app"].state.settings
                    headers.setdefault("Content-Security-Policy", csp(settings.webrtc_ws_url))
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    """Mount the pages' static files, handlers and headers on ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PageRefused, _page_refused)
    app.include_router(router)
    app.add_middleware(PageHeaders)

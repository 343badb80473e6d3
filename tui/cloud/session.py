"""CloudSession: every call the CLI and the app make to IAM and IMS goes through here.

The session owns authentication: it reuses a cached token, logs in when none is left, and when a
password is needed and none is configured it asks through the ``ask_password`` callback its
owner gave it (the app shows a dialog, the CLI a terminal prompt); a password typed there stays
in the session, never in the shared ``Settings``. A mistyped one is asked for again.

One place decides retries. A 401 drops the cached token, re-authenticates once and repeats the
call. Throttling (429, 503, ``IMG.0060``), 5xx, dropped connections and malformed bodies are
retried with bounded exponential backoff and jitter, honouring ``Retry-After``; every call here is
idempotent (GETs, and member PUTs that set an absolute status), so repeating one is safe.
Anything else becomes one ``ApiError``; callers never see an httpx exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from tui import logsetup
from tui.cloud import batch
from tui.cloud.auth import (
    auth_body,
    catalog_url,
    image_endpoint_from_catalog,
    projects_url,
    strip_version,
    token_body,
    token_from_response,
    tokens_url,
)
from tui.cloud.errors import ApiError, describe_host, transport_error
from tui.cloud.http import (
    TRANSPORT_ERRORS,
    RequestLimiter,
    RetryPolicy,
    build_client,
    decode_json,
    fetch,
    retry_after,
)
from tui.cloud.models import ALL_STATUSES, Decision, Member, MemberStatus, SharedImage, Token
from tui.cloud.token_cache import TokenCache
from tui.settings.model import Settings, in_clear_to_remote, sends_password_in_clear

log = logging.getLogger("imshare.cloud")

# Glance caps ``limit`` at api_limit_max (1000 by default); asking for the cap keeps round trips
# few without relying on a bigger cap that a cloud may not have.
PAGE_LIMIT = 1000
MAX_PAGES = 10_000
# The app's first page per status is small, so the first rows show before a full page of 1000
# has been transferred, decoded and parsed (and before the other statuses' first pages, which
# share the one event loop); the pages after it are full size again.
FIRST_PAGE_LIMIT = 100

#: Asked when a password is needed: gets a line saying why ("" the first time, the login
#: error after a wrong password) and returns the password, or None when the user declined.
AskPassword = Callable[[str], Awaitable[str | None]]
ProgressCallback = Callable[[Decision], None]
#: Told just before a request goes out: the image ids it decides, and whether it is a batch.
SendCallback = Callable[[list[str], bool], None]


#: What a listing's page holds: models (``SharedImage``) or the JSON objects of
#: ``list_share_documents``.
ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class StatusPage(Generic[ItemT]):
    """A page of one status's listing."""

    status: MemberStatus
    images: list[ItemT]


@dataclass(frozen=True, slots=True)
class StatusDone:
    """One status was listed completely."""

    status: MemberStatus


@dataclass(frozen=True, slots=True)
class StatusFailed:
    """One status could not be listed (completely): its rows so far are not the whole truth."""

    status: MemberStatus
    error: ApiError


ListingEvent = StatusPage[SharedImage] | StatusDone | StatusFailed


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing's result: the images, and the statuses that failed (with why)."""

    images: list[SharedImage]
    failed: dict[MemberStatus, ApiError]


@dataclass(frozen=True, slots=True)
class DocumentListing:
    """``Listing`` for output that needs no model: each image as its JSON object."""

    images: list[dict[str, Any]]
    failed: dict[MemberStatus, ApiError]


class PasswordRequired(ApiError):
    """No usable cached token and no password, and nobody could be asked (or they declined)."""

    def __init__(self) -> None:
        super().__init__(
            "a password is needed to log in",
            hint="Enter it when asked, set OS_PASSWORD, or run imshare login.",
        )
        self.login = True


@dataclass(slots=True)
class SessionStats:
    token_requests: int = 0
    requests: int = 0
    retries: int = 0
    reauthentications: int = 0


def _with_limit(path: str, old: int, new: int) -> str:
    """``path`` (``/v2/images?...``) with its ``limit=old`` parameter set to ``new``."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    if ("limit", str(old)) not in pairs:
        return path
    pairs = [(k, str(new) if k == "limit" else v) for k, v in pairs]
    return f"{base}?{urlencode(pairs)}"


def _member_from(data: dict[str, Any], action: str) -> Member:
    """A member record, or ``ApiError`` when the cloud's answer is not one."""
    try:
        return Member.from_api(data)
    except ValueError as exc:
        raise ApiError(
            f"the cloud sent an unusable member record ({exc})",
            hint="Refresh and check the image's status.",
            retryable=True,
            action=action,
        ) from None


def _no_answer(exc: BaseException, url: str, action: str) -> ApiError:
    """A request that got no (complete) answer: a transport error or the request deadline."""
    if isinstance(exc, TimeoutError):
        return ApiError(
            f"{describe_host(url)} did not finish answering in time",
            hint="The cloud is slow or stalled; retry later.",
            retryable=True,
            action=action,
        )
    assert isinstance(exc, Exception)
    return transport_error(exc, url, action=action)


def _login_hint(status: int, settings: Settings) -> str:
    """What to do about a refused login; never an image hint ("may have been deleted")."""
    if status in (401, 404) and settings.uses_token:
        # Keystone answers 404 "Could not find token" for a revoked or expired one.
        return (
            "The token was not accepted (expired, revoked or not valid for this project): "
            "log in again with a new one (OS_TOKEN) or with a password."
        )
    if status == 401:
        return (
            "Check the user name, password, user domain and project "
            "(and that the user may use the API)."
        )
    if status == 404:
        return "Check the auth URL: it should be the identity service's, usually ending in /v3."
    return ""


def _same_login(a: Settings, b: Settings) -> bool:
    """Whether a password for ``a`` is the password for ``b`` (same user at the same IAM)."""
    return (a.auth_url.rstrip("/"), a.username, a.user_domain_name, a.user_domain_id) == (
        b.auth_url.rstrip("/"),
        b.username,
        b.user_domain_name,
        b.user_domain_id,
    )


class CloudSession:
    """A logged-in view of one project's image service.

    Use as ``async with CloudSession(settings, cache) as session:``. The session owns one httpx
    client; it is cheap to keep open for the life of the app. ``ask_password`` is called (at
    most once at a time) when a login needs a password that is not configured.
    """

    def __init__(
        self,
        settings: Settings,
        cache: TokenCache | None = None,
        *,
        ask_password: AskPassword | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        client: httpx.AsyncClient | None = None,
        limiter: RequestLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.retry = retry or RetryPolicy()
        self.stats = SessionStats()
        self._ask_password = ask_password
        self._transport = transport
        self._sleep = sleep
        # A client handed in belongs to whoever made it (the sessions of one inbox share one).
        self._owns_client = client is None
        self._client = client or build_client(settings, transport)
        self.limiter = limiter or RequestLimiter(
            total=settings.concurrency, per_host=settings.host_concurrency
        )
        #: A token of the same user to re-scope from (Keystone's token method) before any
        #: password login: how the sessions of other projects log in without asking again.
        self._rescope_from: Token | None = None
        self._password = settings.password
        self._password_was_asked = False
        self._declined = 0
        self._token: Token | None = None
        self._logged_in: Token | None = None
        self._auth_lock = asyncio.Lock()
        # OTC's batch member API (tui.cloud.batch): None until a batch PUT tells.
        self.batch_offered: bool | None = None
        self.batch_poll_interval = batch.POLL_INTERVAL
        self.batch_timeout = batch.JOB_TIMEOUT
        logsetup.add_secret(self._password)

    async def __aenter__(self) -> CloudSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -------------------------------------------------------------- switching

    def with_settings(self, settings: Settings, *, share_client: bool = False) -> CloudSession:
        """A new session for ``settings`` that keeps this one's ways of working.

        A password typed at a prompt goes along when the new settings are the same user at the
        same IAM and carry none of their own, so switching profile or project asks nothing.
        With ``share_client`` it uses this session's connections and limits (this session
        must then outlive it); otherwise it has its own.
        """
        same_tls = (settings.verify, settings.cacert, settings.cert, settings.key) == (
            self.settings.verify,
            self.settings.cacert,
            self.settings.cert,
            self.settings.key,
        )
        shared = share_client and same_tls
        session = CloudSession(
            settings,
            self.cache,
            ask_password=self._ask_password,
            transport=self._transport,
            retry=self.retry,
            sleep=self._sleep,
            client=self._client if shared else None,
            limiter=self.limiter if shared else None,
        )
        if (
            not settings.password
            and not settings.uses_token
            and _same_login(self.settings, settings)
        ):
            session._password = self._password
            session._password_was_asked = self._password_was_asked
        return session

    def for_project(
        self, project_id: str, *, region: str | None = None, share_client: bool = False
    ) -> CloudSession:
        """A session for another project (and perhaps region) of the same user.

        It re-scopes the token this session holds (Keystone's token method), so no password
        is needed; where the cloud refuses that, it logs in with the password held in memory.
        """
        settings = replace(
            self.settings,
            project_id=project_id,
            project_name="",
            region=self.settings.region if region is None else region,
        )
        session = self.with_settings(settings, share_client=share_client)
        if not settings.uses_token:
            session._rescope_from = self._token
        return session

    def _member_id(self) -> str:
        """The project this session decides for (Glance's ``member_id``), as far as known."""
        return self._token.project_id if self._token else self.settings.project_id

    def adopt_token(self, token: Token, *, region: str, image_endpoint: str) -> None:
        """Use ``token`` (of this session's project) for ``region``'s image endpoint: a project
        reached in several regions needs one login, not one per region."""
        adopted = replace(token, region=region, image_endpoint=image_endpoint)
        self._token = self._logged_in = adopted

    # ----------------------------------------------------------------- tokens

    @property
    def current_token(self) -> Token | None:
        """The token in use, if any, without any network call (for the context bar)."""
        return self._token

    def cached_token(self) -> Token | None:
        """A still-fresh token from memory or the cache file, without any network call.

        A token this session logged in for is used until it expires (a refusal before then
        logs in again), so one run never logs in twice for the same scope just because the
        cloud's tokens are short-lived; a token from the cache file must leave its renewal
        margin, because another process may have been using it for a while.
        """
        token = self._token
        if token is not None:
            own = token is self._logged_in
            if token.seconds_left() > (0 if own else token.renewal_margin):
                return token
        if self.cache is None:
            return None
        token = self.cache.get(self.settings.cache_key())
        if token is None or not token.is_fresh():
            return None
        if self.settings.region and token.region and token.region != self.settings.region:
            return None
        if self.settings.ims_endpoint:
            token = replace(token, image_endpoint=strip_version(self.settings.ims_endpoint))
        return token

    async def token(self, *, force_new: bool = False) -> Token:
        """A fresh project-scoped token: memory, then the cache file, then IAM."""
        declined = self._declined
        async with self._auth_lock:
            if not force_new:
                token = self.cached_token()
                if token is not None:
                    self._token = token
                    return token
            problems = self.settings.problems()
            if problems:
                # Asking for a password would not help: say what is missing instead.
                raise ApiError(
                    "the configuration is incomplete: " + "; ".join(problems),
                    hint="Fix it in the config screen, the config file or the OS_* variables.",
                )
            token = await self._log_in(declined)
            self._token = self._logged_in = token
            logsetup.add_secret(token.value)
            if self.cache is not None:
                self.cache.put(self.settings.cache_key(), token)
            return token

    async def _log_in(self, declined: int) -> Token:
        """Log in, asking for the password when none is at hand and again after a wrong one."""
        source = self._rescope_from
        if source is not None and source.seconds_left() > 0:
            try:
                async with self.limiter.logins:
                    return await self._authenticate(rescope=source)
            except ApiError as error:
                if not (error.login and error.status in (400, 401, 403, 404)):
                    raise
                # This cloud does not re-scope (or not this token): the password, if any.
                log.info("re-scoping refused (%s); logging in with the password", error.reason)
                if not self._password:
                    raise
        problem = ""
        while True:
            if not self.settings.uses_token and not self._password:
                # Calls that queued behind a prompt the user declined do not ask again.
                if self._ask_password is None or self._declined != declined:
                    raise PasswordRequired()
                password = await self._ask_password(problem)
                if not password:
                    self._declined += 1
                    raise PasswordRequired()
                logsetup.add_secret(password)
                self._password = password
                self._password_was_asked = True
            try:
                # The login limit covers password logins too: where the cloud refused the
                # re-scoping above, every project of an inbox would otherwise log in at once.
                async with self.limiter.logins:
                    return await self._authenticate()
            except ApiError as error:
                if error.status != 401 or not self._password_was_asked:
                    raise
                # A mistyped password: forget it and ask again, saying why.
                self._password = ""
                problem = error.summary

    async def _invalidate(self, rejected: Token) -> None:
        async with self._auth_lock:
            if self._token is not None and self._token.value == rejected.value:
                self._token = None
            if self.cache is not None:
                cached = self.cache.get(self.settings.cache_key())
                # Another process may already have replaced it with a good one.
                if cached is not None and cached.value == rejected.value:
                    self.cache.drop(self.settings.cache_key())

    async def _authenticate(self, rescope: Token | None = None) -> Token:
        settings = self.settings
        secret = "token" if settings.uses_token or rescope else "password"
        action = "logging in"
        if sends_password_in_clear(settings.auth_url) and not settings.allow_insecure_http:
            raise ApiError(
                f"refusing to send the {secret} over plain http:// to a remote host",
                action=action,
            )
        url = tokens_url(settings.auth_url)
        attempt = 0
        while True:
            self.stats.token_requests += 1
            started = time.perf_counter()
            try:
                response = await fetch(
                    self._client,
                    "POST",
                    url,
                    action=action,
                    json=(
                        token_body(settings, rescope.value)
                        if rescope is not None
                        else auth_body(settings, self._password)
                    ),
                    headers={"Content-Type": "application/json"},
                )
            except (*TRANSPORT_ERRORS, TimeoutError) as exc:
                error = _no_answer(exc, url, action)
                if error.retryable and attempt + 1 < self.retry.attempts:
                    attempt += 1
                    self.stats.retries += 1
                    await self._sleep(self.retry.delay(attempt, None))
                    continue
                raise error from None
            log.debug(
                "POST %s %s %.0fms",
                urlsplit(url).path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if response.status_code in (200, 201):
                try:
                    body = decode_json(response, action)
                except ApiError as error:  # a truncated or garbled answer: like a 5xx
                    if attempt + 1 < self.retry.attempts:
                        attempt += 1
                        self.stats.retries += 1
                        await self._sleep(self.retry.delay(attempt, None))
                        continue
                    raise error from None
                return token_from_response(response.headers, body, settings)
            error = ApiError.from_response(
                response.status_code,
                response.content,
                response.headers.get("Content-Type", ""),
                action="login failed",
            )
            error.login = True
            error.hint = _login_hint(response.status_code, settings) or error.hint
            # Keystone may quote the token it could not find ("Could not find token: …").
            for secret in (settings.token, self._password, rescope.value if rescope else ""):
                if secret and secret in error.message:
                    error.message = error.message.replace(secret, "***")
            if error.retryable and attempt + 1 < self.retry.attempts:
                attempt += 1
                self.stats.retries += 1
                await self._sleep(self.retry.delay(attempt, retry_after(response)))
                continue
            raise error

    # ---------------------------------------------------------------- requests

    async def pause(self, seconds: float) -> None:
        """Wait between polls (the sleep tests replace)."""
        await self._sleep(seconds)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        action: str,
        expect_body: bool = True,
        trace: list[str] | None = None,
    ) -> dict[str, Any]:
        """One IMS call with re-authentication and retries; returns the decoded JSON object.

        ``path`` is relative to the version-less image endpoint (``/v2/images...``) or absolute.
        ``action`` says what the call is for; it travels with any ``ApiError``. ``trace``
        collects the cloud's request id of each answer (for the journal).
        """
        reauthenticated = False
        endpoint_checked = path.startswith(("http://", "https://"))
        attempt = 0
        while True:
            token = await self.token()
            url = path if path.startswith(("http://", "https://")) else token.image_endpoint + path
            self._refuse_clear_text(url, action)
            started = time.perf_counter()
            self.stats.requests += 1
            wait_hint: float | None = None
            unreachable = False
            try:
                async with self.limiter.slot(url):
                    response = await fetch(
                        self._client,
                        method,
                        url,
                        action=action,
                        params=params,
                        json=json_body,
                        headers={"X-Auth-Token": token.value},
                    )
                status = response.status_code
                if trace is not None:
                    request_id = response.headers.get(
                        "x-openstack-request-id"
                    ) or response.headers.get("x-request-id", "")
                    if request_id:
                        trace.append(request_id)
                log.debug(
                    "%s %s %s %.0fms",
                    method,
                    urlsplit(url).path,
                    status,
                    (time.perf_counter() - started) * 1000,
                )
                if 200 <= status < 300:
                    if not expect_body:
                        return {}
                    return decode_json(response, action)
                error = ApiError.from_response(
                    status,
                    response.content,
                    response.headers.get("Content-Type", ""),
                    action=action,
                )
                wait_hint = retry_after(response)
                if status == 401 and not reauthenticated:
                    reauthenticated = True
                    self.stats.reauthentications += 1
                    log.info("token rejected by %s; logging in again", describe_host(url))
                    await self._invalidate(token)
                    continue
            except (*TRANSPORT_ERRORS, TimeoutError) as exc:
                error = _no_answer(exc, url, action)
                unreachable = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            except ApiError as exc:  # malformed body of a 2xx, or an answer over the limit
                error = exc
            if error.retryable and attempt + 1 < self.retry.attempts:
                attempt += 1
                self.stats.retries += 1
                delay = self.retry.delay(attempt, wait_hint)
                log.info("%s; retry %d in %.1fs", error.summary, attempt, delay)
                await self._sleep(delay)
                continue
            if unreachable and not endpoint_checked:
                # No answer from the image endpoint: it may have moved since the token (perhaps
                # cached days ago) was issued. Ask Keystone for the current catalog once.
                endpoint_checked = True
                if await self._refresh_endpoint(token):
                    attempt = 0
                    continue
            raise error

    async def _refresh_endpoint(self, token: Token) -> bool:
        """Re-read the image endpoint from ``GET /v3/auth/catalog`` with the current token
        (no new login); True when it changed and the token now carries the new one."""
        if self.settings.ims_endpoint:
            return False  # configured by the user: the catalog is not ours to follow
        url = catalog_url(self.settings.auth_url)
        try:
            response = await fetch(
                self._client,
                "GET",
                url,
                action="reading the service catalog",
                headers={"X-Auth-Token": token.value},
            )
            self.stats.requests += 1
            if response.status_code != 200:
                return False
            catalog = decode_json(response, "reading the service catalog").get("catalog")
        except (ApiError, TimeoutError, *TRANSPORT_ERRORS):
            return False
        endpoint = image_endpoint_from_catalog(catalog, self.settings.region or token.region)
        if not endpoint or endpoint == token.image_endpoint:
            return False
        log.info("image endpoint moved: %s -> %s", token.image_endpoint, endpoint)
        moved = replace(token, image_endpoint=endpoint)
        async with self._auth_lock:
            if self._token is token:
                self._token = moved
            if self._logged_in is token:
                self._logged_in = moved
            if self.cache is not None:
                self.cache.put(self.settings.cache_key(), moved)
        return True

    def _refuse_clear_text(self, url: str, action: str) -> None:
        """Every URL a token goes to (configured or catalog endpoint, batch API, ``next``
        links, Keystone) obeys one rule: no plain http:// to a remote host unless the user
        opted in with ``allow_insecure_http``."""
        if in_clear_to_remote(url) and not self.settings.allow_insecure_http:
            raise ApiError(
                f"refusing to send the token over plain http:// to {describe_host(url)}",
                hint="Use an https:// image endpoint, or set allow_insecure_http = true "
                "if this network is trusted.",
                action=action,
            )

    # ------------------------------------------------------------------ images

    async def iter_listing(
        self,
        statuses: Iterable[MemberStatus] = ALL_STATUSES,
        *,
        first_page_limit: int | None = None,
    ) -> AsyncIterator[ListingEvent]:
        """Pages of shared images as they arrive, the statuses listed concurrently; a status
        whose listing fails is an event (``StatusFailed``), and the others go on.

        Each status is its own paged listing (the image object has no member status); images
        owned by our own project are dropped (``visibility=shared`` returns those too). The
        first page of each status holds at most ``first_page_limit`` images (default
        ``FIRST_PAGE_LIMIT``), so a UI can show rows early; later pages hold ``PAGE_LIMIT``.
        Every status ends with exactly one ``StatusDone`` or ``StatusFailed``. A failed login
        raises, since no status can be listed then.
        """
        token = await self.token()

        def pages(status: MemberStatus) -> AsyncIterator[list[SharedImage]]:
            return self._pages(status, token, first_page_limit)

        # Closed with this generator, so a caller that stops early cancels the listings now.
        async with contextlib.aclosing(self._listing_events(statuses, pages)) as events:
            async for event in events:
                yield event

    async def _listing_events(
        self,
        statuses: Iterable[MemberStatus],
        pages: Callable[[MemberStatus], AsyncIterator[list[ItemT]]],
    ) -> AsyncIterator[StatusPage[ItemT] | StatusDone | StatusFailed]:
        """``iter_listing``'s events for pages of any kind: each status's ``pages`` run
        concurrently; an ``ApiError`` ends that status with ``StatusFailed``, anything else
        ends the listing."""
        queue: asyncio.Queue[StatusPage[ItemT] | StatusDone | StatusFailed | BaseException] = (
            asyncio.Queue()
        )
        wanted = list(dict.fromkeys(statuses))

        async def pump(status: MemberStatus) -> None:
            try:
                async for page in pages(status):
                    await queue.put(StatusPage(status, page))
            except ApiError as error:
                await queue.put(StatusFailed(status, error))
            except BaseException as exc:
                await queue.put(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                await queue.put(StatusDone(status))

        tasks = [asyncio.create_task(pump(status)) for status in wanted]
        try:
            running = len(tasks)
            while running:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                if not isinstance(item, StatusPage):
                    running -= 1
                yield item
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def iter_shared_pages(
        self,
        statuses: Iterable[MemberStatus] = ALL_STATUSES,
        *,
        first_page_limit: int | None = None,
    ) -> AsyncIterator[tuple[MemberStatus, list[SharedImage]]]:
        """``iter_listing`` for callers that need all or nothing: a failed status raises."""
        async for event in self.iter_listing(statuses, first_page_limit=first_page_limit):
            if isinstance(event, StatusFailed):
                raise event.error
            if isinstance(event, StatusPage):
                yield event.status, event.images

    async def _pages(
        self, status: MemberStatus, token: Token, first_page_limit: int | None = None
    ) -> AsyncIterator[list[SharedImage]]:
        own_project = token.project_id
        async for documents in self._documents(status, token, first_page_limit):
            yield [
                SharedImage.from_api(
                    item,
                    status,
                    member_id=own_project,
                    member_name=token.project_name,
                    region=token.region,
                )
                for item in documents
            ]

    async def _documents(
        self, status: MemberStatus, token: Token, first_page_limit: int | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The image objects of one status's listing, page by page, as the cloud sent them,
        less the ones without an id and the ones our own project owns (``visibility=shared``
        returns those too)."""
        path: str | None = "/v2/images"
        first_limit = min(PAGE_LIMIT, first_page_limit or FIRST_PAGE_LIMIT)
        params: dict[str, Any] | None = {
            "visibility": "shared",
            "member_status": status.value,
            "limit": first_limit,
        }
        action = f"listing {status} images"
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if path is None:
                return
            data = await self.call("GET", path, params=params, action=action)
            images = data.get("images")
            if not isinstance(images, list):
                raise ApiError(
                    "the response has no image list",
                    hint="The endpoint may not be an image service; check the IMS endpoint.",
                    action=action,
                )
            own_project = token.project_id
            yield [
                item
                for item in images
                if isinstance(item, dict) and item.get("id") and item.get("owner") != own_project
            ]
            next_link = data.get("next")
            if not isinstance(next_link, str) or not next_link or next_link in seen or not images:
                return
            seen.add(next_link)
            path, params = self._resolve_next(next_link), None
            if first_limit < PAGE_LIMIT:
                # ``next`` repeats the first request's limit: ask for full pages from here.
                path = _with_limit(path, first_limit, PAGE_LIMIT)
                first_limit = PAGE_LIMIT
        raise ApiError(f"more than {MAX_PAGES} pages; giving up", action=action)

    def _resolve_next(self, link: str) -> str:
        """``next`` is relative to the version-less root (``/v2/images?...``)."""
        if link.startswith(("http://", "https://")):
            parts = urlsplit(link)
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            endpoint_path = urlsplit(self._endpoint()).path
            if endpoint_path and link.startswith(endpoint_path + "/"):
                link = link[len(endpoint_path) :]
        if not link.startswith("/"):
            link = "/" + link
        return link

    def _endpoint(self) -> str:
        return self._token.image_endpoint if self._token else ""

    async def list_shared(
        self, statuses: Iterable[MemberStatus] = ALL_STATUSES
    ) -> list[SharedImage]:
        """All shared images with the given member statuses, one entry per image id; any
        status that cannot be listed raises."""
        listing = await self.list_shares(statuses)
        if listing.failed:
            raise next(iter(listing.failed.values()))
        return listing.images

    async def list_shares(self, statuses: Iterable[MemberStatus] = ALL_STATUSES) -> Listing:
        """What could be listed: the images of every status that answered, and why the
        others did not (their rows are left out, so nothing partial looks complete)."""
        token = await self.token()

        def pages(status: MemberStatus) -> AsyncIterator[list[SharedImage]]:
            # Everything is wanted before anything is shown: full pages from the start.
            return self._pages(status, token, PAGE_LIMIT)

        images, failed = await self._collect(statuses, pages, lambda image: image.id)
        return Listing(images, failed)

    async def list_share_documents(
        self, statuses: Iterable[MemberStatus] = ALL_STATUSES
    ) -> DocumentListing:
        """``list_shares`` for output that needs no model: each image as the JSON object
        ``SharedImage.to_json`` would give (``SharedImage.json_from_api``), with the same
        rules (our own images dropped, one entry per image id, failed statuses reported)."""
        token = await self.token()

        async def pages(status: MemberStatus) -> AsyncIterator[list[dict[str, Any]]]:
            async for documents in self._documents(status, token, PAGE_LIMIT):
                yield [SharedImage.json_from_api(item, status) for item in documents]

        images, failed = await self._collect(statuses, pages, lambda image: image["id"])
        return DocumentListing(images, failed)

    async def _collect(
        self,
        statuses: Iterable[MemberStatus],
        pages: Callable[[MemberStatus], AsyncIterator[list[ItemT]]],
        key: Callable[[ItemT], str],
    ) -> tuple[list[ItemT], dict[MemberStatus, ApiError]]:
        """Every status's pages, one entry per image id; a failed status keeps none of its
        rows (nothing partial looks complete) and says why."""
        by_status: dict[MemberStatus, dict[str, ItemT]] = {}
        failed: dict[MemberStatus, ApiError] = {}
        async with contextlib.aclosing(self._listing_events(statuses, pages)) as events:
            async for event in events:
                if isinstance(event, StatusPage):
                    rows = by_status.setdefault(event.status, {})
                    rows.update((key(image), image) for image in event.images)
                elif isinstance(event, StatusFailed):
                    failed[event.status] = event.error
                    by_status.pop(event.status, None)
        by_id: dict[str, ItemT] = {}
        for rows in by_status.values():
            by_id.update(rows)
        return list(by_id.values()), failed

    async def get_image(self, image_id: str) -> SharedImage:
        data = await self.call(
            "GET", f"/v2/images/{quote(image_id, safe='')}", action=f"reading image {image_id}"
        )
        return SharedImage.from_api(data, None)

    async def get_image_document(self, image_id: str) -> dict[str, Any]:
        """The image as the cloud sends it (``GET /v2/images/{id}``), for a raw view: kept
        only as long as it is shown, since a listing of thousands need not carry it."""
        return await self.call(
            "GET", f"/v2/images/{quote(image_id, safe='')}", action=f"reading image {image_id}"
        )

    async def list_projects(self) -> list[tuple[str, str]]:
        """``(id, name)`` of every project the user may switch to (Keystone auth/projects)."""
        data = await self.call(
            "GET", projects_url(self.settings.auth_url), action="listing your projects"
        )
        projects = data.get("projects")
        if not isinstance(projects, list):
            return []
        found = [
            (str(p["id"]), str(p.get("name") or p["id"]))
            for p in projects
            if isinstance(p, dict) and p.get("id") and p.get("enabled", True) is not False
        ]
        return sorted(found, key=lambda item: item[1].lower())

    async def get_member(self, image_id: str) -> Member:
        """Our member record: when the image was shared with us and when we last decided."""
        token = await self.token()
        action = f"reading the share of {image_id}"
        data = await self.call(
            "GET",
            f"/v2/images/{quote(image_id, safe='')}/members/{quote(token.project_id, safe='')}",
            action=action,
        )
        return _member_from(data, action)

    async def set_status(
        self, image_id: str, status: MemberStatus, *, vault_id: str = ""
    ) -> Member:
        """Set our member status; returns the member record the cloud confirmed."""
        member, _request_id = await self._put_status(image_id, status, vault_id=vault_id)
        return member

    async def _put_status(
        self, image_id: str, status: MemberStatus, *, vault_id: str = ""
    ) -> tuple[Member, str]:
        """``set_status``, also returning the cloud's request id of the PUT (or "")."""
        token = await self.token()
        body: dict[str, Any] = {"status": status.value}
        if vault_id:
            body["vault_id"] = vault_id
        path = f"/v2/images/{quote(image_id, safe='')}/members/{quote(token.project_id, safe='')}"
        action = f"{status.doing} {image_id}"
        trace: list[str] = []
        try:
            data = await self.call("PUT", path, json_body=body, action=action, trace=trace)
            member = _member_from(data, action)
        except ApiError as error:
            if not error.retryable:
                raise
            # The PUT may have been applied before the failure; ask before reporting a failure.
            try:
                member = await self.get_member(image_id)
            except ApiError:
                error.unconfirmed = True  # nobody knows whether it was applied
                raise error from None
            if member.status is status:
                return member, trace[-1] if trace else ""
            raise
        if member.status is not status:
            raise ApiError(
                f"the cloud answered with status {member.status}",
                hint="Refresh and check the image's status.",
                action=action,
            )
        return member, trace[-1] if trace else ""

    async def set_status_many(
        self,
        image_ids: Sequence[str],
        status: MemberStatus,
        *,
        vault_id: str = "",
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        use_batch: bool | None = None,
        on_send: SendCallback | None = None,
    ) -> list[Decision]:
        """Decide many images; one ``Decision`` per image, in order, each also reported to
        ``on_progress`` as it is known.

        Accepting or rejecting two or more images goes through OTC's batch API where the cloud
        offers it (``use_batch`` None: automatic; False: never; True: even for one image), one
        PUT per image with bounded concurrency otherwise (see :mod:`tui.cloud.batch`).
        """
        if self._wants_batch(image_ids, status, use_batch):
            return await self._decide_in_batches(
                image_ids,
                status,
                vault_id=vault_id,
                concurrency=concurrency,
                on_progress=on_progress,
                on_send=on_send,
            )
        return await self._set_status_each(
            image_ids,
            status,
            vault_id=vault_id,
            concurrency=concurrency,
            on_progress=on_progress,
            on_send=on_send,
        )

    def _wants_batch(
        self, image_ids: Sequence[str], status: MemberStatus, use_batch: bool | None
    ) -> bool:
        if status not in batch.BATCH_STATUSES or use_batch is False or self.batch_offered is False:
            return False
        return bool(image_ids) and (use_batch is True or len(set(image_ids)) >= 2)

    async def _decide_in_batches(
        self,
        image_ids: Sequence[str],
        status: MemberStatus,
        *,
        vault_id: str,
        concurrency: int,
        on_progress: ProgressCallback | None,
        on_send: SendCallback | None,
    ) -> list[Decision]:
        """Decide through batch jobs; a chunk the cloud refuses goes one PUT per image.

        A cloud without the batch API is remembered, so later decisions skip the attempt.
        """
        project_id = (await self.token()).project_id
        unique = list(dict.fromkeys(image_ids))
        size = batch.MAX_IMAGES_PER_JOB
        chunks = [unique[start : start + size] for start in range(0, len(unique), size)]

        async def run(chunk: list[str]) -> list[Decision]:
            try:
                decisions = await batch.decide_chunk(
                    self,
                    project_id,
                    chunk,
                    status,
                    vault_id=vault_id,
                    concurrency=concurrency,
                    on_progress=on_progress,
                    on_send=on_send,
                    poll_interval=self.batch_poll_interval,
                    timeout=self.batch_timeout,
                )
            except batch.BatchNotOffered:
                self.batch_offered = False
                log.info("the cloud offers no batch member API; one request per image")
            except ApiError as error:
                log.info("batch request refused (%s); one request per image", error.summary)
            else:
                self.batch_offered = True
                return decisions
            return await self._set_status_each(
                chunk,
                status,
                vault_id=vault_id,
                concurrency=concurrency,
                on_progress=on_progress,
                on_send=on_send,
            )

        by_id: dict[str, Decision] = {}
        for decisions in await asyncio.gather(*(run(chunk) for chunk in chunks)):
            by_id.update((decision.image_id, decision) for decision in decisions)
        return [by_id[image_id] for image_id in image_ids]

    async def _set_status_each(
        self,
        image_ids: Sequence[str],
        status: MemberStatus,
        *,
        vault_id: str,
        concurrency: int,
        on_progress: ProgressCallback | None,
        on_send: SendCallback | None = None,
    ) -> list[Decision]:
        """One PUT per image with bounded concurrency; ``on_send`` hears of each just before
        it goes out."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(image_id: str) -> Decision:
            async with gate:
                if on_send is not None:
                    on_send([image_id], False)
                try:
                    member, request_id = await self._put_status(image_id, status, vault_id=vault_id)
                    decision = Decision(
                        image_id,
                        status,
                        member=member,
                        request_id=request_id,
                        member_id=self._member_id(),
                    )
                except ApiError as error:
                    decision = Decision(image_id, status, error=error, member_id=self._member_id())
            if on_progress is not None:
                on_progress(decision)
            return decision

        return list(await asyncio.gather(*(one(image_id) for image_id in image_ids)))

"""CloudSession: every call the CLI and the app make to IAM and IMS goes through here.

One place decides retries. A 401 drops the cached token, re-authenticates once and repeats the
call. Throttling (429, 503, ``IMG.0060``), 5xx, dropped connections and malformed bodies are
retried with bounded exponential backoff and jitter, honouring ``Retry-After``; every call here is
idempotent (GETs, and member PUTs that set an absolute status), so repeating one is safe.
Anything else becomes one ``ApiError``; callers never see an httpx exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from tui.cloud import batch
from tui.cloud.auth import auth_body, projects_url, token_from_response, tokens_url
from tui.cloud.errors import ApiError
from tui.cloud.http import build_client
from tui.cloud.models import ALL_STATUSES, Member, MemberStatus, SharedImage, Token
from tui.cloud.token_cache import TokenCache
from tui.settings.model import Settings, sends_password_in_clear

log = logging.getLogger("imshare.cloud")

# Glance caps ``limit`` at api_limit_max (1000 by default); asking for the cap keeps round trips
# few without relying on a bigger cap that a cloud may not have.
PAGE_LIMIT = 1000
MAX_PAGES = 10_000
# The app's first page per status is small, so the first rows show before a full page of 1000
# has been transferred, decoded and parsed (and before the other statuses' first pages, which
# share the one event loop); the pages after it are full size again.
FIRST_PAGE_LIMIT = 100


class PasswordRequired(ApiError):
    """No usable cached token and no password: the caller must ask the user for one."""

    def __init__(self) -> None:
        super().__init__(
            "a password is needed to log in",
            hint="Enter it when asked, set OS_PASSWORD, or run imshare login.",
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: at most ``attempts`` tries, waits capped at ``max_delay`` seconds."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(slots=True)
class SessionStats:
    token_requests: int = 0
    requests: int = 0
    retries: int = 0
    reauthentications: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one accept/reject/pending: confirmed by the cloud, or failed with why."""

    image_id: str
    status: MemberStatus
    member: Member | None = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        return self.member is not None and self.error is None


ProgressCallback = Callable[[Decision], None]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # "nan" and "inf" parse as floats; a wait must be a real, bounded number.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


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


def _describe(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


# What a request can raise besides a response: httpx's errors, and TLS alerts that arrive after
# the handshake (a server refusing a missing client certificate under TLS 1.3) as ssl.SSLError.
TRANSPORT_ERRORS = (httpx.HTTPError, ssl.SSLError)


def _transport_error(exc: Exception, url: str) -> ApiError:
    where = _describe(url)
    if isinstance(exc, ssl.SSLError):
        return ApiError(
            f"the TLS connection to {where} failed: {exc.reason or exc}",
            hint="Check the client certificate and key (OS_CERT / OS_KEY) and the CA bundle.",
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return ApiError(
            f"connecting to {where} timed out",
            hint="Check the URL, your network, VPN or HTTPS_PROXY.",
            retryable=True,
        )
    if isinstance(exc, httpx.TimeoutException):
        return ApiError(
            f"{where} did not answer in time",
            hint="The cloud is slow or unreachable; retry later.",
            retryable=True,
        )
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return ApiError(
                f"TLS certificate of {where} could not be verified",
                hint="Set the CA bundle (OS_CACERT / cacert) for this cloud.",
            )
        # Refused connections and unknown hosts do not heal in seconds: say so at once.
        return ApiError(
            f"cannot connect to {where}",
            hint="Check the URL, your network, VPN or HTTPS_PROXY.",
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return ApiError(
            f"the connection to {where} was dropped mid-response",
            hint="The network or the cloud is flaky; retry.",
            retryable=True,
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ApiError(f"invalid URL {url!r}", hint="Check the auth URL and IMS endpoint.")
    return ApiError(
        f"network error talking to {where}: {type(exc).__name__}",
        hint="Check your network and retry.",
        retryable=True,
    )


def _decode_json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except ValueError:
        raise ApiError(
            f"{what}: the cloud sent a malformed response",
            status=response.status_code,
            hint="Retry; if it persists the cloud or a proxy is misbehaving.",
            retryable=True,
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            f"{what}: the cloud sent an unexpected response",
            status=response.status_code,
            retryable=True,
        )
    return data


def _member_from(data: dict[str, Any], what: str) -> Member:
    """A member record, or ``ApiError`` when the cloud's answer is not one."""
    try:
        return Member.from_api(data)
    except ValueError as exc:
        raise ApiError(
            f"{what}: the cloud sent an unusable member record ({exc})",
            hint="Refresh and check the image's status.",
            retryable=True,
        ) from None


class CloudSession:
    """A logged-in view of one project's image service.

    Use as ``async with CloudSession(settings, cache) as session:``. The session owns one httpx
    client; it is cheap to keep open for the life of the app.
    """

    def __init__(
        self,
        settings: Settings,
        cache: TokenCache | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.retry = retry or RetryPolicy()
        self.stats = SessionStats()
        self._sleep = sleep
        self._client = build_client(settings, transport)
        self._token: Token | None = None
        self._auth_lock = asyncio.Lock()
        # OTC's batch member API (tui.cloud.batch): None until a batch PUT tells.
        self.batch_offered: bool | None = None
        self.batch_poll_interval = batch.POLL_INTERVAL
        self.batch_timeout = batch.JOB_TIMEOUT

    async def __aenter__(self) -> CloudSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # ----------------------------------------------------------------- tokens

    @property
    def current_token(self) -> Token | None:
        """The token in use, if any, without any network call (for the context bar)."""
        return self._token

    def cached_token(self) -> Token | None:
        """A still-fresh token from memory or the cache file, without any network call."""
        if self._token and self._token.is_fresh():
            return self._token
        if self.cache is None:
            return None
        token = self.cache.get(self.settings.cache_key())
        if token is None or not token.is_fresh():
            return None
        if self.settings.region and token.region and token.region != self.settings.region:
            return None
        if self.settings.ims_endpoint:
            from dataclasses import replace

            from tui.cloud.auth import strip_version

            token = replace(token, image_endpoint=strip_version(self.settings.ims_endpoint))
        return token

    async def token(self, *, force_new: bool = False) -> Token:
        """A fresh project-scoped token: memory, then the cache file, then IAM."""
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
            if self.settings.needs_password:
                raise PasswordRequired()
            token = await self._authenticate()
            self._token = token
            if self.cache is not None:
                self.cache.put(self.settings.cache_key(), token)
            return token

    def forget_token(self) -> bool:
        """Drop the token from memory and from the cache file (``imshare logout``)."""
        self._token = None
        if self.cache is None:
            return False
        return self.cache.drop(self.settings.cache_key())

    async def _invalidate(self, rejected: Token) -> None:
        async with self._auth_lock:
            if self._token is not None and self._token.value == rejected.value:
                self._token = None
            if self.cache is not None:
                cached = self.cache.get(self.settings.cache_key())
                # Another process may already have replaced it with a good one.
                if cached is not None and cached.value == rejected.value:
                    self.cache.drop(self.settings.cache_key())

    async def _authenticate(self) -> Token:
        settings = self.settings
        secret = "token" if settings.uses_token else "password"
        if sends_password_in_clear(settings.auth_url) and not settings.allow_insecure_http:
            raise ApiError(f"refusing to send the {secret} over plain http:// to a remote host")
        url = tokens_url(settings.auth_url)
        attempt = 0
        while True:
            self.stats.token_requests += 1
            started = time.perf_counter()
            try:
                response = await self._client.post(
                    url,
                    json=auth_body(settings),
                    headers={"Content-Type": "application/json"},
                )
            except TRANSPORT_ERRORS as exc:
                error = _transport_error(exc, url)
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
                body = _decode_json(response, "login")
                return token_from_response(response.headers, body, settings)
            error = ApiError.from_response(
                response.status_code,
                response.content,
                response.headers.get("Content-Type", ""),
                context="login failed",
            )
            if response.status_code == 401 and settings.uses_token:
                error.hint = (
                    "The token was not accepted (expired, revoked or not valid for this "
                    "project): get a new one (OS_TOKEN) or log in with a password."
                )
            elif response.status_code == 401:
                error.hint = (
                    "Check the user name, password, user domain and project "
                    "(and that the user may use the API)."
                )
            if error.is_throttled and attempt + 1 < self.retry.attempts:
                attempt += 1
                self.stats.retries += 1
                await self._sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            raise error

    # ---------------------------------------------------------------- requests

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        what: str,
        expect_body: bool = True,
    ) -> dict[str, Any]:
        """One IMS call with re-authentication and retries; returns the decoded JSON object.

        ``path`` is relative to the version-less image endpoint (``/v2/images...``) or absolute.
        """
        reauthenticated = False
        attempt = 0
        while True:
            token = await self.token()
            url = path if path.startswith(("http://", "https://")) else token.image_endpoint + path
            started = time.perf_counter()
            self.stats.requests += 1
            try:
                response = await self._client.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers={"X-Auth-Token": token.value},
                )
                status = response.status_code
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
                    return _decode_json(response, what)
                error = ApiError.from_response(
                    status, response.content, response.headers.get("Content-Type", ""), context=what
                )
                retry_after = _retry_after(response)
                if status == 401 and not reauthenticated:
                    reauthenticated = True
                    self.stats.reauthentications += 1
                    log.info("token rejected by %s; logging in again", _describe(url))
                    await self._invalidate(token)
                    continue
            except TRANSPORT_ERRORS as exc:
                error = _transport_error(exc, url)
                error.message = f"{what}: {error.message}"
                retry_after = None
            except ApiError as exc:  # malformed body of a 2xx
                error = exc
                retry_after = None
            if error.retryable and attempt + 1 < self.retry.attempts:
                attempt += 1
                self.stats.retries += 1
                delay = self.retry.delay(attempt, retry_after)
                log.info("%s: %s; retry %d in %.1fs", what, error.summary, attempt, delay)
                await self._sleep(delay)
                continue
            raise error

    # ------------------------------------------------------------------ images

    async def iter_shared_pages(
        self,
        statuses: Iterable[MemberStatus] = ALL_STATUSES,
        *,
        first_page_limit: int | None = None,
    ) -> AsyncIterator[tuple[MemberStatus, list[SharedImage]]]:
        """Yield pages of shared images as they arrive, the statuses listed concurrently.

        Each status is its own paged listing (the image object has no member status); images
        owned by our own project are dropped (``visibility=shared`` returns those too). The
        first page of each status holds at most ``first_page_limit`` images (default
        ``FIRST_PAGE_LIMIT``), so a UI can show rows early; later pages hold ``PAGE_LIMIT``.
        """
        token = await self.token()
        queue: asyncio.Queue[tuple[MemberStatus, list[SharedImage]] | BaseException | None] = (
            asyncio.Queue()
        )
        wanted = list(dict.fromkeys(statuses))

        async def pump(status: MemberStatus) -> None:
            try:
                async for page in self._pages(status, token.project_id, first_page_limit):
                    await queue.put((status, page))
            except BaseException as exc:
                await queue.put(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                await queue.put(None)

        tasks = [asyncio.create_task(pump(status)) for status in wanted]
        try:
            running = len(tasks)
            while running:
                item = await queue.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _pages(
        self, status: MemberStatus, own_project: str, first_page_limit: int | None = None
    ) -> AsyncIterator[list[SharedImage]]:
        path: str | None = "/v2/images"
        first_limit = min(PAGE_LIMIT, first_page_limit or FIRST_PAGE_LIMIT)
        params: dict[str, Any] | None = {
            "visibility": "shared",
            "member_status": status.value,
            "limit": first_limit,
        }
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if path is None:
                return
            data = await self._call("GET", path, params=params, what=f"listing {status} images")
            images = data.get("images")
            if not isinstance(images, list):
                raise ApiError(
                    f"listing {status} images: the response has no image list",
                    hint="The endpoint may not be an image service; check the IMS endpoint.",
                )
            yield [
                SharedImage.from_api(item, status)
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
        raise ApiError(f"listing {status} images: more than {MAX_PAGES} pages; giving up")

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
        """All shared images with the given member statuses, one entry per image id."""
        by_id: dict[str, SharedImage] = {}
        # Everything is wanted before anything is shown: full pages from the start.
        async for _status, page in self.iter_shared_pages(statuses, first_page_limit=PAGE_LIMIT):
            for image in page:
                by_id[image.id] = image
        return list(by_id.values())

    async def get_image(self, image_id: str) -> SharedImage:
        data = await self._call(
            "GET", f"/v2/images/{quote(image_id, safe='')}", what=f"reading image {image_id}"
        )
        return SharedImage.from_api(data, None)

    async def list_projects(self) -> list[tuple[str, str]]:
        """``(id, name)`` of every project the user may switch to (Keystone auth/projects)."""
        data = await self._call(
            "GET", projects_url(self.settings.auth_url), what="listing your projects"
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
        data = await self._call(
            "GET",
            f"/v2/images/{quote(image_id, safe='')}/members/{quote(token.project_id, safe='')}",
            what=f"reading the share of {image_id}",
        )
        return _member_from(data, f"reading the share of {image_id}")

    async def set_status(
        self, image_id: str, status: MemberStatus, *, vault_id: str = ""
    ) -> Member:
        """Set our member status; returns the member record the cloud confirmed."""
        token = await self.token()
        body: dict[str, Any] = {"status": status.value}
        if vault_id:
            body["vault_id"] = vault_id
        path = f"/v2/images/{quote(image_id, safe='')}/members/{quote(token.project_id, safe='')}"
        verb = {"accepted": "accepting", "rejected": "rejecting", "pending": "resetting"}[status]
        try:
            data = await self._call("PUT", path, json_body=body, what=f"{verb} {image_id}")
            member = _member_from(data, f"{verb} {image_id}")
        except ApiError as error:
            if not error.retryable:
                raise
            # The PUT may have been applied before the failure; ask before reporting a failure.
            with contextlib.suppress(ApiError):
                member = await self.get_member(image_id)
                if member.status is status:
                    return member
            raise
        if member.status is not status:
            raise ApiError(
                f"{verb} {image_id}: the cloud answered with status {member.status}",
                hint="Refresh and check the image's status.",
            )
        return member

    async def set_status_many(
        self,
        image_ids: Sequence[str],
        status: MemberStatus,
        *,
        vault_id: str = "",
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        use_batch: bool | None = None,
    ) -> list[Decision]:
        """Decide many images; one ``Decision`` per image, in order, each also reported to
        ``on_progress`` as it is known.

        Accepting or rejecting two or more images goes through OTC's batch API where the cloud
        offers it (``use_batch`` None: automatic; False: never; True: even for one image), one
        PUT per image with bounded concurrency otherwise (see :mod:`tui.cloud.batch`).
        """
        if batch.wants_batch(self, image_ids, status, use_batch):
            return await batch.decide_in_batches(
                self,
                image_ids,
                status,
                vault_id=vault_id,
                concurrency=concurrency,
                on_progress=on_progress,
            )
        return await self._set_status_each(
            image_ids, status, vault_id=vault_id, concurrency=concurrency, on_progress=on_progress
        )

    async def _set_status_each(
        self,
        image_ids: Sequence[str],
        status: MemberStatus,
        *,
        vault_id: str,
        concurrency: int,
        on_progress: ProgressCallback | None,
    ) -> list[Decision]:
        """One PUT per image with bounded concurrency."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(image_id: str) -> Decision:
            async with gate:
                try:
                    member = await self.set_status(image_id, status, vault_id=vault_id)
                    decision = Decision(image_id, status, member=member)
                except ApiError as error:
                    decision = Decision(image_id, status, error=error)
            if on_progress is not None:
                on_progress(decision)
            return decision

        return list(await asyncio.gather(*(one(image_id) for image_id in image_ids)))

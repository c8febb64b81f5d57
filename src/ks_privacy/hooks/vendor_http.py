"""What every vendor client shares: a rate limit, retries that honour Retry-After, timeouts, and
vendor errors turned into a few clear exceptions that never carry personal data.

Retries come from tenacity and pacing from pyrate-limiter: no hand-written loops.
"""

from __future__ import annotations

import functools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import requests
from pyrate_limiter import Duration, Limiter, Rate
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

log = logging.getLogger("ks_privacy.hooks")
T = TypeVar("T")
R = TypeVar("R")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 120.0
_QUERY = re.compile(r"\?\S*")


class HideQueries(logging.Filter):
    """urllib3 logs every request's URL at DEBUG, and a lookup's query carries an address
    (ActiveCampaign `contacts?email=...`, percent-encoded, which the secret masker does not
    recognise): its log lines keep the path and lose the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY.sub("?<query hidden>", a) if isinstance(a, str) else a for a in record.args
            )
        return True


logging.getLogger("urllib3.connectionpool").addFilter(HideQueries())


class VendorError(RuntimeError):
    """A vendor call failed. Messages hold the vendor, operation and status: never a value."""

    def __init__(self, vendor: str, operation: str, status: int | None, detail: str = ""):
        self.vendor, self.operation, self.status, self.detail = vendor, operation, status, detail
        text = f"{vendor} {operation} failed"
        if status is not None:
            text += f" with HTTP {status}"
        super().__init__(f"{text}{': ' + detail if detail else ''}")


class VendorAuthError(VendorError):
    """Credentials refused: fail at once, retrying cannot help."""


class VendorNotFound(VendorError):
    """The record does not exist (any more): for a delete, that means already absent."""


class VendorRetryable(VendorError):
    """Rate limited or a server fault: retried with backoff."""

    def __init__(self, *args, retry_after: float | None = None):
        super().__init__(*args)
        self.retry_after = retry_after


# Network faults worth another try. requests' own messages name the URL, query string included
# (an e-mail address in a search), so they are replaced by VendorRetryable, never passed on.
NETWORK_FAULTS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, VendorRetryable | requests.ConnectionError | requests.Timeout)


class _WaitRetryAfter:
    """Wait what the vendor asked for (Retry-After), else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float):
        self._fallback = wait_exponential_jitter(initial=initial, max=maximum)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return min(max(asked, 0.0), MAX_RETRY_AFTER)
        return self._fallback(state)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "retrying after %s (attempt %d)", type(exc).__name__ if exc else "?", state.attempt_number
    )


@dataclass(frozen=True)
class ConnectionExtras:
    """A connection's extras as the hooks read them: numbers checked, and an error that names the
    connection and the field (never its value, which could be a secret pasted in the wrong box).
    `get` reads one extra (a dict's `get`, GoogleBaseHook's `_get_field`)."""

    vendor: str
    conn_id: str
    get: Callable[[str], object]

    def error(self, text: str) -> VendorError:
        return VendorError(
            self.vendor, "configuration", None, f"connection {self.conn_id!r} {text}"
        )

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """A positive number (> `minimum`); the default when unset or empty."""
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = float("nan")
        if not number > minimum:  # NaN fails too
            raise self.error(f"extra `{name}` must be a number above {minimum:g}")
        return number

    def whole(self, name: str, default: int, *, minimum: int = 1) -> int:
        """A whole number (>= `minimum`); the default when unset or empty."""
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(str(value))
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise self.error(f"extra `{name}` must be a whole number of at least {minimum}")
        return number


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    max_seconds: float = 300.0
    initial_backoff: float = 0.5
    max_backoff: float = 30.0

    @classmethod
    def from_extras(cls, extras: ConnectionExtras) -> RetryPolicy:
        """From connection extras `retry_attempts` (tries in all, the first included) and
        `retry_max_seconds` where set."""
        return cls(
            attempts=extras.whole("retry_attempts", cls.attempts),
            max_seconds=extras.number("retry_max_seconds", cls.max_seconds),
        )

    def wrap(self, fn: Callable) -> Callable:
        return retry(
            retry=retry_if_exception(_is_retryable),
            wait=_WaitRetryAfter(self.initial_backoff, self.max_backoff),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            before_sleep=_log_retry,
            reraise=True,
        )(fn)


TEST_RETRY = RetryPolicy(attempts=1)  # a connection test answers at once: no retries


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta-seconds form; an HTTP date falls back to backoff)."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


PACING_WINDOW_MS = 100
PACING_MARGIN = 0.98  # of the documented rate: see make_limiter


def make_limiter(per_second: float) -> Limiter:
    """Client-side pacing at the vendor's documented rate, so we rarely meet a 429 at all.

    At most k requests in any window of k/rate seconds, with k chosen so that the window is
    about 100 ms (k = 1, one request per 1/rate seconds evenly spaced, at ActiveCampaign's 5/s
    and below 15/s). A whole second's worth in a one-second window would allow bursts
    that a vendor's own window (aligned differently) answers with 429; a short window allows
    none of that, yet a wait that oversleeps by a millisecond (or a few milliseconds spent
    writing evidence between calls) is made up within the window instead of being lost on
    every call, which at 100 requests/s cost 15 % of the rate.

    The pace is PACING_MARGIN of the rate: requests evenly spaced when sent arrive over the
    internet tens of milliseconds closer together or further apart, and a vendor counting
    arrivals in its own one-second window answers the early one with a 429 whose Retry-After
    is a whole second. 2 % leaves 20 ms in every second, for 2 % of the rate.
    """
    if per_second <= 0:
        raise ValueError("requests_per_second must be a positive number")
    interval_ms = Duration.SECOND.value / (per_second * PACING_MARGIN)  # Duration is an enum
    per_window = max(1, round(PACING_WINDOW_MS / interval_ms))
    # buffer_ms: pyrate-limiter adds it to every wait; its default (50 ms) would cap us at 20/s
    return Limiter(Rate(per_window, max(1, round(per_window * interval_ms))), buffer_ms=1)


@functools.cache
def account_limiter(account: str, per_second: float) -> Limiter:
    """One limiter per vendor account (and rate) in a process: every hook on the account, one
    after another or in threads, shares its pace. A fresh limiter per hook would let a new
    step's first call follow the last step's last call at once, which a vendor's one-second
    window answers with a 429 (seen in the benchmark: one at nearly every step boundary)."""
    return make_limiter(per_second)


class VendorSession:
    """A requests session with pacing, retries and error mapping for one vendor account."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        session: requests.Session | None = None,
        per_second: float = 5.0,
        timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        error_detail: Callable[[requests.Response], str] | None = None,
        max_in_flight: int = 1,
        account: str | None = None,
    ):
        """`account`: what the vendor's rate limit counts per (default: the base URL, which is
        the account at ActiveCampaign); calls on one account share one limiter."""
        self.vendor = vendor
        self.max_in_flight = max(1, int(max_in_flight))  # calls at once, for `in_flight`
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        if auth:
            self.session.auth = auth
        self._limiter = account_limiter(account or self.base_url, float(per_second))
        self._error_detail = error_detail or (lambda response: "")
        self._send = (retry_policy or RetryPolicy()).wrap(self._send_once)
        self.calls = 0
        self.paced_seconds = 0.0  # time spent waiting for the rate limit
        self.http_seconds = 0.0  # time spent in requests (sending and waiting for the answer)
        self._counting = threading.Lock()  # calls may go out from a few threads (`in_flight`)
        self._resume_at = 0.0  # after a Retry-After, no call from any thread before this (the
        # thread that met it waits in its retry; with one call at a time that is all)

    def request(self, method: str, path: str, operation: str, **kwargs) -> requests.Response:
        """Send one logical request (retried as needed); returns a 2xx response or raises."""
        return self._send(method, path, operation, **kwargs)

    def _send_once(self, method: str, path: str, operation: str, **kwargs) -> requests.Response:
        waiting = time.monotonic()
        while True:
            self._limiter.try_acquire(self.vendor)
            started = time.monotonic()
            if self.max_in_flight <= 1 or self._resume_at <= started:
                break
            time.sleep(self._resume_at - started)  # a 429 in one thread holds all of them back
        with self._counting:
            self.paced_seconds += started - waiting
            self.calls += 1
        try:
            response = self.session.request(
                method, f"{self.base_url}/{path.lstrip('/')}", timeout=self.timeout, **kwargs
            )
        except requests.Timeout:
            raise VendorRetryable(
                self.vendor, operation, None, f"no answer within {self.timeout:g}s"
            ) from None
        except NETWORK_FAULTS as exc:
            raise VendorRetryable(
                self.vendor, operation, None, f"connection failed ({type(exc).__name__})"
            ) from None
        except requests.RequestException as exc:
            raise VendorError(self.vendor, operation, None, type(exc).__name__) from None
        took = time.monotonic() - started
        with self._counting:
            self.http_seconds += took
        log.debug("%s %s -> %s in %.2fs", operation, method, response.status_code, took)
        status = response.status_code
        if status < 400:
            return response
        detail = _safe_detail(self._error_detail(response))
        if status in RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after and self.max_in_flight > 1:
                resume = time.monotonic() + min(retry_after, MAX_RETRY_AFTER)
                with self._counting:
                    self._resume_at = max(self._resume_at, resume)
            raise VendorRetryable(self.vendor, operation, status, detail, retry_after=retry_after)
        if status in (401, 403):
            raise VendorAuthError(
                self.vendor,
                operation,
                status,
                f"credentials refused{' (' + detail + ')' if detail else ''}; check the "
                "connection's token or key",
            )
        if status == 404:
            raise VendorNotFound(self.vendor, operation, status, detail)
        raise VendorError(self.vendor, operation, status, detail)


def _safe_detail(text: str) -> str:
    """A vendor's error text, cut short and without anything that looks like an address."""
    words = [w for w in text.split() if "@" not in w and not any(c.isdigit() for c in w[1:])]
    return " ".join(words)[:160]


def in_flight(fn: Callable[[T], R], items: Sequence[T], limit: int) -> Iterator[R]:
    """`fn` over `items` (one vendor call each), with up to `limit` calls under way at once, the
    results in the order of `items`. The session's limiter still paces every call: this only
    keeps the rate reachable when a vendor's answer takes longer than the gap between two calls
    (200 ms at ActiveCampaign's 5 requests/s). An error stops what has not started; it is raised
    where its item's result would have come."""
    if limit <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="ks-calls") as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """`items` (a vendor's pages), fetched in a background thread up to `depth` ahead of the
    consumer, so the next page is on its way while this one is decided on: a scan then takes
    about the longer of the two, not their sum. The pages are the same, in the same order; the
    producer reads on until the iterable ends (or the consumer stops), so a stop condition
    belongs in the iterable, not only in the consumer. An error fetching a page is raised where
    the consumer would have met it.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    worker = threading.Thread(target=produce, name="ks-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=1.0)  # a request in flight finishes on its own; nothing waits for it

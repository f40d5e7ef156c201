"""A loopback HTTP server that answers the client with scripted responses and records what it sent.

A test double for the client (request bodies, headers, retries, error handling, faults), not a fake Elasticsearch:
it knows nothing of indices, queries or documents. Each test scripts the replies, mostly the recorded bodies in
`../shared/reference/es-examples/` (`example()`: the test is skipped when they are absent, failed under
REQUIRE_SHARED=1, as tests/conftest.py decides).
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.conftest import SHARED, shared_path

EXAMPLES = SHARED / "reference" / "es-examples"

INFO: dict[str, Any] = {
    "name": "es01",
    "cluster_name": "stub",
    "cluster_uuid": "stub",
    # a release whose Kibana writes alerts as rule-runner does (Kibana mode refuses older clusters)
    "version": {"number": "9.5.2", "build_flavor": "default", "lucene_version": "10.2.2"},
    "tagline": "You Know, for Search",
}


def example(name: str) -> dict[str, Any]:
    """A recorded example by file name prefix (`"20"` → `20_bulk_create_mixed_201_409.json`)."""
    [path] = sorted(shared_path("reference", "es-examples").glob(f"{name}*.json"))
    recorded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return recorded


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def ndjson(self) -> list[Any]:
        return [json.loads(line) for line in self.raw.decode().splitlines() if line.strip()]


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    delay: float = 0.0  # seconds before answering: longer than the client's timeout is a timeout
    drop: bool = False  # close the connection without an answer
    close: bool = False  # answer, then close the connection (no keep-alive)
    headers: dict[str, str] = field(default_factory=dict)
    product: str | None = "Elasticsearch"  # the X-Elastic-Product header; None: absent, as from another server


Rule = tuple[str, re.Pattern[str], Callable[[Recorded], Reply] | Reply, Callable[[Recorded], bool] | None]


class Stub:
    """`expect(method, path_regex, reply, when=predicate)` queues a one-time reply for matching requests (first
    queued first); `always(...)` a standing one (first registered first). Unmatched requests get 500 `no scripted
    reply`, which fails the test loudly."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._once: deque[Rule] = deque()
        self._always: list[Rule] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in separate writes: without this, Nagle and delayed ACKs add ~40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                parts = urlsplit(self.path)
                request = Recorded(self.command, parts.path, dict(parse_qsl(parts.query)),
                                   {k.lower(): v for k, v in self.headers.items()}, raw)
                reply = stub._reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                body = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                if reply.product is not None:
                    self.send_header("X-Elastic-Product", reply.product)
                self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
                self.send_header("Content-Length", str(len(body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def expect(self, method: str, path: str, reply: Reply | Callable[[Recorded], Reply],
               when: Callable[[Recorded], bool] | None = None) -> None:
        with self._lock:
            self._once.append((method, re.compile(path), reply, when))

    def always(self, method: str, path: str, reply: Reply | Callable[[Recorded], Reply],
               when: Callable[[Recorded], bool] | None = None) -> None:
        with self._lock:
            self._always.append((method, re.compile(path), reply, when))

    def _reply(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            for rule in list(self._once):
                if self._matches(rule, request):
                    self._once.remove(rule)
                    return self._make(rule[2], request)
            for rule in self._always:
                if self._matches(rule, request):
                    return self._make(rule[2], request)
        return Reply(500, {"error": {"type": "stub", "reason": f"no scripted reply for {request.method} "
                                                                 f"{request.path}"}, "status": 500})

    @staticmethod
    def _matches(rule: Rule, request: Recorded) -> bool:
        when = rule[3]
        return (rule[0] == request.method and rule[1].fullmatch(request.path) is not None
                and (when is None or when(request)))

    @staticmethod
    def _make(reply: Reply | Callable[[Recorded], Reply], request: Recorded) -> Reply:
        return reply(request) if callable(reply) else reply

    def sent(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    def unanswered(self) -> list[str]:
        return [f"{m} {p.pattern}" for m, p, _, _ in self._once]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def vanish(self) -> None:
        """From now on nothing listens: new connections are refused (call from a reply, which should `close`)."""
        self.close()


def refused_url() -> str:
    """An address where nothing listens (a stub's, once closed): connecting is refused."""
    gone = Stub()
    url = gone.url
    gone.close()
    return url


def bulk_ack(request: Recorded, statuses: dict[int, int] | None = None) -> Reply:
    """A `_bulk` answer with an item per action, 201 unless `statuses` (by position) says otherwise."""
    items = []
    for n, line in enumerate(request.ndjson[::2]):
        op, action = next(iter(line.items()))
        status = (statuses or {}).get(n, 201)
        item: dict[str, Any] = {"_index": action.get("_index"), "_id": action.get("_id"), "status": status}
        if status == 409:
            item["error"] = {"type": "version_conflict_engine_exception",
                             "reason": f"[{action.get('_id')}]: version conflict, document already exists "
                                       "(current version [1])"}
        elif status == 429:
            item["error"] = {"type": "es_rejected_execution_exception", "reason": "rejected execution of ..."}
        elif status >= 300:
            item["error"] = {"type": "document_parsing_exception", "reason": "failed to parse field [x]"}
        items.append({op: item})
    return Reply(200, {"took": 1, "errors": any(s >= 300 for s in (statuses or {}).values()), "items": items})


def standalone_cluster(stub: Stub, search: Reply) -> None:
    """A cluster as a first `run` in standalone mode meets it: the alerts template and write index created, the
    state indices there, no state, `search` for every EQL search, no alert written yet, every bulk acknowledged."""
    stub.always("GET", "/", Reply(200, INFO))
    stub.always("PUT", "/_index_template/.*", Reply(200, {"acknowledged": True}))
    stub.always("HEAD", "/_alias/rule-runner-alerts-default", Reply(404))
    stub.always("PUT", "/rule-runner-alerts-default-000001", Reply(200, {"acknowledged": True}))
    stub.always("HEAD", "/rule-runner-(state|executions)", Reply(200))
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search", search)
    stub.always("POST", "/rule-runner-alerts-default/_search", Reply(200, {"hits": {"hits": []}}))
    stub.always("PUT", "/_bulk", bulk_ack)


def first_op(request: Recorded) -> str:
    lines = request.ndjson
    return next(iter(lines[0])) if lines else ""


def error_body(status: int, kind: str, reason: str) -> dict[str, Any]:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
            "status": status}


__all__ = ["EXAMPLES", "INFO", "Recorded", "Reply", "Stub", "bulk_ack", "error_body", "example", "first_op",
           "standalone_cluster"]

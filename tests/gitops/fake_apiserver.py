"""An in-memory PyTorchJob (or TrainJob) API behind the official client's CustomObjectsApi.

The client's own code builds the URLs, query strings, headers and bodies; only the HTTP
transport (`ApiClient.rest_client`) is replaced by `FakeServer`, which answers like a
kube-apiserver for one resource of contract.RELEASE_TARGETS (pytorchjobs by default): GET one,
GET a list (labelSelector k=v), and PATCH with application/merge-patch+json (RFC 7386), bumping
resourceVersion.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from kubernetes import client

from fltkc import contract


@dataclass
class _Response:
    status: int
    reason: str
    data: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class FakeServer:
    """Stored PyTorchJobs by (namespace, name), and every request seen (method, path, type)."""

    def __init__(self, backend: str = "pytorchjob") -> None:
        self.target = contract.RELEASE_TARGETS[backend]
        self.prefix = f"/apis/{self.target.group}/{self.target.version}/namespaces/"
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.version = 1
        self.fail_next: list[int] = []  # statuses to answer the next requests with

    def create(self, namespace: str, obj: dict[str, Any]) -> None:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta.update(namespace=namespace, uid=f"uid-{meta['name']}", generation=1)
        meta["creationTimestamp"] = "2025-01-01T00:00:00Z"
        self._stamp(obj)
        self.jobs[(namespace, meta["name"])] = obj

    def set_condition(self, namespace: str, name: str, kind: str) -> None:
        job = self.jobs[(namespace, name)]
        condition = {"type": kind, "status": "True", "reason": f"Job{kind}"}
        job.setdefault("status", {}).setdefault("conditions", []).append(condition)
        self._stamp(job)

    def _stamp(self, obj: dict[str, Any]) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)

    def request(self, method: str, url: str, headers: Any = None, body: Any = None,
                post_params: Any = None, _request_timeout: Any = None) -> Any:  # fmt: skip
        parsed = urlparse(url)
        content_type = (headers or {}).get("Content-Type")
        self.requests.append((method, parsed.path, content_type))
        if self.fail_next:
            return self._error(self.fail_next.pop(0), "Injected")
        if not parsed.path.startswith(self.prefix):
            return self._error(404, "NotFound")
        namespace, plural, *rest = parsed.path[len(self.prefix) :].split("/")
        assert plural == self.target.plural, parsed.path
        if not rest:
            assert method == "GET"
            return self._list(namespace, parse_qs(parsed.query).get("labelSelector", [""])[0])
        key = (namespace, rest[0])
        if key not in self.jobs:
            return self._error(404, "NotFound", rest[0])
        if method == "PATCH":
            assert content_type == "application/merge-patch+json", content_type
            patch = json.loads(body) if isinstance(body, (str, bytes)) else body
            self.jobs[key] = merge_patch(self.jobs[key], patch)
            self._stamp(self.jobs[key])
        return self._ok(self.jobs[key])

    def _list(self, namespace: str, selector: str) -> Any:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if part)
        items = [
            job
            for (ns, _), job in sorted(self.jobs.items())
            if ns == namespace
            and all(job["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        body = {"apiVersion": f"{self.target.group}/{self.target.version}", "kind": "List",
                "items": items, "metadata": {"resourceVersion": str(self.version)}}  # fmt: skip
        return self._ok(body)

    def _ok(self, obj: Any) -> Any:
        return client.rest.RESTResponse(_Response(200, "OK", json.dumps(obj).encode()))

    def _error(self, status: int, reason: str, name: str = "") -> Any:
        message = f'{self.target.plural}.{self.target.group} "{name}" {reason}'
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                "message": message, "code": status}  # fmt: skip
        return client.rest.RESTResponse(_Response(status, reason, json.dumps(body).encode()))


def custom_objects_api(server: FakeServer) -> client.CustomObjectsApi:
    """The real CustomObjectsApi whose HTTP requests `server` answers."""
    configuration = client.Configuration()
    configuration.host = "https://fake-apiserver.invalid"
    api_client = client.ApiClient(configuration)
    api_client.rest_client = server  # type: ignore[assignment]
    return client.CustomObjectsApi(api_client)

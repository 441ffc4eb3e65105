"""The requests of the CRS go-ftw regression suite, byte for byte as go-ftw
sends them (the same rules as `conformance::ftw::build_request` in
crates/conformance/src/ftw.rs): headers sorted by name, `Connection: close`
and `Content-Length` added, form data query-escaped unless already
percent-encoded, LF turned into CRLF in multipart bodies, and
`encoded_request` decoded from base64 as is.

Owns: reading the YAML files and building request bytes. Must not look at
the tests' expected outputs: the differential run compares engines with
each other, not with the suite's expectations.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import yaml


def load_suite(tests_dir: Path) -> list[tuple[str, bytes]]:
    """Every stage of every test under `tests_dir`, as (name, raw request).

    The name is `RULE-TEST` or `RULE-TEST.STAGE` for tests of several stages.
    Scalars are read as the text written in the file (yaml BaseLoader), as
    go-ftw reads them into strings.
    """
    if not tests_dir.is_dir():
        raise SystemExit(f"differential: go-ftw suite not found at {tests_dir}")
    out: list[tuple[str, bytes]] = []
    files = [p for p in tests_dir.rglob("*") if p.suffix in (".yaml", ".yml")]
    for f in sorted(files):
        doc = yaml.load(f.read_text(), Loader=yaml.BaseLoader)
        if not doc:
            continue
        rule_id = doc.get("rule_id", f.stem)
        for test in doc.get("tests") or []:
            stages = test.get("stages") or []
            for n, stage in enumerate(stages, 1):
                name = f"{rule_id}-{test['test_id']}"
                if len(stages) > 1:
                    name += f".{n}"
                try:
                    raw = build_request(stage.get("input") or {})
                except ValueError as e:
                    raise SystemExit(f"differential: {f}: test {name}: {e}")
                out.append((name, raw))
    return out


def build_request(inp: dict) -> bytes:
    enc = inp.get("encoded_request")
    if enc:
        try:
            return base64.b64decode(re.sub(r"\s", "", enc), validate=True)
        except binascii.Error as e:
            raise ValueError(f"encoded_request is not base64: {e}")
    method = _or(inp.get("method"), "GET")
    uri = _or(inp.get("uri"), "/")
    version = _or(inp.get("version"), "HTTP/1.1")
    autocomplete = str(inp.get("autocomplete_headers", "true")).lower() != "false"
    headers: list[list[str]] = []
    for k, v in (inp.get("headers") or {}).items():
        v = "" if v is None else v
        for slot in headers:
            if slot[0] == k:
                slot[1] = v
                break
        else:
            headers.append([k, v])

    def get(name: str) -> str | None:
        for k, v in headers:
            if k == name:
                return v
        return None

    def add(name: str, value: str) -> None:
        if not get(name):
            headers[:] = [h for h in headers if h[0] != name]
            headers.append([name, value])

    data = (inp.get("data") or "").encode()
    if data and autocomplete:
        add("Content-Type", "application/x-www-form-urlencoded")
        if get("Content-Type") == "application/x-www-form-urlencoded":
            data = encode_form(data)
    ct = get("Content-Type")
    if ct is not None and ct.startswith("multipart/form-data;"):
        data = data.replace(b"\n", b"\r\n")
    if autocomplete:
        add("Connection", "close")
        body_method = (
            method.startswith("POST")
            or "PUT" in method
            or "PATCH" in method
            or method.endswith("DELETE")
        )
        if data or body_method:
            add("Content-Length", str(len(data)))
    headers.sort(key=lambda h: h[0].encode())
    out = f"{method} {uri} {version}\r\n".encode()
    for k, v in headers:
        out += f"{k}: {v}\r\n".encode()
    return out + b"\r\n" + data


def _or(v: str | None, default: str) -> str:
    return default if v is None else v


def encode_form(data: bytes) -> bytes:
    """go-ftw: when unescaping changes nothing, query-escape keys and values."""
    text = data.decode("utf-8", "replace")
    if query_unescape(text) != text:
        return data
    parts = []
    for token in text.split("&"):
        if "=" in token:
            k, v = token.split("=", 1)
            parts.append(f"{query_escape(k)}={query_escape(v)}")
        else:
            parts.append(query_escape(token))
    return "&".join(parts).encode()


def query_unescape(s: str) -> str | None:
    """Go's url.QueryUnescape; None on a malformed escape."""
    b = s.encode()
    out = bytearray()
    i = 0
    hexd = b"0123456789abcdefABCDEF"
    while i < len(b):
        c = b[i]
        if c == 0x25:  # %
            h, l = b[i + 1 : i + 2], b[i + 2 : i + 3]
            if not h or not l or h not in hexd or l not in hexd:
                return None
            out.append(int((h + l).decode(), 16))
            i += 3
        elif c == 0x2B:  # +
            out.append(0x20)
            i += 1
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "replace")


def query_escape(s: str) -> str:
    """Go's url.QueryEscape."""
    out = []
    for c in s.encode():
        ch = chr(c)
        if ch.isascii() and (ch.isalnum() or ch in "-_.~"):
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.append(f"%{c:02X}")
    return "".join(out)

"""Splitting a raw HTTP/1.x request into request line, headers and body,
exactly as Rampart's `seclang::http1::parse` does (crates/seclang/src/http1.rs),
so that libmodsecurity is fed the same parts Rampart's engine is fed.

This module owns that split only. It must not decide anything about rules,
and it must not "fix" requests: where Rampart is lenient, so is this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Rust's `u8::is_ascii_whitespace` (no vertical tab, unlike bytes.strip()).
_WS = b" \t\n\r\x0c"


class RequestError(ValueError):
    """The request cannot be read at all (Rampart answers 400)."""


@dataclass
class RawRequest:
    method: bytes
    uri: bytes
    version: bytes  # after "HTTP/", as sent
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


def parse(raw: bytes) -> RawRequest:
    """Splits `raw`; raises RequestError with a one-line reason."""
    i = raw.find(b"\r\n\r\n")
    if i >= 0:
        head, rest = raw[:i], raw[i + 4 :]
    else:
        i = raw.find(b"\n\n")
        if i >= 0:
            head, rest = raw[:i], raw[i + 2 :]
        else:
            head, rest = raw, b""
    lines = [l[:-1] if l.endswith(b"\r") else l for l in head.split(b"\n")]
    line = lines[0].strip(_WS)
    if not line:
        raise RequestError("empty request line")
    parts = [p for p in line.replace(b"\t", b" ").split(b" ") if p]
    if len(parts) < 2:
        raise RequestError("no request target")
    method, uri = parts[0], parts[1]
    if len(parts) >= 3:
        version = parts[2][5:] if parts[2].startswith(b"HTTP/") else parts[2]
    else:
        version = b"0.9"
    headers: list[tuple[bytes, bytes]] = []
    for l in lines[1:]:
        if not l:
            continue
        if l[:1] in (b" ", b"\t") and headers:
            k, v = headers[-1]
            headers[-1] = (k, v + b" " + l.strip(_WS))
            continue
        c = l.find(b":")
        if c >= 0:
            headers.append((l[:c].rstrip(_WS), l[c + 1 :].strip(_WS)))
        else:
            headers.append((l.strip(_WS), b""))

    def header(name: bytes) -> bytes | None:
        for k, v in headers:
            if k.lower() == name:
                return v
        return None

    te = header(b"transfer-encoding")
    if te is not None and b"chunked" in te.lower():
        body = dechunk(rest)
    else:
        length = _content_length(header(b"content-length"))
        body = rest[:length] if length is not None else rest
    return RawRequest(method, uri, version, headers, body)


def _content_length(v: bytes | None) -> int | None:
    """Rust's `str::trim().parse::<usize>()`: digits only, optional '+'."""
    if v is None:
        return None
    try:
        s = v.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if s.startswith("+"):
        s = s[1:]
    if not s or not s.isascii() or not s.isdigit():
        return None
    return int(s)


def dechunk(data: bytes) -> bytes:
    """Decodes a chunked body leniently (stops at the first bad size)."""
    out = bytearray()
    while True:
        eol = data.find(b"\n")
        if eol < 0:
            break
        size_line = data[:eol]
        if size_line.endswith(b"\r"):
            size_line = size_line[:-1]
        size_text = size_line.split(b";", 1)[0]
        try:
            s = size_text.decode("utf-8").strip()
            if not s or not all(c in "0123456789abcdefABCDEF" for c in s.lstrip("+")):
                break
            size = int(s, 16)
        except (UnicodeDecodeError, ValueError):
            break
        data = data[eol + 1 :]
        if size == 0:
            break
        out += data[:size]
        data = data[size:]
        if data.startswith(b"\r\n"):
            data = data[2:]
        elif data.startswith(b"\n"):
            data = data[1:]
    return bytes(out)

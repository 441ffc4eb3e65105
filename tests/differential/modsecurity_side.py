"""The reference side of the comparison: libmodsecurity 3 (the PyPI package
`libmodsecurity`, Python bindings over the real C++ library) loaded with the
same configuration Rampart's `seclang::crs::load` builds, and driven the way
a connector drives it.

Owns: building that configuration (Rampart's base configuration read from
crates/seclang/src/crs.rs so the two never drift, the CRS setup file, the
paranoia setting, the CRS rule files in sorted order) and evaluating one raw
request to a verdict shaped like `rampart waf eval`'s.

Must not: interpret rules itself, change the configuration per request, or
look at Rampart's output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libmodsecurity as msc

import http1

# The ids of Rampart's base configuration; loaded identically on both sides.
BASE_RULE_IDS = range(440000, 440100)


@dataclass
class Verdict:
    rules: list[int]
    action: str  # "pass" | "block"
    status: int
    error: str | None = None
    # (rule id, match text, logdata) of each logged match, for diagnosing.
    messages: list[tuple[int, str, str]] | None = None
    # rule id -> the variables its logged matches name (`REQUEST_BODY`,
    # `MATCHED_VARS:ARGS:q`), read from libmodsecurity's match text.
    variables: dict[int, list[str]] | None = None


def base_config(repo: Path) -> str:
    """`seclang::crs::BASE_CONFIG`, read from the Rust source."""
    src = (repo / "crates/seclang/src/crs.rs").read_text()
    m = re.search(r'pub const BASE_CONFIG: &str = r#"(.*?)"#;', src, re.S)
    if not m:
        raise SystemExit(
            "differential: cannot find BASE_CONFIG in crates/seclang/src/crs.rs"
        )
    return m.group(1)


def crs_setup_file(crs_dir: Path) -> Path:
    for name in ("crs-setup.conf", "crs-setup.conf.example"):
        p = crs_dir / name
        if p.is_file():
            return p
    raise SystemExit(f"differential: {crs_dir} has no crs-setup.conf(.example)")


class ModSecurityEngine:
    """libmodsecurity with the CRS as Rampart loads it."""

    def __init__(
        self,
        repo: Path,
        crs_dir: Path,
        paranoia: int | None,
        includes: list[Path] = (),
    ):
        self.ms = msc.ModSecurity()
        # Without a callback the library prints every match to stdout.
        self.ms.set_rule_message_callback(lambda _m: None)
        self.rules = msc.RulesSet()
        # Rampart's RuleSetBuilder starts with the engine On, as
        # ModSecurity's recommended configuration does.
        self._load_text("SecRuleEngine On\n" + base_config(repo), "base")
        self._load_file(crs_setup_file(crs_dir))
        if paranoia is not None:
            self._load_text(
                "SecAction \"id:440010,phase:1,pass,nolog,t:none,"
                f"setvar:tx.blocking_paranoia_level={paranoia}\"",
                "paranoia",
            )
        for inc in includes:
            self._load_file(inc)
        rules_dir = crs_dir / "rules"
        if not rules_dir.is_dir():
            raise SystemExit(f"differential: {crs_dir} has no rules/ directory")
        plugins = crs_dir / "plugins"
        for suffix in ("-config.conf", "-before.conf"):
            for p in _sorted_files(plugins, suffix):
                self._load_file(p)
        for p in _sorted_files(rules_dir, ".conf"):
            self._load_file(p)
        for p in _sorted_files(plugins, "-after.conf"):
            self._load_file(p)

    def _load_text(self, text: str, what: str) -> None:
        if self.rules.load(text) < 0:
            raise SystemExit(
                f"differential: libmodsecurity rejects the {what} configuration: "
                + self.rules.get_parser_error().strip()
            )

    def _load_file(self, path: Path) -> None:
        if self.rules.load_from_uri(str(path)) < 0:
            raise SystemExit(
                f"differential: libmodsecurity rejects {path}: "
                + self.rules.get_parser_error().strip()
            )

    def evaluate(self, raw: bytes, details: bool = False) -> Verdict:
        """Phases 1 and 2 then logging, as `seclang::verdict::evaluate`.
        With `details`, the verdict also carries each match's text."""
        try:
            req = http1.parse(raw)
        except http1.RequestError as e:
            return Verdict([], "block", 400, error=str(e))
        tx = msc.Transaction(self.ms, self.rules)
        first = None

        def check() -> None:
            nonlocal first
            it = tx.intervention()  # reading it clears it in libmodsecurity
            if it is not None and it.disruptive and first is None:
                first = it

        tx.process_connection("127.0.0.1", 40000, "127.0.0.1", 80)
        tx.process_uri(req.uri, req.method, req.version)
        check()
        for k, v in req.headers:
            tx.add_request_header(k, v)
        tx.process_request_headers()
        check()
        if first is None:
            if req.body:
                tx.append_request_body(req.body)
                check()
            tx.process_request_body()
            check()
        tx.process_logging()
        check()
        ids: list[int] = []
        messages = []
        variables: dict[int, list[str]] = {}
        for m in tx.get_rule_messages():
            match = _text(m, "match")
            data = _text(m, "data")
            # Operators like @detectXSS do not name the variable in the
            # match text; the CRS's logdata ("... found within VAR: ...") does.
            found = _VARIABLE.search(match) or _FOUND_WITHIN.search(data)
            if found:
                variables.setdefault(m.rule_id, []).append(found.group(1))
            if details:
                messages.append((m.rule_id, match, data))
            if m.rule_id not in ids:
                ids.append(m.rule_id)
        if first is None:
            return Verdict(ids, "pass", 200, messages=messages, variables=variables)
        return Verdict(
            ids, "block", first.status, messages=messages, variables=variables
        )


# libmodsecurity's match text: Matched "Operator `Rx' ... against variable `ARGS:q' (Value: ...
_VARIABLE = re.compile(r"against variable `([^']*)'")
# The CRS's logdata: Matched Data: ... found within ARGS:q: ...
_FOUND_WITHIN = re.compile(r"found within ([^\s:]+(?::[^\s:]+)*):")


def _text(message, attr: str) -> str:
    """A RuleMessage text field; the bindings raise on non-UTF-8 bytes."""
    try:
        return getattr(message, attr)
    except UnicodeDecodeError as e:
        return f"<not UTF-8: {e}>"


def quiet_stderr() -> None:
    """libxml2 prints XML parse errors of request bodies on stderr; a
    worker evaluating thousands of requests sends them to /dev/null."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _sorted_files(d: Path, suffix: str) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and p.name.endswith(suffix))

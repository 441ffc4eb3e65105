#!/usr/bin/env python3
"""Minimal behaviour probes: one small rule file and one request each, run
through Rampart (`waf eval`, on a throw-away directory shaped like a CRS
directory: an empty setup file and `rules/probe.conf`) and through
libmodsecurity with the same configuration (Rampart's base configuration,
then the rules). Each probe isolates one engine behaviour that the CRS
comparison showed or that we suspect differs, so that a difference can be
reported as "this rule, this request, these two outputs".

Owns: the probe list and its report. Must not load the CRS.

    python3 probes.py [NAME-REGEX] [--markdown]
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import modsecurity_side  # noqa: E402
import rampart_side  # noqa: E402

REPO = HERE.parents[1]


def req(
    method: str = "GET",
    uri: str = "/",
    headers: list[tuple[str, str]] = (),
    body: bytes = b"",
    ctype: str | None = None,
) -> bytes:
    h = [("Host", "localhost"), ("User-Agent", "probe"), ("Accept", "*/*")]
    h += list(headers)
    if ctype:
        h.append(("Content-Type", ctype))
    if body or method == "POST":
        h.append(("Content-Length", str(len(body))))
    out = f"{method} {uri} HTTP/1.1\r\n".encode()
    for k, v in h:
        out += f"{k}: {v}\r\n".encode()
    return out + b"\r\n" + body


# (name, what it shows, rules, request)
PROBES = [
    (
        "request-body-json",
        "REQUEST_BODY holds the raw body when the JSON processor parsed it",
        'SecRule REQUEST_BODY "@contains quantity" "id:100,phase:2,pass,log"',
        req("POST", "/cart", body=b'{"quantity":2}', ctype="application/json"),
    ),
    (
        "request-body-xml",
        "REQUEST_BODY holds the raw body when the XML processor parsed it",
        'SecRule REQUEST_BODY "@contains order" "id:101,phase:2,pass,log"',
        req("POST", "/api", body=b"<order><id>1</id></order>", ctype="text/xml"),
    ),
    (
        "request-body-multipart",
        "REQUEST_BODY holds the raw body when the multipart processor parsed it",
        'SecRule REQUEST_BODY "@contains Content-Disposition" "id:102,phase:2,pass,log"',
        req(
            "POST",
            "/upload",
            body=b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b--\r\n',
            ctype="multipart/form-data; boundary=b",
        ),
    ),
    (
        "request-body-urlencoded",
        "REQUEST_BODY holds the raw body of a form post (both agree: control)",
        'SecRule REQUEST_BODY "@contains qty" "id:103,phase:2,pass,log"',
        req("POST", "/cart", body=b"qty=1", ctype="application/x-www-form-urlencoded"),
    ),
    (
        "request-body-no-ctype",
        "REQUEST_BODY of a body without Content-Type",
        'SecRule REQUEST_BODY "@contains hello" "id:104,phase:2,pass,log"',
        req("POST", "/x", body=b"hello"),
    ),
    (
        "secaction-phase5-no-log-action",
        "a phase:5 SecAction with msg but neither log nor nolog, and no "
        "SecDefaultAction for phase 5 (CRS 980170's shape)",
        "SecAction \"id:110,phase:5,pass,t:none,noauditlog,msg:'scores'\"",
        req("GET", "/"),
    ),
    (
        "secaction-phase5-log-noauditlog",
        "the same SecAction with an explicit log action: noauditlog alone "
        "decides (libmodsecurity 3 drops the message)",
        "SecAction \"id:111,phase:5,pass,log,noauditlog,msg:'scores'\"",
        req("GET", "/"),
    ),
    (
        "secrule-phase2-log-noauditlog",
        "a phase 2 SecRule with log and noauditlog",
        "SecRule REQUEST_URI \"@contains /\" \"id:116,phase:2,pass,log,noauditlog,msg:'x'\"",
        req("GET", "/"),
    ),
    (
        "secaction-phase5-log",
        "a phase 5 SecAction with log and without noauditlog (control)",
        "SecAction \"id:117,phase:5,pass,log,msg:'scores'\"",
        req("GET", "/"),
    ),
    (
        "secaction-phase2-no-log-action",
        "a phase:2 SecAction with msg, no log action, no SecDefaultAction",
        "SecAction \"id:112,phase:2,pass,msg:'hello'\"",
        req("GET", "/"),
    ),
    (
        "secrule-phase2-no-log-action",
        "a phase:2 SecRule with msg, no log action, no SecDefaultAction",
        "SecRule REQUEST_URI \"@contains /\" \"id:113,phase:2,pass,msg:'hello'\"",
        req("GET", "/"),
    ),
    (
        "secrule-no-log-no-msg",
        "a SecRule with neither log action nor msg",
        'SecRule REQUEST_URI "@contains /" "id:114,phase:2,pass"',
        req("GET", "/"),
    ),
    (
        "default-action-log-phase5",
        "a phase:5 SecAction without log under SecDefaultAction phase:2,log",
        'SecDefaultAction "phase:2,log,auditlog,pass"\n'
        "SecAction \"id:115,phase:5,pass,msg:'scores'\"",
        req("GET", "/"),
    ),
    (
        "phase5-after-deny",
        "phase 5 rules still run after a phase 2 deny",
        'SecRule ARGS:a "@streq 1" "id:120,phase:2,deny,log,status:403"\n'
        "SecAction \"id:121,phase:5,pass,log,msg:'after'\"",
        req("GET", "/?a=1"),
    ),
    (
        "phase5-second-rule-after-deny",
        "every phase 5 rule runs after a phase 2 deny, not only the first",
        'SecRule ARGS:a "@streq 1" "id:122,phase:2,deny,log,status:403"\n'
        "SecAction \"id:123,phase:5,pass,log,msg:'first'\"\n"
        "SecAction \"id:124,phase:5,pass,log,msg:'second'\"",
        req("GET", "/?a=1"),
    ),
    (
        "phase5-rule-after-deny-no-log-action",
        "a phase 5 SecRule without log action after a phase 2 deny",
        'SecRule ARGS:a "@streq 1" "id:125,phase:2,deny,log,status:403"\n'
        "SecAction \"id:126,phase:5,pass,nolog,setvar:tx.x=1\"\n"
        "SecRule TX:x \"@eq 1\" \"id:127,phase:5,pass,log,msg:'x is %{tx.x}'\"",
        req("GET", "/?a=1"),
    ),
    (
        "multimatch-chain-first-part",
        "a multiMatch rule whose chain fails: is the first part logged?",
        'SecRule ARGS "@rx a" "id:130,phase:2,pass,log,multiMatch,t:none,t:lowercase,chain"\n'
        '  SecRule MATCHED_VARS "@rx zzz" "t:none"',
        req("GET", "/?q=A"),
    ),
    (
        "chain-first-part",
        "a rule whose chain fails, without multiMatch (control)",
        'SecRule ARGS "@rx a" "id:131,phase:2,pass,log,chain"\n'
        '  SecRule MATCHED_VARS "@rx zzz" "t:none"',
        req("GET", "/?q=a"),
    ),
    (
        "json-array-names",
        "ARGS_NAMES of JSON arrays: the array's own name, and how items are "
        "named (libmodsecurity 3: json.items.array_0)",
        'SecRule ARGS_NAMES "@streq json.items" "id:140,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json.items.0" "id:141,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json.items.array_0" "id:143,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json.o.k.array_0.z" "id:144,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json.o.k.0.z" "id:145,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json.e" "id:146,phase:2,pass,log"\n'
        'SecRule ARGS "@streq x" "id:142,phase:2,pass,log"',
        req(
            "POST",
            "/cart",
            body=b'{"items":["x","y"],"o":{"k":[{"z":1}]},"e":[]}',
            ctype="application/json",
        ),
    ),
    (
        "multipart-value-with-crlf",
        "a multipart field whose value has a line break inside "
        "(libmodsecurity 3 drops the CRLF: 'A' CRLF 'Location: x' becomes "
        "'ALocation: x')",
        'SecRule ARGS:m "@streq ALocation: x" "id:215,phase:2,pass,log"\n'
        'SecRule ARGS:m "@rx ^A\\r\\nLocation: x$" "id:216,phase:2,pass,log"\n'
        'SecRule ARGS:m "@rx [\\n\\r]" "id:217,phase:2,pass,log"',
        req(
            "POST",
            "/contact",
            body=b'--b\r\nContent-Disposition: form-data; name="m"\r\n\r\n'
            b"A\r\nLocation: x\r\n--b--\r\n",
            ctype="multipart/form-data; boundary=b",
        ),
    ),
    (
        "multipart-value-starting-with-crlf",
        "a multipart field whose value starts with a line break",
        'SecRule ARGS:m "@streq Location: x" "id:218,phase:2,pass,log"\n'
        'SecRule ARGS:m "@rx [\\n\\r]" "id:219,phase:2,pass,log"',
        req(
            "POST",
            "/contact",
            body=b'--b\r\nContent-Disposition: form-data; name="m"\r\n\r\n'
            b"\r\nLocation: x\r\n--b--\r\n",
            ctype="multipart/form-data; boundary=b",
        ),
    ),
    (
        "json-empty-key",
        "the name of an empty JSON key (libmodsecurity 3: json.empty-key)",
        'SecRule ARGS_NAMES "@streq json.empty-key" "id:200,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json." "id:201,phase:2,pass,log"\n'
        'SecRule ARGS_NAMES "@streq json.a.empty-key" "id:202,phase:2,pass,log"',
        req("POST", "/api", body=b'{"":1,"a":{"":2}}', ctype="application/json"),
    ),
    (
        "json-top-level-scalar",
        "a JSON body that is a bare string: one argument named json",
        'SecRule ARGS:json "@streq str" "id:205,phase:2,pass,log"',
        req("POST", "/api", body=b'"str"', ctype="application/json"),
    ),
    (
        "json-null-and-bool",
        "JSON null and true as argument values",
        'SecRule ARGS:json.a "@streq null" "id:206,phase:2,pass,log"\n'
        'SecRule ARGS:json.a "@streq \'\'" "id:207,phase:2,pass,log"\n'
        'SecRule &ARGS:json.a "@eq 1" "id:208,phase:2,pass,log"\n'
        'SecRule ARGS:json.b "@streq true" "id:209,phase:2,pass,log"\n'
        'SecRule ARGS:json.b "@streq 1" "id:210,phase:2,pass,log"',
        req("POST", "/api", body=b'{"a":null,"b":true}', ctype="application/json"),
    ),
    (
        "json-bom",
        "a JSON body starting with a UTF-8 byte order mark",
        'SecRule REQBODY_ERROR "!@eq 0" "id:211,phase:2,pass,log"',
        req("POST", "/api", body=b'\xef\xbb\xbf{"bom":1}', ctype="application/json"),
    ),
    (
        "xml-args",
        "an XML body gives no ARGS; XML:/* holds the text",
        'SecRule ARGS "@contains secret" "id:150,phase:2,pass,log"\n'
        'SecRule XML:/* "@contains secret" "id:151,phase:2,pass,log"',
        req("POST", "/api", body=b"<a><b>secret</b></a>", ctype="text/xml"),
    ),
    (
        "matched-vars-after-xml",
        "MATCHED_VARS in a chain after a match on XML:/*",
        'SecRule XML:/* "@contains secret" "id:152,phase:2,pass,log,chain"\n'
        '  SecRule MATCHED_VARS "@contains secret" "t:none"',
        req("POST", "/api", body=b"<a><b>secret</b></a>", ctype="text/xml"),
    ),
    (
        "matched-vars-from-previous-rule",
        "MATCHED_VARS in a chain holds only the current rule's matches, not "
        "those of the rule before it (CRS 942200 on a JSON body)",
        'SecRule ARGS:a "@streq x" "id:170,phase:2,pass,nolog"\n'
        'SecRule ARGS:b "@streq y" "id:171,phase:2,pass,log,chain"\n'
        '  SecRule MATCHED_VARS "@streq x" "t:none"',
        req("GET", "/?a=x&b=y"),
    ),
    (
        "matched-var-from-previous-rule",
        "MATCHED_VAR in a rule's first part, right after another rule matched",
        'SecRule ARGS:a "@streq x" "id:172,phase:2,pass,nolog"\n'
        'SecRule MATCHED_VAR "@streq x" "id:173,phase:2,pass,log"',
        req("GET", "/?a=x"),
    ),
    (
        "detectsqli-1e-function-calls",
        "@detectSQLi on MySQL '1.e(' scientific-notation obfuscation (CRS "
        "942560 test 1): libmodsecurity's libinjection sees fingerprint f(f(E",
        'SecRule ARGS "@detectSQLi" "id:180,phase:2,pass,log"',
        req(
            "GET",
            "/?email=1.e(ascii+1.e(substring(1.e(select+password+from+users+limit+1+1.e,1+1.e)"
            "+1.e,1+1.e,1+1.e)1.e)1.e)+=+70+or'1'='2",
        ),
    ),
    (
        "pm-failure-link",
        "@pm with patterns 'secrets.json' and '.env' on '/x/secrets.env': "
        "libmodsecurity's Aho-Corasick misses '.env' (CRS 930130 on "
        "/.a0proj/secrets.env, go-ftw 930140-13)",
        'SecRule REQUEST_FILENAME "@pm secrets.json .env" "id:185,phase:1,pass,log"',
        req("GET", "/x/secrets.env"),
    ),
    (
        "fragment-in-query",
        "a '#fragment' sent in the request target: is it part of the last "
        "argument's value and of QUERY_STRING?",
        'SecRule ARGS:b "@streq 2" "id:190,phase:1,pass,log"\n'
        'SecRule ARGS:b "@streq 2#frag" "id:191,phase:1,pass,log"\n'
        'SecRule QUERY_STRING "@streq a=1&b=2" "id:192,phase:1,pass,log"\n'
        'SecRule QUERY_STRING "@streq a=1&b=2#frag" "id:193,phase:1,pass,log"\n'
        'SecRule REQUEST_URI "@streq /p?a=1&b=2#frag" "id:194,phase:1,pass,log"\n'
        'SecRule REQUEST_URI "@streq /p?a=1&b=2" "id:195,phase:1,pass,log"',
        req("GET", "/p?a=1&b=2#frag"),
    ),
    (
        "fragment-in-path",
        "a '#fragment' without query string: REQUEST_FILENAME and ARGS",
        'SecRule REQUEST_FILENAME "@streq /p" "id:196,phase:1,pass,log"\n'
        'SecRule REQUEST_FILENAME "@streq /p#frag" "id:197,phase:1,pass,log"\n'
        'SecRule &ARGS "@eq 0" "id:198,phase:1,pass,log"',
        req("GET", "/p#frag"),
    ),
    (
        "urldecodeuni-on-request-body",
        "validateByteRange with t:urlDecodeUni on a raw body with CRLF",
        'SecRule REQUEST_BODY "@validateByteRange 32-126" "id:160,phase:2,pass,log,t:none,t:urlDecodeUni"',
        req("POST", "/x", body=b"a=1%0d%0a&b=2", ctype="application/x-www-form-urlencoded"),
    ),
]


def run(probes) -> list[tuple]:
    rows = []
    for name, what, rules, raw in probes:
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "rules").mkdir()
            (d / "crs-setup.conf").write_text("# probe: no CRS setup\n")
            (d / "rules" / "probe.conf").write_text(rules + "\n")
            m = modsecurity_side.ModSecurityEngine(REPO, d, None).evaluate(raw)
            r = rampart_side.RampartBatch(REPO, d, None, [(name, raw)]).results()[name]
        rows.append((name, what, rules, raw, r, m))
    return rows


def render_markdown(rows) -> str:
    out = []
    for name, what, rules, raw, r, m in rows:
        same = sorted(r.rules) == sorted(m.rules)
        out.append(f"### `{name}` — {'same' if same else '**differs**'}")
        out.append("")
        out.append(what + ".")
        out.append("")
        out.append("```")
        out.append(rules)
        out.append("```")
        out.append("```http")
        out.append(raw.decode("latin-1").replace("\r\n", "\n").rstrip("\n"))
        out.append("```")
        out.append(f"- Rampart: {r.rules} ({r.action} {r.status})")
        out.append(f"- libmodsecurity: {m.rules} ({m.action} {m.status})")
        out.append("")
    return "\n".join(out)


def main(argv) -> int:
    markdown = "--markdown" in argv
    argv = [a for a in argv if a != "--markdown"]
    rx = re.compile(argv[0]) if argv else None
    probes = [p for p in PROBES if rx is None or rx.search(p[0])]
    rows = run(probes)
    if markdown:
        print(render_markdown(rows))
        return 0
    differ = 0
    for name, what, rules, raw, r, m in rows:
        same = sorted(r.rules) == sorted(m.rules)
        differ += not same
        print(
            f"{'same   ' if same else 'DIFFERS'} {name:34} "
            f"rampart {r.rules} {r.action}  libmodsecurity {m.rules} {m.action}"
        )
    print(f"{len(rows) - differ} same, {differ} differ")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

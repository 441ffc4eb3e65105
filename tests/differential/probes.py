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

Exit status 1 when a probe listed in KNOWN agrees or one not listed
differs (a behaviour changed: update KNOWN and EXPLAINED.md).
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
        "xml-external-entity",
        "an XML body whose DTD declares an external entity that the document "
        "uses (XXE): libmodsecurity parses it, Rampart reports a parse error",
        'SecRule REQBODY_ERROR "!@eq 0" "id:153,phase:2,pass,log"\n'
        'SecRule XML:/* "@rx ." "id:154,phase:2,pass,log"',
        req(
            "POST",
            "/api",
            body=b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
            b'"file:///etc/passwd">]><r>&x;</r>',
            ctype="application/xml",
        ),
    ),
    (
        "xml-internal-entity",
        "an XML body with an internal DTD entity (control)",
        'SecRule REQBODY_ERROR "!@eq 0" "id:155,phase:2,pass,log"\n'
        'SecRule XML:/* "@contains hello" "id:156,phase:2,pass,log"',
        req(
            "POST",
            "/api",
            body=b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "hello">]><r>&x;</r>',
            ctype="application/xml",
        ),
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
        "arguments-limit",
        "1001 arguments with SecArgumentsLimit 1000 (base rule 440007)",
        'SecRule &ARGS "@ge 1001" "id:220,phase:2,pass,log"\n'
        'SecRule &ARGS "@eq 1000" "id:221,phase:2,pass,log"',
        req(
            "POST",
            "/f",
            body="&".join(f"a{i}=1" for i in range(1001)).encode(),
            ctype="application/x-www-form-urlencoded",
        ),
    ),
    (
        "no-files-limit",
        "a 140 kB form body with SecRequestBodyNoFilesLimit 131072 and "
        "SecRequestBodyLimitAction Reject",
        'SecRule ARGS:a "@rx ^x" "id:222,phase:2,pass,log"',
        req("POST", "/f", body=b"a=" + b"x" * 140_000, ctype="application/x-www-form-urlencoded"),
    ),
    (
        "json-depth-limit",
        "a JSON body nested 600 deep with SecRequestBodyJsonDepthLimit 512",
        'SecRule ARGS_NAMES "@rx ^json" "id:223,phase:2,pass,log"',
        req("POST", "/j", body=b"[" * 600 + b"1" + b"]" * 600, ctype="application/json"),
    ),
    (
        "duplicate-request-headers",
        "two headers of the same name: two values in REQUEST_HEADERS",
        'SecRule &REQUEST_HEADERS:X-A "@eq 2" "id:230,phase:1,pass,log"\n'
        'SecRule REQUEST_HEADERS:X-A "@streq 1, 2" "id:231,phase:1,pass,log"\n'
        'SecRule REQUEST_HEADERS:X-A "@streq 2" "id:232,phase:1,pass,log"\n'
        'SecRule REQUEST_HEADERS_NAMES "@streq X-A" "id:233,phase:1,pass,log"\n'
        'SecRule REQUEST_HEADERS_NAMES "@streq x-a" "id:234,phase:1,pass,log"',
        req("GET", "/", headers=[("X-A", "1"), ("x-a", "2")]),
    ),
    (
        "cookie-syntax",
        "cookie names and values: repeated names, no '=', spaces, quotes",
        'SecRule &REQUEST_COOKIES:a "@eq 2" "id:235,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES_NAMES "@streq b" "id:236,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES:c "@rx ^\\x22q v\\x22$" "id:237,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES:c "@streq q v" "id:238,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES:d "@streq x=y" "id:239,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES_NAMES "@streq  e" "id:240,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES:e "@streq 5 " "id:241,phase:1,pass,log"\n'
        'SecRule REQUEST_COOKIES:e "@streq 5" "id:242,phase:1,pass,log"\n'
        'SecRule &REQUEST_COOKIES "@eq 6" "id:243,phase:1,pass,log"',
        req("GET", "/", headers=[("Cookie", 'a=1; a=2; b; c="q v"; d=x=y;  e = 5 ')]),
    ),
    (
        "query-argument-syntax",
        "query arguments without '=', with empty names, '+', '%00', bad escapes",
        'SecRule ARGS:flag "@rx ^$" "id:245,phase:1,pass,log"\n'
        'SecRule &ARGS:flag "@eq 1" "id:246,phase:1,pass,log"\n'
        'SecRule ARGS_NAMES "@rx ^$" "id:247,phase:1,pass,log"\n'
        'SecRule ARGS:p "@streq a b" "id:248,phase:1,pass,log"\n'
        'SecRule ARGS:z "@rx ^a\\x00b$" "id:249,phase:1,pass,log"\n'
        'SecRule ARGS:bad "@streq %zz%4" "id:250,phase:1,pass,log"\n'
        'SecRule &ARGS "@eq 6" "id:251,phase:1,pass,log"\n'
        'SecRule &ARGS "@eq 5" "id:252,phase:1,pass,log"',
        req("GET", "/x?flag&=v&p=a+b&z=a%00b&bad=%zz%4&&"),
    ),
    (
        "empty-query-segments",
        "an empty segment between '&' separators (a=1&&b=2, a leading '&'): "
        "libmodsecurity 3 counts it as an argument with an empty name",
        'SecRule &ARGS "@eq 3" "id:253,phase:1,pass,log"\n'
        'SecRule &ARGS "@eq 2" "id:254,phase:1,pass,log"\n'
        'SecRule ARGS_NAMES "@rx ^$" "id:261,phase:1,pass,log"',
        req("GET", "/x?a=1&&b=2"),
    ),
    (
        "request-filename-decoding",
        "REQUEST_FILENAME and REQUEST_BASENAME of an encoded path",
        'SecRule REQUEST_FILENAME "@streq /a b/c.php" "id:255,phase:1,pass,log"\n'
        'SecRule REQUEST_FILENAME "@streq /a%20b/c%2ephp" "id:256,phase:1,pass,log"\n'
        'SecRule REQUEST_BASENAME "@streq c.php" "id:257,phase:1,pass,log"\n'
        'SecRule REQUEST_BASENAME "@streq c%2ephp" "id:258,phase:1,pass,log"\n'
        'SecRule REQUEST_URI "@streq /a%20b/c%2ephp?x=1" "id:259,phase:1,pass,log"\n'
        'SecRule REQUEST_URI "@streq /a b/c.php?x=1" "id:260,phase:1,pass,log"',
        req("GET", "/a%20b/c%2ephp?x=1"),
    ),
    (
        "encoded-question-mark-in-path",
        "a path with an encoded '?' (%3F): REQUEST_FILENAME is the whole "
        "decoded path, the query string starts at the raw '?' only",
        'SecRule REQUEST_FILENAME "@streq /a?b.php" "id:267,phase:1,pass,log"\n'
        'SecRule REQUEST_FILENAME "@streq /a" "id:268,phase:1,pass,log"\n'
        'SecRule REQUEST_BASENAME "@streq a?b.php" "id:269,phase:1,pass,log"\n'
        'SecRule QUERY_STRING "@streq x=1" "id:270,phase:1,pass,log"\n'
        'SecRule ARGS:x "@streq 1" "id:271,phase:1,pass,log"\n'
        'SecRule ARGS_NAMES "@streq b.php" "id:272,phase:1,pass,log"',
        req("GET", "/a%3Fb.php?x=1"),
    ),
    (
        "absolute-form-target",
        "variables of an absolute-form request target (GET http://host/p?q=1)",
        'SecRule REQUEST_URI "@streq /p?q=1" "id:262,phase:1,pass,log"\n'
        'SecRule REQUEST_URI "@streq http://h.example/p?q=1" "id:263,phase:1,pass,log"\n'
        'SecRule REQUEST_FILENAME "@streq /p" "id:264,phase:1,pass,log"\n'
        'SecRule REQUEST_FILENAME "@streq http://h.example/p" "id:265,phase:1,pass,log"\n'
        'SecRule ARGS:q "@streq 1" "id:266,phase:1,pass,log"',
        req("GET", "http://h.example/p?q=1"),
    ),
    (
        "urldecodeuni-on-request-body",
        "validateByteRange with t:urlDecodeUni on a raw body with CRLF",
        'SecRule REQUEST_BODY "@validateByteRange 32-126" "id:160,phase:2,pass,log,t:none,t:urlDecodeUni"',
        req("POST", "/x", body=b"a=1%0d%0a&b=2", ctype="application/x-www-form-urlencoded"),
    ),
]


# What each probe that differs shows (EXPLAINED.md has the details); a
# probe not listed here is a control that both engines should agree on.
KNOWN = {
    "request-body-json": "libmodsecurity quirk: REQUEST_BODY always set",
    "request-body-xml": "libmodsecurity quirk: REQUEST_BODY always set",
    "request-body-multipart": "libmodsecurity quirk: REQUEST_BODY always set",
    "request-body-no-ctype": "libmodsecurity quirk: REQUEST_BODY always set",
    "secaction-phase5-no-log-action": "libmodsecurity quirk: noauditlog drops the message",
    "secaction-phase5-log-noauditlog": "libmodsecurity quirk: noauditlog drops the message",
    "secrule-phase2-log-noauditlog": "libmodsecurity quirk: noauditlog drops the message",
    "multimatch-chain-first-part": "libmodsecurity quirk: failed multiMatch chain logged",
    "pm-failure-link": "libmodsecurity quirk: @pm misses a match",
    "multipart-value-with-crlf": "libmodsecurity quirk: CRLF dropped from multipart values",
    "multipart-value-starting-with-crlf": "libmodsecurity quirk: CRLF dropped from multipart values",
    "phase5-second-rule-after-deny": "Rampart bug: phase 5 stops after one rule once blocked",
    "phase5-rule-after-deny-no-log-action": "Rampart bug: phase 5 stops after one rule once blocked",
    "matched-vars-from-previous-rule": "Rampart bug: MATCHED_VARS leak into the next rule",
    "matched-var-from-previous-rule": "Rampart bug: MATCHED_VAR leaks into the next rule",
    "fragment-in-query": "Rampart bug: '#fragment' kept in URI, ARGS",
    "fragment-in-path": "Rampart bug: '#fragment' kept in REQUEST_FILENAME",
    "detectsqli-1e-function-calls": "Rampart bug: @detectSQLi differs from libinjection",
    "json-empty-key": "Rampart bug: empty JSON key named 'json.' not 'json.empty-key'",
    "query-argument-syntax": "Rampart difference: empty '&&' segments not counted",
    "empty-query-segments": "Rampart difference: empty '&&' segments not counted",
    "no-files-limit": "Rampart difference: 413 at once instead of REQBODY_ERROR",
    "encoded-question-mark-in-path": "Rampart bug: REQUEST_FILENAME cut at a decoded '?'",
    "json-array-names": "deliberate Rampart difference: JSON arrays named too",
    "xml-external-entity": "Rampart difference: XML external entity is a parse error",
}


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
        if name in KNOWN:
            out.append(f"({KNOWN[name]})")
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
    differ = surprises = 0
    for name, what, rules, raw, r, m in rows:
        same = sorted(r.rules) == sorted(m.rules) and r.status == m.status
        differ += not same
        surprise = same == (name in KNOWN)
        surprises += surprise
        print(
            f"{'same   ' if same else 'DIFFERS'} {name:36} "
            f"rampart {r.rules} {r.action} {r.status}; "
            f"libmodsecurity {m.rules} {m.action} {m.status}"
            + (f"  [{KNOWN[name]}]" if name in KNOWN else "")
            + ("  <-- not as listed in KNOWN" if surprise else "")
        )
    print(f"{len(rows) - differ} same, {differ} differ, {surprises} not as listed")
    return 1 if surprises else 0


def entry() -> int:
    """main(), with setup errors (raised as SystemExit with a one-line
    message by any module) reported on stderr with exit status 2."""
    try:
        return main(sys.argv[1:])
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(entry())

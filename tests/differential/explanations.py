"""The explained disagreement classes, read from EXPLAINED.md.

Each class is a fenced block with the info string `class` in EXPLAINED.md,
written in YAML next to the prose that gives the reason:

    ```class
    name: short-name
    kind: libmodsecurity        # libmodsecurity: a quirk of libmodsecurity 3
                                # rampart: a Rampart engine bug, reported
                                # consequence: follows from another difference
    rules: [942131]             # the rule ids covered, or "any"
    only_in: modsecurity        # rampart | modsecurity: the side that matched
    request: '(?i)regex'        # optional: must match the raw request (latin-1)
    modsecurity_variable: 'regex'  # optional (only_in: modsecurity): must
                                # match a variable libmodsecurity names for it
    paranoia: [4]               # optional: levels where it applies
    ```

A `consequence` class applies only when the same request has another rule
that differs on the same side (the usual case: the anomaly score rule 949110
follows the scores of the rules that differ).

Owns: parsing those blocks and deciding which class, if any, covers one
rule id that matched on one side only. Must not make a disagreement
disappear: the caller still counts it, as explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_BLOCK = re.compile(r"^```class\n(.*?)^```", re.S | re.M)
KINDS = ("libmodsecurity", "rampart", "consequence")


@dataclass
class ExplainedClass:
    name: str
    kind: str
    rules: set[int] | None  # None: any rule
    only_in: str
    request: re.Pattern | None
    modsecurity_variable: re.Pattern | None
    paranoia: set[int] | None
    used: int = field(default=0)


def load(path: Path) -> list[ExplainedClass]:
    if not path.is_file():
        raise SystemExit(f"differential: {path} is missing")
    classes = []
    names = set()
    for n, m in enumerate(_BLOCK.finditer(path.read_text()), 1):
        try:
            d = yaml.safe_load(m.group(1)) or {}
            name = str(d["name"])
            if name in names:
                raise ValueError(f"class name '{name}' is used twice")
            names.add(name)
            kind = str(d["kind"])
            if kind not in KINDS:
                raise ValueError(f"kind '{kind}' is not one of {', '.join(KINDS)}")
            rules = None if d["rules"] == "any" else {int(r) for r in d["rules"]}
            only_in = str(d["only_in"])
            if only_in not in ("rampart", "modsecurity"):
                raise ValueError(f"only_in '{only_in}' is not rampart|modsecurity")
            rx = re.compile(d["request"], re.S) if d.get("request") else None
            mv = d.get("modsecurity_variable")
            if mv and only_in != "modsecurity":
                raise ValueError("modsecurity_variable needs only_in: modsecurity")
            mv = re.compile(mv) if mv else None
            pl = {int(p) for p in d["paranoia"]} if d.get("paranoia") else None
        except (KeyError, TypeError, ValueError, re.error, yaml.YAMLError) as e:
            raise SystemExit(f"differential: {path}: class block {n}: {e}")
        classes.append(ExplainedClass(name, kind, rules, only_in, rx, mv, pl))
    if not classes:
        raise SystemExit(f"differential: {path} has no class blocks")
    return classes


def _applies(c, rule, side, text, variables, paranoia) -> bool:
    if c.only_in != side or (c.rules is not None and rule not in c.rules):
        return False
    if c.paranoia is not None and paranoia not in c.paranoia:
        return False
    if c.request is not None and not c.request.search(text):
        return False
    if c.modsecurity_variable is not None:
        names = variables.get(rule, [])
        if not any(c.modsecurity_variable.search(v) for v in names):
            return False
    return True


def classify_request(
    classes: list[ExplainedClass],
    only_rampart: set[int],
    only_modsecurity: set[int],
    raw: bytes,
    modsecurity_variables: dict[int, list[str]],
    paranoia: int,
) -> dict[tuple[int, str], ExplainedClass | None]:
    """Every differing (rule, side) of one request to its class or None."""
    text = raw.decode("latin-1")
    out: dict[tuple[int, str], ExplainedClass | None] = {}
    for side, rules in (("rampart", only_rampart), ("modsecurity", only_modsecurity)):
        for rule in sorted(rules):
            found = None
            for c in classes:
                if c.kind == "consequence":
                    if len(rules) < 2:
                        continue
                if _applies(c, rule, side, text, modsecurity_variables, paranoia):
                    found = c
                    break
            if found is not None:
                found.used += 1
            out[(rule, side)] = found
    return out


def unused(classes: list[ExplainedClass]) -> list[str]:
    return [c.name for c in classes if c.used == 0]

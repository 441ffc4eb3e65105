"""The explained disagreement classes, read from EXPLAINED.md.

Each class is a fenced block with the info string `class` in EXPLAINED.md,
written in YAML next to the prose that gives the reason:

    ```class
    name: short-name
    rules: [942131]            # the rule ids the class covers
    only_in: modsecurity       # rampart | modsecurity (the side that matched)
    request: '(?i)regex'       # optional: must match the raw request (latin-1)
    paranoia: [4]              # optional: levels where it applies
    ```

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


@dataclass
class ExplainedClass:
    name: str
    rules: set[int]
    only_in: str
    request: re.Pattern | None
    paranoia: set[int] | None
    used: int = field(default=0)


def load(path: Path) -> list[ExplainedClass]:
    if not path.is_file():
        raise SystemExit(f"differential: {path} is missing")
    classes = []
    for n, m in enumerate(_BLOCK.finditer(path.read_text()), 1):
        try:
            d = yaml.safe_load(m.group(1)) or {}
            name = str(d["name"])
            rules = {int(r) for r in d["rules"]}
            only_in = str(d["only_in"])
            if only_in not in ("rampart", "modsecurity"):
                raise ValueError(f"only_in '{only_in}' is not rampart|modsecurity")
            rx = re.compile(d["request"], re.S) if d.get("request") else None
            pl = {int(p) for p in d["paranoia"]} if d.get("paranoia") else None
        except (KeyError, TypeError, ValueError, re.error, yaml.YAMLError) as e:
            raise SystemExit(f"differential: {path}: class block {n}: {e}")
        classes.append(ExplainedClass(name, rules, only_in, rx, pl))
    return classes


def classify(
    classes: list[ExplainedClass], rule: int, side: str, raw: bytes, paranoia: int
) -> ExplainedClass | None:
    """The first class covering `rule` matched only on `side`, or None."""
    text = None
    for c in classes:
        if rule not in c.rules or c.only_in != side:
            continue
        if c.paranoia is not None and paranoia not in c.paranoia:
            continue
        if c.request is not None:
            if text is None:
                text = raw.decode("latin-1")
            if not c.request.search(text):
                continue
        c.used += 1
        return c
    return None


def unused(classes: list[ExplainedClass]) -> list[str]:
    return [c.name for c in classes if c.used == 0]

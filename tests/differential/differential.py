#!/usr/bin/env python3
"""Differential run: the same requests through Rampart's WAF engine and
through libmodsecurity 3, both with the OWASP CRS configured the same way,
compared on the ids of the rules that matched, request by request.

Owns: choosing the input sets (the go-ftw suite's requests and the
generated store corpus), running both sides, comparing, attributing
disagreements to the classes of EXPLAINED.md, and writing the report
(stdout and RESULTS.md). Must not change either engine's verdict, and must
not count a disagreement as agreement: an explained disagreement is still
a disagreement, listed with its class.

    python3 differential.py [--paranoia 1,4] [--sets ftw,corpus] [--seed N]
                            [--corpus-size N] [--workers N] [--only REGEX]
                            [--show NAME [-v] [--dump FILE]] [--results FILE]

Exit status: 0 when every set reaches the agreement target (once the
differences that are libmodsecurity's own documented quirks are set aside)
and every disagreement is explained, 1 otherwise, 2 on a usage or setup
error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import explanations  # noqa: E402
import ftw_requests  # noqa: E402
import rampart_side  # noqa: E402
import store_corpus  # noqa: E402

REPO = HERE.parents[1]
SHARED = REPO.parent / "shared"
CRS = SHARED / "crs-4.28.0"
TARGET = 0.99
EXAMPLES_PER_RULE = 3


def crs_ids(ids) -> set[int]:
    """The CRS rules among `ids` (Rampart's base configuration's
    440000-440099 are compared separately, in the `with base` column)."""
    return {i for i in ids if not 440000 <= i < 440100}


# ---------------------------------------------------------------- libmodsecurity workers

_engine = None


def _init_worker(paranoia: int | None) -> None:
    global _engine
    import modsecurity_side

    _engine = modsecurity_side.ModSecurityEngine(REPO, CRS, paranoia)
    modsecurity_side.quiet_stderr()


def _evaluate_chunk(chunk: list[tuple[str, bytes]]):
    out = []
    for name, raw in chunk:
        v = _engine.evaluate(raw)
        out.append((name, ModSecurityResult(v.rules, v.action, v.status, v.variables)))
    return out


@dataclass
class ModSecurityResult:
    rules: list[int]
    action: str
    status: int
    variables: dict[int, list[str]]


def run_modsecurity(inputs, paranoia, workers) -> dict[str, ModSecurityResult]:
    """libmodsecurity over `inputs` in `workers` processes (one rule set each)."""
    chunks = [inputs[i : i + 100] for i in range(0, len(inputs), 100)]
    results = {}
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(paranoia,)
    ) as pool:
        for part in pool.map(_evaluate_chunk, chunks):
            for name, result in part:
                results[name] = result
    return results


# ---------------------------------------------------------------- comparing


@dataclass
class Difference:
    name: str
    raw: bytes
    rampart: list[int]
    modsecurity: list[int]
    # (rule id, "rampart" | "modsecurity") -> class or None (unexplained)
    pairs: dict = field(default_factory=dict)
    modsecurity_variables: dict = field(default_factory=dict)

    @property
    def explained(self) -> bool:
        return all(c is not None for c in self.pairs.values())

    @property
    def libmodsecurity_quirk_only(self) -> bool:
        """Every differing rule is a documented libmodsecurity quirk (or a
        consequence of one)."""
        kinds = {c.kind if c else None for c in self.pairs.values()}
        return "libmodsecurity" in kinds and kinds <= {"libmodsecurity", "consequence"}

    @property
    def rampart_bug(self) -> bool:
        return any(c is not None and c.kind == "rampart" for c in self.pairs.values())


@dataclass
class SetResult:
    set_name: str
    paranoia: int
    total: int = 0
    agree: int = 0
    agree_with_base: int = 0
    action_agree: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.agree / self.total if self.total else 1.0

    @property
    def quirks(self) -> int:
        return sum(d.libmodsecurity_quirk_only for d in self.differences)

    @property
    def rate_apart_from_quirks(self) -> float:
        return (self.agree + self.quirks) / self.total if self.total else 1.0

    @property
    def rampart_bugs(self) -> int:
        return sum(d.rampart_bug for d in self.differences)

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if not d.explained]


def compare(set_name, paranoia, inputs, ramp, modsec, classes) -> SetResult:
    res = SetResult(set_name, paranoia)
    for name, raw in inputs:
        r = ramp[name]
        m = modsec[name]
        res.total += 1
        if r.action == m.action:
            res.action_agree += 1
        if set(r.rules) == set(m.rules):
            res.agree_with_base += 1
        rc, mc = crs_ids(r.rules), crs_ids(m.rules)
        if rc == mc:
            res.agree += 1
            continue
        d = Difference(name, raw, r.rules, m.rules, modsecurity_variables=m.variables)
        d.pairs = explanations.classify_request(
            classes, rc - mc, mc - rc, raw, m.variables, paranoia
        )
        res.differences.append(d)
    return res


# ---------------------------------------------------------------- report


def show_bytes(raw: bytes, limit: int = 700) -> str:
    """Printable rendering of request bytes (CR shown as \\r)."""
    out = []
    for ch in raw[:limit].decode("latin-1"):
        o = ord(ch)
        if ch == "\n":
            out.append("\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or 0x7F <= o:
            out.append(f"\\x{o:02x}")
        else:
            out.append(ch)
    text = "".join(out).replace("```", "`\u200b``")
    if len(raw) > limit:
        text += f"\n… ({len(raw) - limit} more bytes)"
    return text


def pct(n: int, total: int) -> str:
    return f"{100 * n / total:.2f}%" if total else "-"


def render(results: list[SetResult], seconds: float, args) -> str:
    lines: list[str] = []
    w = lines.append
    w("# Differential results: Rampart vs libmodsecurity 3.0.15")
    w("")
    w("Written by `tests/differential/run.sh` (`differential.py`); do not edit.")
    w(
        f"CRS 4.28.0 as `seclang::crs::load` builds it, engine On (blocking), "
        f"paranoia {', '.join(str(p) for p in args.paranoia)}; go-ftw suite "
        f"requests and the store corpus (seed {args.seed}, {args.corpus_size} "
        f"requests); {seconds:.0f} s."
    )
    w("")
    w(
        "- **agree**: both engines report the same set of matched CRS rule ids "
        "(Rampart's base configuration 440000-440099, loaded identically on "
        "both sides, is left out; *with base* includes it)."
    )
    w(
        "- **apart from quirks**: agreement once the requests whose only "
        "differences are documented libmodsecurity 3 quirks (EXPLAINED.md, "
        "kind `libmodsecurity`) are set aside. The target is "
        f"{100 * TARGET:.0f}% on this figure."
    )
    w(
        "- **Rampart bugs**: requests with a difference that EXPLAINED.md "
        "attributes to a Rampart engine bug (kind `rampart`, reported to the "
        "lead)."
    )
    w("")
    w(
        "| set | PL | requests | agree | agreement | with base | apart from quirks "
        "| same action | differ | Rampart bugs | unexplained |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        w(
            f"| {r.set_name} | {r.paranoia} | {r.total} | {r.agree} | "
            f"{pct(r.agree, r.total)} | {pct(r.agree_with_base, r.total)} | "
            f"{pct(r.agree + r.quirks, r.total)} | {pct(r.action_agree, r.total)} | "
            f"{len(r.differences)} | {r.rampart_bugs} | {len(r.unexplained)} |"
        )
    total = sum(r.total for r in results)
    agree = sum(r.agree for r in results)
    quirks = sum(r.quirks for r in results)
    w(
        f"| **all** | | {total} | {agree} | **{pct(agree, total)}** | | "
        f"**{pct(agree + quirks, total)}** | | "
        f"{sum(len(r.differences) for r in results)} | "
        f"{sum(r.rampart_bugs for r in results)} | "
        f"{sum(len(r.unexplained) for r in results)} |"
    )
    w("")

    per_rule: dict = defaultdict(lambda: defaultdict(int))
    classes_of: dict = defaultdict(set)
    unexplained_of: dict = defaultdict(int)
    examples: dict = defaultdict(list)
    for r in results:
        for d in r.differences:
            for (rule, side), cls in d.pairs.items():
                key = (rule, side)
                per_rule[key][f"{r.set_name}/PL{r.paranoia}"] += 1
                if cls is None:
                    unexplained_of[key] += 1
                else:
                    classes_of[key].add(f"{cls.name} ({cls.kind})")
                ex = examples[key]
                if len(ex) < EXAMPLES_PER_RULE and all(e[0].name != d.name for e in ex):
                    ex.append((d, r.paranoia))
    order = sorted(
        per_rule,
        key=lambda k: (-unexplained_of.get(k, 0), -sum(per_rule[k].values()), k),
    )
    w("## Disagreements per rule")
    w("")
    w(
        "*only in* names the engine that matched: `rampart` = matched only by "
        "Rampart, `modsecurity` = matched only by libmodsecurity."
    )
    w("")
    w("| rule | only in | requests | where | class | unexplained |")
    w("|---|---|---|---|---|---|")
    for k in order:
        where = ", ".join(f"{s}: {n}" for s, n in sorted(per_rule[k].items()))
        cls = ", ".join(sorted(classes_of.get(k, ()))) or "-"
        un = unexplained_of.get(k, 0)
        w(
            f"| {k[0]} | {k[1]} | {sum(per_rule[k].values())} | {where} | {cls} | "
            f"{'**' + str(un) + '**' if un else 0} |"
        )
    w("")
    w("## First examples per rule")
    w("")
    for k in order:
        w(f"### {k[0]} only in {k[1]}")
        w("")
        for d, pl in examples[k]:
            cls = d.pairs.get(k)
            w(
                f"`{d.name}` at PL{pl} ({cls.name if cls else '**unexplained**'}): "
                f"Rampart {sorted(crs_ids(d.rampart))}, "
                f"libmodsecurity {sorted(crs_ids(d.modsecurity))}"
            )
            if k[1] == "modsecurity" and d.modsecurity_variables.get(k[0]):
                names = ", ".join(sorted(set(d.modsecurity_variables[k[0]])))
                w(f"(libmodsecurity matched `{names}`)")
            w("")
            w("```text")
            w(show_bytes(d.raw))
            w("```")
            w("")
    return "\n".join(lines) + "\n"


def summary(results: list[SetResult]) -> str:
    out = []
    for r in results:
        out.append(
            f"{r.set_name:7} PL{r.paranoia}: {r.agree}/{r.total} agree "
            f"({pct(r.agree, r.total)}; {pct(r.agree + r.quirks, r.total)} apart "
            f"from libmodsecurity quirks), {len(r.differences)} differ, "
            f"{r.rampart_bugs} with a known Rampart bug, "
            f"{len(r.unexplained)} unexplained"
        )
    return "\n".join(out)


# ---------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--paranoia", default="1,4", help="levels, comma-separated")
    p.add_argument("--sets", default="ftw,corpus", help="ftw, corpus or both")
    p.add_argument("--seed", type=int, default=store_corpus.DEFAULT_SEED)
    p.add_argument("--corpus-size", type=int, default=store_corpus.DEFAULT_SIZE)
    p.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 2))
    p.add_argument("--only", help="regex on request names to keep")
    p.add_argument("--show", help="print one request and both verdicts, then exit")
    p.add_argument("--dump", help="with --show: write the raw request to this file")
    p.add_argument("-v", "--verbose", action="store_true", help="with --show: every match")
    p.add_argument(
        "--results", default=str(HERE / "RESULTS.md"), help="report file ('-' for none)"
    )
    args = p.parse_args(argv)
    try:
        args.paranoia = [int(x) for x in args.paranoia.split(",") if x]
    except ValueError:
        p.error(f"--paranoia '{args.paranoia}' is not a list of levels")
    if not args.paranoia or not all(1 <= x <= 4 for x in args.paranoia):
        p.error("paranoia levels are 1-4")
    args.sets = [s for s in args.sets.split(",") if s]
    for s in args.sets:
        if s not in ("ftw", "corpus"):
            p.error(f"unknown set '{s}' (ftw, corpus)")
    if args.corpus_size < 1 or args.workers < 1:
        p.error("--corpus-size and --workers must be at least 1")
    return args


def load_inputs(args) -> dict[str, list[tuple[str, bytes]]]:
    if not CRS.is_dir():
        raise SystemExit(f"differential: the CRS is missing at {CRS}")
    sets = {}
    if "ftw" in args.sets:
        sets["ftw"] = [
            (f"ftw:{n}", raw)
            for n, raw in ftw_requests.load_suite(CRS / "tests/regression/tests")
        ]
    if "corpus" in args.sets:
        sets["corpus"] = [
            (f"corpus:{n}", raw)
            for n, raw in store_corpus.generate(args.seed, args.corpus_size)
        ]
    if args.only:
        rx = re.compile(args.only)
        sets = {k: [i for i in v if rx.search(i[0])] for k, v in sets.items()}
    return sets


def show(args, sets) -> int:
    import modsecurity_side

    found = [i for v in sets.values() for i in v if i[0] == args.show]
    if not found:
        print(f"differential: no request named {args.show}", file=sys.stderr)
        return 2
    raw = found[0][1]
    print(show_bytes(raw, 100_000))
    if args.dump:
        Path(args.dump).write_bytes(raw)
    for pl in args.paranoia:
        ramp = rampart_side.RampartBatch(REPO, CRS, pl, found).results()[args.show]
        m = modsecurity_side.ModSecurityEngine(REPO, CRS, pl).evaluate(raw, details=True)
        print(f"PL{pl} rampart        {ramp.action} {ramp.status} {ramp.rules}")
        print(f"PL{pl} libmodsecurity {m.action} {m.status} {m.rules}")
        only_r = sorted(crs_ids(ramp.rules) - crs_ids(m.rules))
        only_m = sorted(crs_ids(m.rules) - crs_ids(ramp.rules))
        print(f"PL{pl} only rampart {only_r}, only libmodsecurity {only_m}")
        for rule, match, data in m.messages or []:
            if rule in only_m or args.verbose:
                print(f"  libmodsecurity {rule}: {match[:300]} | {data[:200]}")
    return 0


def main(argv) -> int:
    args = parse_args(argv)
    classes = explanations.load(HERE / "EXPLAINED.md")
    sets = load_inputs(args)
    if args.show:
        return show(args, sets)
    everything = [i for v in sets.values() for i in v]
    if not everything:
        print("differential: no requests selected", file=sys.stderr)
        return 2
    started = time.time()
    results = []
    for pl in args.paranoia:
        t0 = time.time()
        batch = rampart_side.RampartBatch(REPO, CRS, pl, everything)
        modsec = run_modsecurity(everything, pl, args.workers)
        ramp = batch.results()
        for set_name, inputs in sets.items():
            results.append(compare(set_name, pl, inputs, ramp, modsec, classes))
        print(
            f"PL{pl}: {len(everything)} requests in {time.time() - t0:.0f} s",
            file=sys.stderr,
        )
    report = render(results, time.time() - started, args)
    if args.results != "-":
        Path(args.results).write_text(report)
    print(summary(results))
    unused = explanations.unused(classes)
    if unused and not args.only:
        print("classes in EXPLAINED.md that matched nothing: " + ", ".join(unused))
    ok = all(r.rate_apart_from_quirks >= TARGET and not r.unexplained for r in results)
    return 0 if ok else 1


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

"""Rampart's side of the comparison: the `rampart waf eval --batch` contract
(ARCHITECTURE.md), run as a child process over a whole input set at once.

Owns: writing the batch input, starting the command, reading its result
lines back in order. Must not evaluate anything itself or reinterpret
Rampart's verdicts.

The command is `$RAMPART_WAF_EVAL` when set (for example
`target/release/rampart waf eval`), else the development stand-in
`target/release/examples/waf_eval` of the conformance crate.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Verdict:
    rules: list[int]
    action: str
    status: int
    anomaly_score: int
    error: str | None = None


def command(repo: Path) -> list[str]:
    env = os.environ.get("RAMPART_WAF_EVAL")
    if env:
        return shlex.split(env)
    exe = repo / "target/release/examples/waf_eval"
    if not exe.is_file():
        raise SystemExit(
            f"differential: {exe} is missing; build it with "
            "`cargo build --release -p conformance --example waf_eval` "
            "or set RAMPART_WAF_EVAL"
        )
    return [str(exe)]


class RampartBatch:
    """One `waf eval --batch` run over `inputs`, started at construction so
    that it runs while the caller evaluates the other side."""

    def __init__(
        self,
        repo: Path,
        crs_dir: Path,
        paranoia: int | None,
        inputs: list[tuple[str, bytes]],
        includes: list[Path] = (),
    ):
        self.n = len(inputs)
        self._in = tempfile.TemporaryFile()
        for name, raw in inputs:
            line = {"id": name, "request": base64.b64encode(raw).decode()}
            self._in.write(json.dumps(line).encode() + b"\n")
        self._in.seek(0)
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        args = command(repo) + ["--rules", str(crs_dir), "--batch"]
        if paranoia is not None:
            args += ["--paranoia", str(paranoia)]
        for inc in includes:
            args += ["--include", str(inc)]
        self.args = args
        try:
            self._proc = subprocess.Popen(
                args, stdin=self._in, stdout=self._out, stderr=self._err
            )
        except OSError as e:
            raise SystemExit(f"differential: cannot run `{' '.join(args)}`: {e}")

    def results(self) -> dict[str, Verdict]:
        rc = self._proc.wait()
        self._err.seek(0)
        err = self._err.read().decode("utf-8", "replace").strip()
        if rc != 0:
            raise SystemExit(
                f"differential: `{' '.join(self.args)}` exited {rc}: {err[-2000:]}"
            )
        self._out.seek(0)
        out: dict[str, Verdict] = {}
        for line in self._out.read().decode().splitlines():
            if not line.strip():
                continue
            v = json.loads(line)
            if "error" in v:
                out[str(v.get("id"))] = Verdict([], "error", 0, 0, v["error"])
                continue
            out[str(v["id"])] = Verdict(
                [int(i) for i in v["rules"]],
                v["action"],
                int(v["status"]),
                int(v.get("anomaly_score", 0)),
            )
        if len(out) != self.n:
            raise SystemExit(
                f"differential: waf eval answered {len(out)} of {self.n} requests"
                + (f": {err[-2000:]}" if err else "")
            )
        return out

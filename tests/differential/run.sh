#!/usr/bin/env bash
# Differential run: Rampart's WAF engine vs libmodsecurity 3 on the go-ftw
# suite's requests and the generated store corpus, paranoia 1 and 4.
# Prints the summary and writes RESULTS.md next to this script.
#
#   tests/differential/run.sh [differential.py options]
#
# RAMPART_WAF_EVAL selects Rampart's side (default: the conformance crate's
# waf_eval example, built here in release mode). PYTHON selects the
# interpreter (CPython 3.11: the libmodsecurity wheel is cp311).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"

if [ ! -d "$repo/../shared/crs-4.28.0/rules" ]; then
    echo "run.sh: the CRS is missing at $repo/../shared/crs-4.28.0" >&2
    exit 2
fi

if ! "$python" -c 'import libmodsecurity, yaml' 2>/dev/null; then
    "$python" -m pip install --quiet -r "$here/requirements.txt"
fi

if [ -z "${RAMPART_WAF_EVAL:-}" ]; then
    (cd "$repo" && cargo build --release --quiet -p conformance --example waf_eval)
fi

cd "$here"
exec "$python" differential.py "$@"

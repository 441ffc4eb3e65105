"""Self-tests of the differential harness's own parts (request splitting,
go-ftw request building, the corpus, the explanation classes, the
libmodsecurity configuration). They check the harness, not the engines.

    python3 -m unittest discover -s tests/differential -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import explanations  # noqa: E402
import ftw_requests  # noqa: E402
import http1  # noqa: E402
import store_corpus  # noqa: E402

REPO = HERE.parents[1]


class Http1Split(unittest.TestCase):
    def test_chunked_body_and_folded_header(self):
        # The vector of seclang::http1's own unit test.
        r = http1.parse(
            b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"X-Long: a\r\n b\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
        )
        self.assertEqual(r.method, b"POST")
        self.assertEqual(r.version, b"1.1")
        self.assertEqual(r.body, b"abcde")
        self.assertEqual(r.headers[2], (b"X-Long", b"a b"))

    def test_content_length_cuts_the_body(self):
        r = http1.parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdef")
        self.assertEqual(r.body, b"abc")

    def test_lf_only_and_http09(self):
        r = http1.parse(b"GET /x\nHost: y\n\nrest")
        self.assertEqual((r.uri, r.version, r.body), (b"/x", b"0.9", b"rest"))

    def test_unreadable_request_is_an_error(self):
        with self.assertRaises(http1.RequestError):
            http1.parse(b"\r\n\r\n")
        with self.assertRaises(http1.RequestError):
            http1.parse(b"GET\r\n\r\n")


class GoFtwRequests(unittest.TestCase):
    def test_builds_like_go_ftw(self):
        # The vectors of conformance::ftw's unit test.
        raw = ftw_requests.build_request(
            {
                "method": "POST",
                "uri": "/x",
                "headers": {"Host": "localhost", "User-Agent": "t"},
                "data": "a=b c&d=<e>",
            }
        )
        self.assertEqual(
            raw,
            b"POST /x HTTP/1.1\r\nConnection: close\r\nContent-Length: 15\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nHost: localhost\r\n"
            b"User-Agent: t\r\n\r\na=b+c&d=%3Ce%3E",
        )
        self.assertEqual(
            ftw_requests.build_request({"encoded_request": "R0VUIC8gSFRUUC8xLjENCg0K"}),
            b"GET / HTTP/1.1\r\n\r\n",
        )

    def test_percent_encoded_data_is_left_alone(self):
        raw = ftw_requests.build_request({"method": "POST", "data": "a=%3C"})
        self.assertTrue(raw.endswith(b"\r\n\r\na=%3C"))

    def test_multipart_lines_get_crlf(self):
        raw = ftw_requests.build_request(
            {
                "method": "POST",
                "headers": {"Content-Type": "multipart/form-data; boundary=b"},
                "data": "--b\nx\n--b--\n",
            }
        )
        self.assertTrue(raw.endswith(b"--b\r\nx\r\n--b--\r\n"))


class StoreCorpus(unittest.TestCase):
    def test_same_seed_same_bytes(self):
        self.assertEqual(store_corpus.generate(7, 300), store_corpus.generate(7, 300))
        self.assertNotEqual(store_corpus.generate(7, 50), store_corpus.generate(8, 50))

    def test_every_request_is_readable_and_named_once(self):
        reqs = store_corpus.generate(store_corpus.DEFAULT_SEED, store_corpus.DEFAULT_SIZE)
        self.assertEqual(len(reqs), store_corpus.DEFAULT_SIZE)
        self.assertEqual(len({n for n, _ in reqs}), len(reqs))
        kinds = {n.split("-")[1] for n, _ in reqs}
        self.assertEqual(kinds, {"store", "attack", "edge", "oddity"})
        unreadable = 0
        for _, raw in reqs:
            try:
                http1.parse(raw)
            except http1.RequestError:
                unreadable += 1
        self.assertEqual(unreadable, 0)


class ExplainedClasses(unittest.TestCase):
    def test_explained_md_loads_and_classifies(self):
        classes = explanations.load(HERE / "EXPLAINED.md")
        names = {c.name for c in classes}
        self.assertIn("request-body-always", names)
        pairs = explanations.classify_request(
            classes,
            only_rampart=set(),
            only_modsecurity={920273, 949110},
            raw=b"POST / HTTP/1.1\r\n\r\n{}",
            modsecurity_variables={920273: ["REQUEST_BODY"]},
            paranoia=4,
        )
        self.assertEqual(pairs[(920273, "modsecurity")].name, "request-body-always")
        self.assertEqual(pairs[(949110, "modsecurity")].kind, "consequence")
        # Alone, the anomaly score rule is not a consequence of anything.
        pairs = explanations.classify_request(
            classes, set(), {949110}, b"GET / HTTP/1.1\r\n\r\n", {}, 4
        )
        self.assertIsNone(pairs[(949110, "modsecurity")])


class ModSecurityConfiguration(unittest.TestCase):
    def test_base_config_is_ramparts(self):
        import modsecurity_side

        base = modsecurity_side.base_config(REPO)
        self.assertIn("id:440000", base)
        self.assertIn("SecRequestBodyAccess On", base)


if __name__ == "__main__":
    unittest.main()

//! SPF, DMARC and MTA-STS against a real DNS server on 127.0.0.1: a small
//! UDP responder that parses queries and builds answers with hickory-proto,
//! serving a good domain and badly configured ones. The MTA-STS policies
//! are served over real HTTPS on port 443 of addresses in 127.0.53.0/24
//! (where a sending mail server would look), with certificates from a test
//! CA the check is given.

mod fixture;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use fixture::{certs, Answer};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, MX, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

#[derive(Clone)]
enum Rec {
    Txt(String),
    A(Ipv4Addr),
    Mx(String),
}

impl Rec {
    fn kind(&self) -> RecordType {
        match self {
            Rec::Txt(_) => RecordType::TXT,
            Rec::A(_) => RecordType::A,
            Rec::Mx(_) => RecordType::MX,
        }
    }
}

/// Answers TXT, A and MX queries from `zone` (lowercase names without the
/// final dot); other names get NXDOMAIN.
async fn dns_server(zone: HashMap<String, Vec<Rec>>) -> SocketAddr {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::new();
            reply.set_id(query.id());
            reply.set_message_type(MessageType::Response);
            reply.set_op_code(query.op_code());
            reply.set_recursion_desired(query.recursion_desired());
            reply.set_recursion_available(true);
            reply.set_authoritative(true);
            let mut found = false;
            for q in query.queries() {
                reply.add_query(q.clone());
                let name = q
                    .name()
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                let Some(records) = zone.get(&name) else {
                    continue;
                };
                found = true;
                for r in records.iter().filter(|r| r.kind() == q.query_type()) {
                    let data = match r {
                        Rec::Txt(t) => RData::TXT(TXT::new(vec![t.clone()])),
                        Rec::A(ip) => RData::A(A(*ip)),
                        Rec::Mx(host) => {
                            RData::MX(MX::new(10, Name::from_ascii(format!("{host}.")).unwrap()))
                        }
                    };
                    reply.add_answer(Record::from_rdata(q.name().clone(), 60, data));
                }
            }
            if !found {
                reply.set_response_code(ResponseCode::NXDomain);
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

#[derive(Default)]
struct Zone(HashMap<String, Vec<Rec>>);

impl Zone {
    fn add(&mut self, name: &str, rec: Rec) {
        self.0.entry(name.to_string()).or_default().push(rec);
    }
    fn txt(&mut self, name: &str, txt: &[&str]) {
        for t in txt {
            self.add(name, Rec::Txt(t.to_string()));
        }
    }
    /// Good SPF and DMARC, an MTA-STS record, `mta-sts.DOMAIN` at `ip`
    /// and the MX hosts.
    fn sts_domain(&mut self, domain: &str, ip: Option<Ipv4Addr>, mx: &[&str]) {
        self.txt(domain, &["v=spf1 mx -all"]);
        self.txt(&format!("_dmarc.{domain}"), &["v=DMARC1; p=reject"]);
        self.txt(&format!("_mta-sts.{domain}"), &["v=STSv1; id=20261207"]);
        if let Some(ip) = ip {
            self.add(&format!("mta-sts.{domain}"), Rec::A(ip));
        }
        for m in mx {
            self.add(domain, Rec::Mx(m.to_string()));
        }
    }
}

fn zone() -> HashMap<String, Vec<Rec>> {
    let mut z = Zone::default();
    z.txt(
        "good.example",
        &[
            "google-site-verification=x",
            "v=spf1 mx include:_spf.mail.example -all",
        ],
    );
    z.txt(
        "_dmarc.good.example",
        &["v=DMARC1; p=reject; rua=mailto:dmarc@good.example"],
    );
    z.txt("_mta-sts.good.example", &["v=STSv1; id=20260101"]);
    z.add("mta-sts.good.example", Rec::A(Ipv4Addr::new(127, 0, 53, 1)));
    z.add("good.example", Rec::Mx("mail.good.example".into()));
    z.txt("bad.example", &["v=spf1 +all"]);
    z.txt("_dmarc.bad.example", &["v=DMARC1; p=none; pct=50"]);
    z.txt("soft.example", &["v=spf1 a ~all", "v=spf1 mx -all"]);
    z.txt("_mta-sts.soft.example", &["v=STSv1"]);
    let ip = |n| Some(Ipv4Addr::new(127, 0, 53, n));
    z.sts_domain(
        "testing.example",
        ip(2),
        &["mx1.testing.example", "mx.other.example"],
    );
    z.sts_domain(
        "gap.example",
        ip(3),
        &["a.gap.example", "mail.elsewhere.example"],
    );
    z.sts_domain("html.example", ip(4), &["mail.html.example"]);
    z.sts_domain("moved.example", ip(5), &["mail.moved.example"]);
    z.sts_domain("untrusted.example", ip(6), &["mail.untrusted.example"]);
    z.sts_domain("broken.example", ip(7), &["mail.broken.example"]);
    z.sts_domain("noaddr.example", None, &["mail.noaddr.example"]);
    z.0
}

/// The policy servers: one per domain, each on its own address, port 443.
async fn policy_servers(ca: &certs::Made) -> Vec<fixture::Fixture> {
    let policy = |text: &str| Answer::text(text.as_bytes());
    let sites: Vec<(u8, &str, Answer)> = vec![
        (
            1,
            "good.example",
            policy(
                "version: STSv1\r\nmode: enforce\r\nmx: mail.good.example\r\nmax_age: 1209600\r\n",
            ),
        ),
        (
            2,
            "testing.example",
            policy("version: STSv1\nmode: testing\nmx: mx1.testing.example\nmax_age: 3600\n"),
        ),
        (
            3,
            "gap.example",
            policy("version: STSv1\nmode: enforce\nmx: *.gap.example\nmax_age: 604800\n"),
        ),
        (
            4,
            "html.example",
            Answer::html("version: STSv1\nmode: enforce\nmx: mail.html.example\nmax_age: 604800\n"),
        ),
        (
            5,
            "moved.example",
            Answer::text(b"")
                .status(301)
                .header("location", "https://www.moved.example/mta-sts.txt"),
        ),
        (
            6,
            "untrusted.example",
            policy("version: STSv1\nmode: enforce\nmx: mail.untrusted.example\nmax_age: 604800\n"),
        ),
        (
            7,
            "broken.example",
            policy("version: STSv1\nmode: enforce\nmax_age: 604800\n"),
        ),
    ];
    let mut out = Vec::new();
    for (n, domain, answer) in sites {
        let host = format!("mta-sts.{domain}");
        let leaf = if domain == "untrusted.example" {
            certs::leaf(&[&host], (-1, 30), None)
        } else {
            certs::leaf(&[&host], (-1, 30), Some(ca))
        };
        let routes = HashMap::from([("/.well-known/mta-sts.txt".to_string(), answer)]);
        let at = SocketAddr::from((Ipv4Addr::new(127, 0, 53, n), 443));
        out.push(fixture::serve_tls_at(at, routes, vec![leaf.der.clone()], leaf.key()).await);
    }
    out
}

fn ids(f: &[scan::Finding]) -> Vec<String> {
    let mut v: Vec<String> = f.iter().map(|f| f.id.clone()).collect();
    v.sort();
    v
}

fn mta_sts(f: &[scan::Finding]) -> Vec<String> {
    ids(f)
        .into_iter()
        .filter(|i| i.starts_with("dns.mta-sts"))
        .collect()
}

#[tokio::test]
async fn mail_domain_posture() {
    let server = dns_server(zone()).await;
    let t = Duration::from_secs(2);
    let ca = certs::ca("Rampart Test Mail CA");
    let servers = policy_servers(&ca).await;
    let roots = vec![ca.der.clone()];
    let check = |domain: &'static str| {
        let roots = roots.clone();
        async move { scan::dns::check(domain, Some(server), t, &roots).await }
    };

    // The policy was fetched (and is good, and names the one MX).
    let good = check("good.example").await;
    assert!(good.is_empty(), "{good:?}");
    let fetched = servers[0].seen.paths();
    assert_eq!(fetched, ["/.well-known/mta-sts.txt"]);

    let bad = check("bad.example").await;
    assert_eq!(
        ids(&bad),
        [
            "dns.dmarc-monitor-only",
            "dns.dmarc-partial",
            "dns.mta-sts-missing",
            "dns.spf-pass-all"
        ]
    );
    let pass_all = bad.iter().find(|f| f.id == "dns.spf-pass-all").unwrap();
    assert_eq!(pass_all.severity, scan::Severity::High);
    assert_eq!(pass_all.evidence, "v=spf1 +all");

    let soft = check("soft.example").await;
    assert_eq!(
        ids(&soft),
        [
            "dns.dmarc-missing",
            "dns.mta-sts-invalid",
            "dns.spf-multiple"
        ]
    );

    let none = check("nothing.example").await;
    assert_eq!(
        ids(&none),
        [
            "dns.dmarc-missing",
            "dns.mta-sts-missing",
            "dns.spf-missing"
        ]
    );

    // A resolver that never answers: a finding per record, no panic, bounded.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = silent.local_addr().unwrap();
    let lost = scan::dns::check(
        "good.example",
        Some(dead),
        Duration::from_millis(300),
        &roots,
    )
    .await;
    assert_eq!(
        ids(&lost),
        [
            "dns.dmarc-lookup-failed",
            "dns.mta-sts-lookup-failed",
            "dns.spf-lookup-failed"
        ]
    );

    // Testing mode, a short max_age, an MX the policy leaves out.
    let testing = check("testing.example").await;
    assert_eq!(
        mta_sts(&testing),
        [
            "dns.mta-sts-max-age-short",
            "dns.mta-sts-mx-uncovered",
            "dns.mta-sts-testing"
        ]
    );
    let gap = testing
        .iter()
        .find(|f| f.id == "dns.mta-sts-mx-uncovered")
        .unwrap();
    assert_eq!(gap.severity, scan::Severity::Low);
    assert!(
        gap.evidence.contains("mx.other.example"),
        "{}",
        gap.evidence
    );
    assert!(!gap.evidence.contains("MX mx1.testing"), "{}", gap.evidence);

    // Enforce with a wildcard that misses one MX: mail to it would fail.
    let gap = check("gap.example").await;
    assert_eq!(mta_sts(&gap), ["dns.mta-sts-mx-uncovered"]);
    assert_eq!(gap[0].severity, scan::Severity::Medium);
    assert!(
        gap[0]
            .evidence
            .starts_with("MX mail.elsewhere.example not matched"),
        "{}",
        gap[0].evidence
    );

    // What a sending server refuses: the wrong media type, a redirect, an
    // untrusted certificate, no address; and a policy without mx lines.
    for (domain, why) in [
        ("html.example", "not text/plain"),
        ("moved.example", "redirects are not followed"),
        ("untrusted.example", "certificate"),
        ("noaddr.example", "has no address"),
    ] {
        let f = check(domain).await;
        assert_eq!(mta_sts(&f), ["dns.mta-sts-policy-unreachable"], "{domain}");
        let e = &f
            .iter()
            .find(|f| f.id == "dns.mta-sts-policy-unreachable")
            .unwrap()
            .evidence;
        assert!(e.contains(why), "{domain}: {e}");
    }
    let broken = check("broken.example").await;
    assert_eq!(mta_sts(&broken), ["dns.mta-sts-policy-invalid"]);
    assert!(
        broken[0].evidence.contains("without any mx"),
        "{}",
        broken[0].evidence
    );
}

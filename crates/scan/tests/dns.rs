//! SPF, DMARC and MTA-STS against a real DNS server on 127.0.0.1: a small
//! UDP responder that parses queries and builds answers with hickory-proto,
//! serving a good domain and a badly configured one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;

/// Answers TXT queries from `zone` (lowercase names without the final
/// dot); other names get NXDOMAIN.
async fn dns_server(zone: HashMap<String, Vec<String>>) -> SocketAddr {
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
                if let Some(texts) = zone.get(&name) {
                    found = true;
                    if q.query_type() == RecordType::TXT {
                        for t in texts {
                            reply.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::TXT(TXT::new(vec![t.clone()])),
                            ));
                        }
                    }
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

fn zone() -> HashMap<String, Vec<String>> {
    let mut z = HashMap::new();
    let mut add = |name: &str, txt: &[&str]| {
        z.insert(
            name.to_string(),
            txt.iter().map(|s| s.to_string()).collect(),
        );
    };
    add(
        "good.example",
        &[
            "google-site-verification=x",
            "v=spf1 mx include:_spf.mail.example -all",
        ],
    );
    add(
        "_dmarc.good.example",
        &["v=DMARC1; p=reject; rua=mailto:dmarc@good.example"],
    );
    add("_mta-sts.good.example", &["v=STSv1; id=20260101"]);
    add("bad.example", &["v=spf1 +all"]);
    add("_dmarc.bad.example", &["v=DMARC1; p=none; pct=50"]);
    add("soft.example", &["v=spf1 a ~all", "v=spf1 mx -all"]);
    add("_mta-sts.soft.example", &["v=STSv1"]);
    z
}

fn ids(f: &[scan::Finding]) -> Vec<String> {
    let mut v: Vec<String> = f.iter().map(|f| f.id.clone()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn mail_domain_posture() {
    let server = dns_server(zone()).await;
    let t = Duration::from_secs(2);

    let good = scan::dns::check("good.example", Some(server), t).await;
    assert!(good.is_empty(), "{good:?}");

    let bad = scan::dns::check("bad.example", Some(server), t).await;
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

    let soft = scan::dns::check("soft.example", Some(server), t).await;
    assert_eq!(
        ids(&soft),
        [
            "dns.dmarc-missing",
            "dns.mta-sts-invalid",
            "dns.spf-multiple"
        ]
    );

    let none = scan::dns::check("nothing.example", Some(server), t).await;
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
    let lost = scan::dns::check("good.example", Some(dead), Duration::from_millis(300)).await;
    assert_eq!(
        ids(&lost),
        [
            "dns.dmarc-lookup-failed",
            "dns.mta-sts-lookup-failed",
            "dns.spf-lookup-failed"
        ]
    );
}

//! The PROXY protocol (HAProxy's, versions 1 and 2): how a load balancer
//! in front of Rampart that does not terminate TLS tells it who the client
//! is. With `server.proxy_protocol = true`, a connection from one of
//! `server.trusted_proxies` must start with the header; its source
//! address is then the client for bans, limits and `X-Forwarded-For`.
//! Connections from anyone else are taken as they are, so a client cannot
//! claim another address.
//!
//! Owns: reading exactly the header's bytes off the connection (so TLS
//! starts right after it). Parsing is the `ppp` crate's.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 line, CRLF included (the specification's bound).
const V1_MAX: usize = 107;

/// What the header said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The client's address and port.
    Client(SocketAddr),
    /// The proxy speaks for itself (a health check: v2 LOCAL, v1 UNKNOWN).
    Local,
}

/// Reads the header at the start of `tcp` within `timeout`.
pub async fn read(tcp: &mut TcpStream, timeout: Duration) -> Result<Origin, String> {
    match tokio::time::timeout(timeout, read_header(tcp)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no PROXY protocol header within {} ms",
            timeout.as_millis()
        )),
    }
}

async fn read_header(tcp: &mut TcpStream) -> Result<Origin, String> {
    let io = |e: std::io::Error| format!("reading the PROXY protocol header: {e}");
    let mut head = [0u8; 5];
    tcp.read_exact(&mut head).await.map_err(io)?;
    if &head == b"PROXY" {
        // v1: a text line; read to its CRLF, never past it.
        let mut line = head.to_vec();
        while !line.ends_with(b"\r\n") {
            if line.len() >= V1_MAX {
                return Err("PROXY protocol v1 line longer than 107 bytes".into());
            }
            let mut b = [0u8; 1];
            tcp.read_exact(&mut b).await.map_err(io)?;
            line.push(b[0]);
        }
        return parse_v1(&line);
    }
    if head != V2_SIGNATURE[..5] {
        return Err("the connection does not start with a PROXY protocol header".into());
    }
    let mut fixed = [0u8; 16];
    fixed[..5].copy_from_slice(&head);
    tcp.read_exact(&mut fixed[5..]).await.map_err(io)?;
    if &fixed[..12] != V2_SIGNATURE {
        return Err("the connection does not start with a PROXY protocol header".into());
    }
    let len = u16::from_be_bytes([fixed[14], fixed[15]]) as usize;
    let mut whole = fixed.to_vec();
    whole.resize(16 + len, 0);
    tcp.read_exact(&mut whole[16..]).await.map_err(io)?;
    parse_v2(&whole)
}

fn parse_v1(line: &[u8]) -> Result<Origin, String> {
    let text = std::str::from_utf8(line).map_err(|_| "PROXY protocol v1 line is not text")?;
    let h = ppp::v1::Header::try_from(text).map_err(|e| format!("PROXY protocol v1: {e}"))?;
    Ok(match h.addresses {
        ppp::v1::Addresses::Tcp4(a) => {
            Origin::Client(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
        }
        ppp::v1::Addresses::Tcp6(a) => {
            Origin::Client(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
        }
        ppp::v1::Addresses::Unknown => Origin::Local,
    })
}

fn parse_v2(bytes: &[u8]) -> Result<Origin, String> {
    let h = ppp::v2::Header::try_from(bytes).map_err(|e| format!("PROXY protocol v2: {e}"))?;
    if h.command == ppp::v2::Command::Local {
        return Ok(Origin::Local);
    }
    match h.addresses {
        ppp::v2::Addresses::IPv4(a) => Ok(Origin::Client(SocketAddr::new(
            IpAddr::V4(a.source_address),
            a.source_port,
        ))),
        ppp::v2::Addresses::IPv6(a) => Ok(Origin::Client(SocketAddr::new(
            IpAddr::V6(a.source_address),
            a.source_port,
        ))),
        ppp::v2::Addresses::Unspecified => Ok(Origin::Local),
        ppp::v2::Addresses::Unix(_) => {
            Err("PROXY protocol v2: a Unix socket source is not a client address".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines_give_the_client() {
        assert_eq!(
            parse_v1(b"PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\r\n"),
            Ok(Origin::Client("203.0.113.9:40000".parse().unwrap()))
        );
        assert_eq!(
            parse_v1(b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n"),
            Ok(Origin::Client("[2001:db8::7]:40000".parse().unwrap()))
        );
        assert_eq!(parse_v1(b"PROXY UNKNOWN\r\n"), Ok(Origin::Local));
        assert!(parse_v1(b"PROXY TCP4 nonsense\r\n").is_err());
    }

    #[test]
    fn v2_headers_give_the_client_or_local() {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend([
            0x21, 0x11, 0, 12, 203, 0, 113, 9, 10, 0, 0, 1, 0x9c, 0x40, 1, 187,
        ]);
        assert_eq!(
            parse_v2(&h),
            Ok(Origin::Client("203.0.113.9:40000".parse().unwrap()))
        );
        let mut local = V2_SIGNATURE.to_vec();
        local.extend([0x20, 0x00, 0, 0]);
        assert_eq!(parse_v2(&local), Ok(Origin::Local));
    }
}

//! Sets of IP addresses and networks for `@ipMatch` and `@ipMatchFromFile`.
//!
//! Owns parsing entries (`192.168.1.100`, `192.168.1.0/24`, `::1`,
//! `2001:db8::/32`) and membership tests. IPv4 and IPv6 are separate
//! families: an IPv4-mapped IPv6 value (`::ffff:10.0.0.1`) matches only
//! IPv6 entries, as in ModSecurity. A network with host bits set
//! (`10.1.2.3/8`) is reduced to its network (`10.0.0.0/8`), as ModSecurity's
//! radix tree masks it.
//!
//! Edge cases: a value that is not exactly one address in standard notation
//! (`inet_pton` rules: no port, no brackets, no white space, no leading
//! zeros in IPv4) matches nothing. Differences from ModSecurity, both on
//! the side of clarity: white space around entries is allowed, and `/0`
//! (every address of the family) is accepted where ModSecurity rejects it.
//!
//! Must not: resolve names, or allocate while matching.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A compiled set of networks: per family, sorted and merged so that a
/// lookup is one binary search.
#[derive(Debug, Clone, Default)]
pub struct IpSet {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

impl IpSet {
    /// Builds the set from entries; errors name the first bad entry.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let networks = entries
            .into_iter()
            .map(Self::parse_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_networks(networks))
    }

    /// Builds the set from parsed networks (sorted and merged here).
    pub fn from_networks(networks: impl IntoIterator<Item = IpNet>) -> Self {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for net in networks {
            match net {
                IpNet::V4(net) => v4.push(net),
                IpNet::V6(net) => v6.push(net),
            }
        }
        let mut v4 = Ipv4Net::aggregate(&v4);
        let mut v6 = Ipv6Net::aggregate(&v6);
        v4.sort();
        v6.sort();
        IpSet { v4, v6 }
    }

    /// Parses one entry: an address or a CIDR network (host bits cleared).
    pub fn parse_entry(entry: &str) -> Result<IpNet, String> {
        let entry = entry.trim();
        match entry.split_once('/') {
            Some((addr, prefix)) => {
                let addr: IpAddr = addr
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{entry}` is not an IP address or network"))?;
                let prefix: u8 = prefix
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{entry}` has an invalid prefix length"))?;
                Ok(IpNet::new(addr, prefix)
                    .map_err(|_| format!("`{entry}` has a prefix length beyond its family"))?
                    .trunc())
            }
            None => entry
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| format!("`{entry}` is not an IP address or network")),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when the set holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `value` is one address inside any entry.
    pub fn contains(&self, value: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(value) else {
            return false;
        };
        match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(addr)) => {
                let after = self.v4.partition_point(|net| net.network() <= addr);
                after > 0 && self.v4[after - 1].contains(&addr)
            }
            Ok(IpAddr::V6(addr)) => {
                let after = self.v6.partition_point(|net| net.network() <= addr);
                after > 0 && self.v6[after - 1].contains(&addr)
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[&str]) -> IpSet {
        IpSet::parse(entries.iter().copied()).unwrap()
    }

    #[test]
    fn matches_addresses_and_networks() {
        let s = set(&["127.0.0.1", "10.1.2.3/8", "2001:db8::/32", " ::1 "]);
        assert!(s.contains(b"127.0.0.1"));
        assert!(s.contains(b"10.200.0.9"));
        assert!(!s.contains(b"11.0.0.1"));
        assert!(s.contains(b"2001:db8:ffff::1"));
        assert!(s.contains(b"0:0:0:0:0:0:0:1"));
        assert!(!s.contains(b"::ffff:127.0.0.1"));
        assert!(!s.contains(b"127.0.0.1 "));
        assert!(!s.contains(b"localhost"));
        assert!(!s.contains(b""));
        assert!(!s.contains(b"\xff"));
    }

    #[test]
    fn merged_networks_still_match_every_member() {
        let s = set(&[
            "10.0.0.0/24",
            "10.0.1.0/24",
            "10.0.0.7",
            "192.168.0.0/16",
            "9.9.9.9",
        ]);
        for hit in ["10.0.0.0", "10.0.1.255", "192.168.77.1", "9.9.9.9"] {
            assert!(s.contains(hit.as_bytes()), "{hit}");
        }
        for miss in [
            "10.0.2.0",
            "9.9.9.8",
            "9.9.9.10",
            "0.0.0.0",
            "255.255.255.255",
        ] {
            assert!(!s.contains(miss.as_bytes()), "{miss}");
        }
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in ["", "1.2.3", "1.2.3.4/33", "::1/129", "1.2.3.4/x", "host"] {
            assert!(IpSet::parse([bad]).is_err(), "{bad}");
        }
    }
}

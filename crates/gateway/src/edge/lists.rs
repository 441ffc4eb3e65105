//! Allow and deny lists: addresses and CIDRs from the configuration and
//! from files (one per line, `#` comments), reloaded when a file changes.

use std::net::IpAddr;
use std::path::Path;
use std::time::SystemTime;

use ahash::AHashSet as HashSet;
use ipnet::IpNet;

/// A set of addresses and networks. Networks are kept by prefix length,
/// each length a hash set of network addresses, so a lookup costs one
/// hash probe per distinct prefix length, not one comparison per entry.
#[derive(Debug, Default, Clone)]
pub(crate) struct NetSet {
    hosts: HashSet<IpAddr>,
    /// (prefix length, IPv6?) -> network addresses.
    nets: Vec<(u8, bool, HashSet<IpAddr>)>,
}

impl NetSet {
    pub fn new(items: impl IntoIterator<Item = IpNet>) -> NetSet {
        let mut s = NetSet::default();
        s.extend(items);
        s
    }

    pub fn extend(&mut self, items: impl IntoIterator<Item = IpNet>) {
        for n in items {
            let n = n.trunc();
            if n.prefix_len() == n.max_prefix_len() {
                self.hosts.insert(n.addr());
                continue;
            }
            let v6 = matches!(n, IpNet::V6(_));
            match self
                .nets
                .iter_mut()
                .find(|(len, is6, _)| *len == n.prefix_len() && *is6 == v6)
            {
                Some((_, _, set)) => {
                    set.insert(n.network());
                }
                None => self
                    .nets
                    .push((n.prefix_len(), v6, HashSet::from([n.network()]))),
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.hosts.contains(&ip) {
            return true;
        }
        let v6 = ip.is_ipv6();
        self.nets.iter().any(|(len, is6, set)| {
            *is6 == v6
                && IpNet::new(ip, *len)
                    .map(|n| set.contains(&n.network()))
                    .unwrap_or(false)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }
}

/// `::ffff:a.b.c.d` as the IPv4 address it carries.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses a list file; the error names the first bad line.
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        match super::config_net(entry) {
            Some(n) => out.push(n),
            None => {
                return Err(format!(
                    "{}:{}: {entry:?} is not an IP address or CIDR",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

/// A list file and what it held when last read.
#[derive(Debug, Clone)]
pub(crate) struct ListFile {
    pub path: std::path::PathBuf,
    pub modified: Option<SystemTime>,
    pub len: u64,
    pub entries: Vec<IpNet>,
}

impl ListFile {
    /// Reads the file; a missing file is an empty list.
    pub fn read(path: &Path) -> Result<ListFile, String> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ListFile {
                path: path.to_path_buf(),
                modified: None,
                len: 0,
                entries: Vec::new(),
            }),
            Err(e) => Err(format!("{}: {e}", path.display())),
            Ok(meta) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(ListFile {
                    path: path.to_path_buf(),
                    modified: meta.modified().ok(),
                    len: meta.len(),
                    entries: parse_file(path, &text)?,
                })
            }
        }
    }

    /// True when the file on disk differs from what was read.
    pub fn changed(&self) -> bool {
        match std::fs::metadata(&self.path) {
            Err(_) => self.modified.is_some(),
            Ok(m) => m.modified().ok() != self.modified || m.len() != self.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_match_hosts_networks_and_mapped_v4() {
        let s = NetSet::new(
            ["10.1.0.0/16", "192.0.2.7", "2001:db8::/32"]
                .iter()
                .map(|v| super::super::config_net(v).unwrap()),
        );
        let ip = |v: &str| v.parse::<IpAddr>().unwrap();
        assert!(s.contains(ip("10.1.200.3")));
        assert!(!s.contains(ip("10.2.0.1")));
        assert!(s.contains(ip("192.0.2.7")));
        assert!(s.contains(ip("::ffff:192.0.2.7")));
        assert!(s.contains(ip("2001:db8:1::5")));
        assert!(!s.contains(ip("2001:db9::1")));
    }

    #[test]
    fn files_skip_comments_and_name_a_bad_line() {
        let p = Path::new("deny.txt");
        let ok = parse_file(p, "# scanners\n203.0.113.0/24\n\n198.51.100.9 # one host\n").unwrap();
        assert_eq!(ok.len(), 2);
        let err = parse_file(p, "10.0.0.1\nnot-an-ip\n").unwrap_err();
        assert_eq!(
            err,
            "deny.txt:2: \"not-an-ip\" is not an IP address or CIDR"
        );
    }
}

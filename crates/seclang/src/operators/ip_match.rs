//! `@ipMatch`: matches when the value is an IP address inside one of the
//! listed addresses or networks.
//!
//! Argument: comma-separated IPv4/IPv6 addresses and CIDR networks, parsed
//! once (see [`ip_set`](super::ip_set)): `127.0.0.1,::1`,
//! `192.168.0.0/16,2001:db8::/32`.
//!
//! Example: `SecRule REMOTE_ADDR "@ipMatch 127.0.0.1,::1" "id:905110,phase:1,pass,nolog,ctl:ruleEngine=Off"`
//!
//! Edge cases: a value that is not one IP address (a host name, an address
//! with a port, white space around it, the empty string) never matches.
//! IPv4 and IPv6 are separate: `::ffff:127.0.0.1` does not match
//! `127.0.0.1`. An empty argument or a bad entry is a load error naming the
//! entry. Macros are not expanded (as in ModSecurity).
//!
//! Must not: resolve names, or allocate while matching.

use super::ip_set::IpSet;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@ipMatch` operator.
#[derive(Debug, Clone)]
pub struct IpMatch {
    networks: IpSet,
}

impl IpMatch {
    /// Parses every entry.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        if param.trim().is_empty() {
            return Err("expected IP addresses or networks".to_string());
        }
        Ok(IpMatch {
            networks: IpSet::parse(param.split(','))?,
        })
    }
}

impl Operator for IpMatch {
    fn evaluate(&self, _cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        self.networks.contains(input)
    }
}

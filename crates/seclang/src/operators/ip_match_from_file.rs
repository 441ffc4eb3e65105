//! `@ipMatchFromFile` (alias `@ipMatchF`): like `@ipMatch`, with the
//! addresses and networks read from data files.
//!
//! Argument: one or more file names separated by spaces, relative to the
//! directory of the rule file. One entry per line (a line may also hold
//! several comma-separated entries, as ModSecurity accepts); CRLF, blank
//! lines and `#` comment lines are accepted. Files are read once.
//!
//! Example: `SecRule REMOTE_ADDR "@ipMatchFromFile trusted-proxies.data" "id:100,phase:1,pass,nolog"`
//!
//! Edge cases: a missing file or a bad entry is a load error naming the
//! file, the entry's number (comment and blank lines not counted) and the
//! entry (ModSecurity rejects a comment line as a bad address; we skip it). A file with no entry never matches. `https://`
//! URLs are a load error. Values are matched as in `@ipMatch`.
//!
//! Must not: read files after load time, or allocate while matching.

use super::data_file;
use super::ip_set::IpSet;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@ipMatchFromFile` operator.
#[derive(Debug, Clone)]
pub struct IpMatchFromFile {
    networks: IpSet,
}

impl IpMatchFromFile {
    /// Reads every file and parses every entry.
    pub fn new(param: &str, cx: &BuildContext) -> Result<Self, String> {
        let mut networks = Vec::new();
        for name in data_file::file_names(param)? {
            for (index, line) in data_file::read_entries(name, cx)?.iter().enumerate() {
                let line = std::str::from_utf8(line)
                    .map_err(|_| format!("{name}: entry {} is not text", index + 1))?;
                for entry in line.split(',').filter(|e| !e.trim().is_empty()) {
                    let net = IpSet::parse_entry(entry)
                        .map_err(|e| format!("{name}: entry {}: {e}", index + 1))?;
                    networks.push(net);
                }
            }
        }
        Ok(IpMatchFromFile {
            networks: IpSet::from_networks(networks),
        })
    }
}

impl Operator for IpMatchFromFile {
    fn evaluate(&self, _cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        self.networks.contains(input)
    }
}

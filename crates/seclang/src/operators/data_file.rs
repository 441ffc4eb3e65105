//! Reading the data files of `@pmFromFile` and `@ipMatchFromFile`.
//!
//! Owns path resolution (relative to the directory of the rule file being
//! loaded, [`BuildContext::base_dir`]) and line splitting: one entry per
//! line, CRLF tolerated, empty lines and lines whose first non-blank
//! character is `#` skipped (ModSecurity's `isComment`). Lines are kept as
//! bytes: data files need not be UTF-8.
//!
//! Must not: fetch URLs (ModSecurity downloads `https://` data files; a
//! gateway that loads rules must not reach out), or be called after load
//! time.

use std::path::PathBuf;

use super::BuildContext;

/// The file names in an operator argument: space-separated, as ModSecurity
/// v2 allows (`@pmFromFile a.data b.data`). Errors when there is none, or
/// when one is a URL.
pub fn file_names(param: &str) -> Result<Vec<&str>, String> {
    let names: Vec<&str> = param.split_whitespace().collect();
    if names.is_empty() {
        return Err("expected a data file name".to_string());
    }
    if let Some(url) = names.iter().find(|n| n.contains("://")) {
        return Err(format!(
            "remote data file `{url}` is not supported; download it next to the rules"
        ));
    }
    Ok(names)
}

/// Reads the entries of `name`, resolved against `cx.base_dir`.
pub fn read_entries(name: &str, cx: &BuildContext) -> Result<Vec<Vec<u8>>, String> {
    let path: PathBuf = cx.base_dir.join(name);
    let content =
        std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(entries(&content))
}

/// Splits a data file into entries, skipping blank and comment lines.
pub fn entries(content: &[u8]) -> Vec<Vec<u8>> {
    content
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !is_comment(line))
        .map(<[u8]>::to_vec)
        .collect()
}

/// ModSecurity's rule: empty, or `#` preceded only by white space.
fn is_comment(line: &[u8]) -> bool {
    match line.iter().position(|&b| b == b'#') {
        Some(hash) => line[..hash].iter().all(u8::is_ascii_whitespace),
        None => line.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_and_blank_lines() {
        let content = b"# header\r\nabc\r\n\r\n  # indented\nx # not a comment\n \nlast";
        let got = entries(content);
        let want: Vec<&[u8]> = vec![b"abc", b"x # not a comment", b" ", b"last"];
        assert_eq!(got, want);
    }

    #[test]
    fn names_must_be_local_files() {
        assert_eq!(
            file_names(" a.data  b.data ").unwrap(),
            vec!["a.data", "b.data"]
        );
        assert!(file_names("").is_err());
        assert!(file_names("https://example.com/x.data").is_err());
    }
}

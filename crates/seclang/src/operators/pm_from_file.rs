//! `@pmFromFile` (alias `@pmf`): like `@pm`, with the phrases read from data
//! files, one phrase per line.
//!
//! Argument: one or more file names separated by spaces, relative to the
//! directory of the rule file (absolute paths are used as is). Each line is
//! one phrase, spaces included; CRLF line ends are accepted; empty lines and
//! lines whose first non-blank character is `#` are skipped (see
//! [`data_file`]). Files are read once, at load time.
//!
//! Example: `SecRule REQUEST_FILENAME "@pmFromFile restricted-files.data" "id:930130,phase:1,block,t:none,t:lowercase"`
//!
//! Captures: `TX.0` is the matched phrase as written in the file.
//!
//! Edge cases: matching ignores ASCII case (as `@pm`). A missing or
//! unreadable file is a load error; a file with no phrase is accepted and
//! never matches (as in ModSecurity). Several files are accepted as in
//! ModSecurity v2 (v3 reads only one). `https://` URLs, which ModSecurity
//! downloads, are a load error here.
//!
//! Must not: read files after load time, or allocate unless it captures.

use super::data_file;
use super::phrases::PhraseSet;
use super::pm::evaluate_phrases;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@pmFromFile` operator.
#[derive(Debug, Clone)]
pub struct PmFromFile {
    phrases: PhraseSet,
}

impl PmFromFile {
    /// Reads every file and compiles the phrases.
    pub fn new(param: &str, cx: &BuildContext) -> Result<Self, String> {
        let mut phrases = Vec::new();
        for name in data_file::file_names(param)? {
            phrases.extend(data_file::read_entries(name, cx)?);
        }
        Ok(PmFromFile {
            phrases: PhraseSet::new(phrases)?,
        })
    }

    /// The compiled phrases.
    pub fn phrases(&self) -> &PhraseSet {
        &self.phrases
    }
}

impl Operator for PmFromFile {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        evaluate_phrases(&self.phrases, cx, input)
    }
}

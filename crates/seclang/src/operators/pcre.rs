//! Regular expressions with ModSecurity v3's meaning, for `@rx`,
//! `@rxGlobal` and the `@verify*` operators.
//!
//! ModSecurity compiles every pattern with PCRE in 8-bit, non-UTF mode with
//! `DOTALL | MULTILINE`: a pattern and its subject are bytes, `.` matches any
//! byte including `\n`, `^`/`$` also match at internal line breaks, `\d`,
//! `\w`, `\s` and case folding are ASCII-only, and a non-ASCII character
//! written in a pattern stands for its UTF-8 bytes one by one (so `é+` is
//! `\xC3\xA9+`, repeating only the last byte, and `[é]` is the class
//! `[\xC3\xA9]`).
//!
//! Owns: rewriting a PCRE pattern into an equivalent ASCII-only pattern
//! ([`translate`]), then compiling it with the linear-time `regex` crate
//! (bytes API, Unicode off). Only patterns that need what a finite automaton
//! cannot do (look-around, back-references, atomic groups, possessive
//! quantifiers, `\Z`, `\G`, recursion...) fall back to PCRE2 itself (the
//! `pcre2` crate, the library ModSecurity uses), with JIT and PCRE2's
//! default match limit; a match that hits the limit counts as no match, as
//! in ModSecurity. Every CRS 4 pattern compiles to the linear-time engine.
//!
//! The rewrite: `\x{HH}`/`\xH`/`\0oo`/`\o{..}`/`\cX`/`\e` and every non-ASCII
//! byte become `\xHH`; `\Q..\E` is escaped; `\v`, `\h`, `\R` get PCRE's
//! meaning (vertical/horizontal white space, any line break); `\<`, `\>`
//! are literals (word boundaries in the `regex` crate); a `{` that does not
//! start a valid quantifier is a literal; inside a class, `[`, `&`, `~` and
//! a `-` next to a class escape are literals (nested classes and set
//! operations in the `regex` crate) and `\b` is a backspace. Known residual
//! difference: `(?m)^` also matches after a trailing `\n` at the very end of
//! the subject, where PCRE does not.
//!
//! Must not: compile at evaluation time (except for arguments built from
//! macros, which the operators handle), or allocate in [`PcrePattern::is_match`].

use std::fmt;

/// Compiled-program size allowed to one pattern (the CRS's largest
/// patterns need a few megabytes once Unicode is off; this leaves room).
const COMPILED_SIZE_LIMIT: usize = 256 << 20;
/// Lazy-DFA cache per pattern and per thread that runs it (the `regex`
/// crate's default). On overflow the engine clears it and keeps going, so
/// this bounds memory, not correctness; measured on the CRS, a larger cache
/// did not make matching faster.
const DFA_CACHE_LIMIT: usize = 2 << 20;
/// JIT stack for PCRE2 fallback patterns (PCRE2's own default is 32 KiB,
/// after which a deep backtrack would fail and count as no match).
const PCRE_JIT_STACK: usize = 1 << 20;

/// A compiled regular expression with ModSecurity's semantics.
pub struct PcrePattern {
    source: String,
    engine: Engine,
}

enum Engine {
    /// The `regex` crate: linear time in the subject's length.
    Linear(regex::bytes::Regex),
    /// PCRE2: backtracking, for features a finite automaton lacks.
    Backtracking(pcre2::bytes::Regex),
}

impl fmt::Debug for PcrePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = match self.engine {
            Engine::Linear(_) => "linear",
            Engine::Backtracking(_) => "pcre2",
        };
        write!(f, "PcrePattern({engine}, {:?})", self.source)
    }
}

/// Where one match and its groups lie in the subject: `spans[0]` is the
/// whole match, `spans[n]` group `n` (`None` when it took no part).
pub type Spans = Vec<Option<(usize, usize)>>;

impl PcrePattern {
    /// Compiles `pattern` as ModSecurity would. An empty pattern means `.*`
    /// (it matches everything), as in ModSecurity's `Regex` class.
    pub fn new(pattern: &str) -> Result<Self, String> {
        Self::from_bytes(pattern.as_bytes())
    }

    /// Compiles a pattern given as bytes (a macro may expand to any bytes).
    pub fn from_bytes(pattern: &[u8]) -> Result<Self, String> {
        let source = String::from_utf8_lossy(pattern).into_owned();
        let effective: &[u8] = if pattern.is_empty() { b".*" } else { pattern };
        let translated = translate(effective)?;
        if !translated.needs_backtracking {
            if let Ok(regex) = linear_builder(&translated.text).build() {
                return Ok(PcrePattern {
                    source,
                    engine: Engine::Linear(regex),
                });
            }
        }
        let pcre = match pcre_builder().build(&translated.text) {
            Ok(regex) => regex,
            Err(translated_error) => match std::str::from_utf8(effective) {
                Ok(original) => pcre_builder()
                    .build(original)
                    .map_err(|e| one_line(&e.to_string()))?,
                Err(_) => return Err(one_line(&translated_error.to_string())),
            },
        };
        Ok(PcrePattern {
            source,
            engine: Engine::Backtracking(pcre),
        })
    }

    /// The pattern as written in the rule.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the pattern runs on the linear-time engine (no PCRE2
    /// fallback).
    pub fn is_linear_time(&self) -> bool {
        matches!(self.engine, Engine::Linear(_))
    }

    /// Number of groups including group 0.
    pub fn group_count(&self) -> usize {
        match &self.engine {
            Engine::Linear(re) => re.captures_len(),
            Engine::Backtracking(re) => re.captures_len(),
        }
    }

    /// True when the pattern matches anywhere in `subject`.
    pub fn is_match(&self, subject: &[u8]) -> bool {
        match &self.engine {
            Engine::Linear(re) => re.is_match(subject),
            Engine::Backtracking(re) => re.is_match(subject).unwrap_or(false),
        }
    }

    /// The leftmost match starting the search at `start` (context before
    /// `start` still counts for `^`, `\b` and look-behind, as with PCRE's
    /// start offset).
    pub fn find_at(&self, subject: &[u8], start: usize) -> Option<(usize, usize)> {
        match &self.engine {
            Engine::Linear(re) => re.find_at(subject, start).map(|m| (m.start(), m.end())),
            Engine::Backtracking(re) => re
                .find_at(subject, start)
                .ok()
                .flatten()
                .map(|m| (m.start(), m.end())),
        }
    }

    /// Like [`find_at`](Self::find_at), and fills `spans` with the match and
    /// every group. Allocates; only for rules that capture.
    pub fn captures_at(&self, subject: &[u8], start: usize, spans: &mut Spans) -> bool {
        spans.clear();
        match &self.engine {
            Engine::Linear(re) => {
                let mut locations = re.capture_locations();
                if re
                    .captures_read_at(&mut locations, subject, start)
                    .is_none()
                {
                    return false;
                }
                spans.extend((0..locations.len()).map(|i| locations.get(i)));
            }
            Engine::Backtracking(re) => {
                let mut locations = re.capture_locations();
                match re.captures_read_at(&mut locations, subject, start) {
                    Ok(Some(_)) => {}
                    _ => return false,
                }
                spans.extend((0..locations.len()).map(|i| locations.get(i)));
            }
        }
        true
    }
}

fn linear_builder(pattern: &str) -> regex::bytes::RegexBuilder {
    let mut builder = regex::bytes::RegexBuilder::new(pattern);
    builder
        .unicode(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .size_limit(COMPILED_SIZE_LIMIT)
        .dfa_size_limit(DFA_CACHE_LIMIT);
    builder
}

fn pcre_builder() -> pcre2::bytes::RegexBuilder {
    let mut builder = pcre2::bytes::RegexBuilder::new();
    builder
        .utf(false)
        .ucp(false)
        .dotall(true)
        .multi_line(true)
        .jit_if_available(true)
        .max_jit_stack_size(Some(PCRE_JIT_STACK));
    builder
}

/// Folds a multi-line engine message into one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A pattern rewritten for the `regex` crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// ASCII-only pattern text, valid PCRE with the same meaning too.
    pub text: String,
    /// True when the pattern has a construct that the `regex` crate accepts
    /// with another meaning (possessive quantifiers): PCRE2 must run it.
    pub needs_backtracking: bool,
}

/// Rewrites a PCRE (non-UTF) pattern into an ASCII-only pattern with the
/// same meaning for the `regex` crate's bytes API. Constructs the `regex`
/// crate lacks are passed through unchanged, so that its compiler rejects
/// them and the caller falls back to PCRE2. Errors only on what PCRE itself
/// rejects in 8-bit mode (`\x{100}`, a trailing backslash, `\c` at the end).
pub fn translate(pattern: &[u8]) -> Result<Translation, String> {
    let mut out = Translator {
        src: pattern,
        pos: 0,
        text: String::with_capacity(pattern.len() + 16),
        needs_backtracking: false,
    };
    out.run()?;
    Ok(Translation {
        text: out.text,
        needs_backtracking: out.needs_backtracking,
    })
}

struct Translator<'a> {
    src: &'a [u8],
    pos: usize,
    text: String,
    needs_backtracking: bool,
}

/// Where an escape appears: the rewrite differs inside a character class.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Outside,
    InClass,
}

/// What an escape inside a class produced, for the `-` rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClassItem {
    Literal,
    ClassEscape,
}

impl Translator<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    fn push_byte(&mut self, byte: u8) {
        use std::fmt::Write;
        let _ = write!(self.text, "\\x{byte:02X}");
    }

    /// Emits `byte` as a literal that means itself in both dialects, also
    /// under `(?x)` (so a space is written `\x20`).
    fn push_literal(&mut self, byte: u8) {
        if byte.is_ascii_alphanumeric() || byte == b'_' {
            self.text.push(char::from(byte));
        } else if byte.is_ascii_punctuation() {
            self.text.push('\\');
            self.text.push(char::from(byte));
        } else {
            self.push_byte(byte);
        }
    }

    fn run(&mut self) -> Result<(), String> {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\\' => {
                    self.escape(Place::Outside)?;
                }
                b'[' => self.class()?,
                b'{' => self.brace(),
                b'}' | b']' => {
                    self.text.push('\\');
                    self.text.push(char::from(byte));
                    self.pos += 1;
                }
                b'*' | b'+' | b'?' => {
                    self.text.push(char::from(byte));
                    self.pos += 1;
                    self.after_quantifier();
                }
                b'(' => self.group_open(),
                0x80..=0xFF => {
                    self.push_byte(byte);
                    self.pos += 1;
                }
                _ => {
                    self.text.push(char::from(byte));
                    self.pos += 1;
                }
            }
        }
        Ok(())
    }

    /// After `*`, `+`, `?` or `{n,m}`: a lazy `?` is copied; a possessive
    /// `+` means the pattern needs PCRE2.
    fn after_quantifier(&mut self) {
        match self.peek(0) {
            Some(b'?') => {
                self.text.push('?');
                self.pos += 1;
            }
            Some(b'+') => {
                self.text.push('+');
                self.pos += 1;
                self.needs_backtracking = true;
            }
            _ => {}
        }
    }

    /// `(`: a `(?#...)` comment is dropped; `(?` keeps its `?` away from
    /// the quantifier handling.
    fn group_open(&mut self) {
        if self.peek(1) == Some(b'?') && self.peek(2) == Some(b'#') {
            match self.src[self.pos..].iter().position(|&b| b == b')') {
                Some(close) => self.pos += close + 1,
                None => {
                    // Unterminated comment: leave it for the engines to reject.
                    self.text.push_str("(?#");
                    self.pos += 3;
                }
            }
            return;
        }
        self.text.push('(');
        self.pos += 1;
        if self.peek(0) == Some(b'?') {
            self.text.push('?');
            self.pos += 1;
        }
    }

    /// `{`: a quantifier `{n}`, `{n,}`, `{n,m}` is copied, anything else is
    /// a literal brace (PCRE's reading; the `regex` crate would reject it).
    fn brace(&mut self) {
        let rest = &self.src[self.pos + 1..];
        let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
        let low = digits(rest);
        let mut len = None;
        if low > 0 {
            match rest.get(low) {
                Some(b'}') => len = Some(low + 2),
                Some(b',') => {
                    let high = digits(&rest[low + 1..]);
                    if rest.get(low + 1 + high) == Some(&b'}') {
                        len = Some(low + high + 3);
                    }
                }
                _ => {}
            }
        }
        match len {
            Some(len) => {
                let quantifier = &self.src[self.pos..self.pos + len];
                self.text.extend(quantifier.iter().map(|&b| char::from(b)));
                self.pos += len;
                self.after_quantifier();
            }
            None => {
                self.text.push_str("\\{");
                self.pos += 1;
            }
        }
    }

    /// A character class, from `[` to its closing `]`.
    fn class(&mut self) -> Result<(), String> {
        self.text.push('[');
        self.pos += 1;
        if self.peek(0) == Some(b'^') {
            self.text.push('^');
            self.pos += 1;
        }
        // A `]` right after `[` or `[^` is a literal in PCRE.
        if self.peek(0) == Some(b']') {
            self.text.push_str("\\]");
            self.pos += 1;
        }
        let mut previous = ClassItem::Literal;
        loop {
            let Some(byte) = self.peek(0) else {
                // Unterminated class: PCRE rejects it, and so will the engines.
                return Ok(());
            };
            match byte {
                b']' => {
                    self.text.push(']');
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    previous = self.escape(Place::InClass)?;
                    continue;
                }
                b'[' => {
                    if let Some(len) = self.posix_class_len() {
                        let name = &self.src[self.pos..self.pos + len];
                        self.text.extend(name.iter().map(|&b| char::from(b)));
                        self.pos += len;
                        previous = ClassItem::ClassEscape;
                        continue;
                    }
                    self.text.push_str("\\[");
                }
                b'&' | b'~' => {
                    self.text.push('\\');
                    self.text.push(char::from(byte));
                }
                b'-' => {
                    let next_is_class_escape = self.peek(1) == Some(b'\\')
                        && self.peek(2).is_some_and(|c| b"dDsSwWhHvV".contains(&c));
                    if previous == ClassItem::ClassEscape
                        || next_is_class_escape
                        || self.peek(1) == Some(b'-')
                    {
                        self.text.push_str("\\-");
                    } else {
                        self.text.push('-');
                    }
                }
                0x80..=0xFF => self.push_byte(byte),
                _ => self.text.push(char::from(byte)),
            }
            previous = ClassItem::Literal;
            self.pos += 1;
        }
    }

    /// Length of a POSIX class such as `[:alpha:]` or `[:^digit:]` at `pos`.
    fn posix_class_len(&self) -> Option<usize> {
        let rest = &self.src[self.pos..];
        if rest.get(1) != Some(&b':') {
            return None;
        }
        let body = &rest[2..];
        let name_len = body
            .iter()
            .take_while(|b| b.is_ascii_alphabetic() || **b == b'^')
            .count();
        (name_len > 0 && body.get(name_len..name_len + 2) == Some(b":]")).then_some(name_len + 4)
    }

    /// An escape sequence starting at the backslash at `pos`.
    fn escape(&mut self, place: Place) -> Result<ClassItem, String> {
        let Some(code) = self.peek(1) else {
            return Err("pattern ends with a lone backslash".to_string());
        };
        self.pos += 2;
        let inside = place == Place::InClass;
        match code {
            b'x' => {
                let value = self.hex_escape()?;
                self.push_byte(value);
            }
            b'0' => {
                let value = self.octal_digits(2, 0);
                self.push_byte(value);
            }
            b'1'..=b'7' if inside => {
                let value = self.octal_digits(2, code - b'0');
                self.push_byte(value);
            }
            b'8' | b'9' if inside => self.text.push(char::from(code)),
            b'o' if self.peek(0) == Some(b'{') => {
                let close = self.src[self.pos..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("unterminated \\o{...} escape")?;
                let digits = std::str::from_utf8(&self.src[self.pos + 1..self.pos + close])
                    .map_err(|_| "invalid \\o{...} escape")?;
                let value = u32::from_str_radix(digits, 8)
                    .map_err(|_| format!("invalid octal escape \\o{{{digits}}}"))?;
                let byte = u8::try_from(value)
                    .map_err(|_| format!("character value \\o{{{digits}}} is above 255"))?;
                self.pos += close + 1;
                self.push_byte(byte);
            }
            b'c' => {
                let Some(letter) = self.peek(0) else {
                    return Err("pattern ends with \\c".to_string());
                };
                self.pos += 1;
                self.push_byte(letter.to_ascii_uppercase() ^ 0x40);
            }
            b'e' => self.push_byte(0x1B),
            b'a' => self.push_byte(0x07),
            b'b' if inside => self.push_byte(0x08),
            b'v' if inside => {
                self.text.push_str("\\n\\x0B\\x0C\\r\\x85");
                return Ok(ClassItem::ClassEscape);
            }
            b'v' => self.text.push_str("[\\n\\x0B\\x0C\\r\\x85]"),
            b'V' if !inside => self.text.push_str("[^\\n\\x0B\\x0C\\r\\x85]"),
            b'h' if inside => {
                self.text.push_str("\\t\\x20\\xA0");
                return Ok(ClassItem::ClassEscape);
            }
            b'h' => self.text.push_str("[\\t\\x20\\xA0]"),
            b'H' if !inside => self.text.push_str("[^\\t\\x20\\xA0]"),
            b'R' if !inside => self.text.push_str("(?:\\r\\n|[\\n\\x0B\\x0C\\r\\x85])"),
            b'Q' => {
                let rest = &self.src[self.pos..];
                let end = rest
                    .windows(2)
                    .position(|w| w == b"\\E")
                    .unwrap_or(rest.len());
                for &byte in &rest[..end] {
                    self.push_literal(byte);
                }
                self.pos += (end + 2).min(rest.len());
            }
            b'E' => {}
            b'<' | b'>' => self.text.push(char::from(code)),
            b'd' | b'D' | b's' | b'S' | b'w' | b'W' => {
                self.text.push('\\');
                self.text.push(char::from(code));
                return Ok(ClassItem::ClassEscape);
            }
            c if c.is_ascii_alphanumeric() => {
                // \b \B \A \z \n \t \r \f \p.. keep their shared meaning;
                // others (\Z \G \K \N \1 \g \k \X ...) make the `regex`
                // crate fail, which sends the pattern to PCRE2. A braced
                // argument (`\p{L}`, `\g{1}`) is copied with its escape.
                self.text.push('\\');
                self.text.push(char::from(c));
                if self.peek(0) == Some(b'{') {
                    let rest = &self.src[self.pos..];
                    if let Some(close) = rest.iter().position(|&b| b == b'}') {
                        let braced = &rest[..=close];
                        if braced.is_ascii() {
                            self.text.extend(braced.iter().map(|&b| char::from(b)));
                            self.pos += close + 1;
                        }
                    }
                }
                if matches!(c, b'p' | b'P') {
                    return Ok(ClassItem::ClassEscape);
                }
            }
            c => self.push_literal(c),
        }
        Ok(ClassItem::Literal)
    }

    /// The value of `\x` at `pos`: `{h..}` or up to two hex digits.
    fn hex_escape(&mut self) -> Result<u8, String> {
        if self.peek(0) == Some(b'{') {
            let close = self.src[self.pos..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or("unterminated \\x{...} escape")?;
            let digits = std::str::from_utf8(&self.src[self.pos + 1..self.pos + close])
                .map_err(|_| "invalid \\x{...} escape")?;
            let value = u32::from_str_radix(digits, 16)
                .map_err(|_| format!("invalid hex escape \\x{{{digits}}}"))?;
            let byte = u8::try_from(value).map_err(|_| {
                format!("character value \\x{{{digits}}} is above 255 (patterns match bytes)")
            })?;
            self.pos += close + 1;
            return Ok(byte);
        }
        let mut value = 0u8;
        for _ in 0..2 {
            match self.peek(0).and_then(|b| char::from(b).to_digit(16)) {
                Some(digit) => {
                    value = value * 16 + digit as u8;
                    self.pos += 1;
                }
                None => break,
            }
        }
        Ok(value)
    }

    /// Up to `more` further octal digits after a first digit `first`.
    fn octal_digits(&mut self, more: usize, first: u8) -> u8 {
        let mut value = u32::from(first);
        for _ in 0..more {
            match self.peek(0) {
                Some(d @ b'0'..=b'7') => {
                    value = value * 8 + u32::from(d - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        (value & 0xFF) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(pattern: &str) -> PcrePattern {
        PcrePattern::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    #[test]
    fn rewrites_escapes_to_bytes() {
        let t = |p: &str| translate(p.as_bytes()).unwrap().text;
        assert_eq!(t(r"\x{bc}[^>\x{be}]"), r"\xBC[^>\xBE]");
        assert_eq!(t(r"\x41\xa\x"), r"\x41\x0A\x00");
        assert_eq!(t("é"), r"\xC3\xA9");
        assert_eq!(t("[é]"), r"[\xC3\xA9]");
        assert_eq!(t(r"\Qa.b\E+"), r"a\.b+");
        assert_eq!(t(r"a{,2}{2}x{1,}"), r"a\{,2\}{2}x{1,}");
        assert_eq!(t(r"[\w-.]"), r"[\w\-.]");
        assert_eq!(t(r"[a&&b[c]~]"), r"[a\&\&b\[c]~\]");
        assert_eq!(t(r"\p{L}{2}"), r"\p{L}{2}");
        assert_eq!(t(r"[[:alpha:]]"), r"[[:alpha:]]");
        assert_eq!(t(r"[]a]"), r"[\]a]");
        assert_eq!(t(r"\<\>"), "<>");
        assert_eq!(t(r"a(?#note)b"), "ab");
        assert_eq!(t(r"\cA\e\012"), r"\x01\x1B\x0A");
        assert!(translate(br"\x{100}").is_err());
        assert!(translate(b"abc\\").is_err());
        assert!(translate(b"a++").unwrap().needs_backtracking);
        assert!(!translate(b"a+?").unwrap().needs_backtracking);
    }

    #[test]
    fn matches_bytes_like_pcre_non_utf() {
        let any = rx(".");
        assert!(any.is_match(b"\xff") && any.is_match(b"\n"));
        assert!(rx(r"\xff").is_match(b"\xff"));
        assert!(rx(r"\x{ff}").is_match(b"\xff"));
        assert!(rx("é").is_match("café".as_bytes()));
        assert!(!rx("é").is_match(b"caf\xe9"));
        // `é+` repeats only the last byte in PCRE's non-UTF mode.
        assert!(rx("^é+$").is_match(b"\xc3\xa9\xa9"));
        assert!(rx("[é]").is_match(b"\xa9"));
        assert!(rx("(?i)abc").is_match(b"ABC"));
        assert!(!rx("(?i)é").is_match("É".as_bytes()));
        assert!(rx(r"^\d+$").is_match(b"123"));
        assert!(!rx(r"\w").is_match("é".as_bytes()));
        assert!(rx("^b").is_match(b"a\nb"));
        assert!(rx("a$").is_match(b"a\nb"));
        assert!(rx(r"\v").is_match(b"\x0b") && !rx(r"\v").is_match(b"v"));
        assert!(rx(r"a{b").is_match(b"a{b"));
        assert!(rx(r"(?x) a \  b # comment").is_match(b"a b"));
        assert!(rx(r"(?x) a\Q b\E").is_match(b"a b"));
        assert!(rx("").is_match(b""));
    }

    #[test]
    fn falls_back_to_pcre2_only_when_needed() {
        assert!(rx(r"(?i)select\s+from").is_linear_time());
        let lookahead = rx(r"<\?(?!xml)");
        assert!(!lookahead.is_linear_time());
        assert!(lookahead.is_match(b"<?php") && !lookahead.is_match(b"<?xml"));
        let backref = rx(r"(a)\1");
        assert!(backref.is_match(b"xaa") && !backref.is_match(b"xab"));
        let possessive = rx("a++a");
        assert!(!possessive.is_linear_time());
        assert!(!possessive.is_match(b"aaaa"));
        assert!(PcrePattern::new("(unclosed").is_err());
        assert!(PcrePattern::new(r"\x{100}").is_err());
    }

    #[test]
    fn captures_report_spans() {
        let re = rx("(a)(x)?(c)");
        let mut spans = Spans::new();
        assert!(re.captures_at(b"zac", 0, &mut spans));
        assert_eq!(spans, vec![Some((1, 3)), Some((1, 2)), None, Some((2, 3))]);
        assert!(!re.captures_at(b"zac", 2, &mut spans));
    }
}

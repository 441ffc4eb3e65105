//! The fields of a request body and where their values sit, byte for byte,
//! so tokenization can replace a card number and leave every other byte
//! of the body as the shopper's browser sent it.
//!
//! Three encodings are read: `application/x-www-form-urlencoded`,
//! `multipart/form-data` (fields only; file parts are never rewritten) and
//! JSON (every string and number, named by its dotted path, array indexes
//! as segments). A body that claims one of them and is malformed is
//! [`Fields::Malformed`]: the caller cannot know where card data would be.

use std::ops::Range;

use zeroize::Zeroizing;

/// How a value is written in the body, so a replacement is written the
/// same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Percent-encoded, `+` for space.
    Form,
    /// As is (a multipart field's content).
    Raw,
    /// A JSON string, quotes included in the range.
    JsonString,
    /// A JSON number.
    JsonNumber,
}

/// One field value in the body.
pub(crate) struct Slot {
    /// The field's name; for JSON the dotted path (`payment.card.number`).
    pub name: String,
    /// The last segment of the name (what says its role).
    pub leaf: String,
    /// Where the encoded value sits in the body.
    pub range: Range<usize>,
    /// The decoded value (wiped on drop: it may be a card number).
    pub value: Zeroizing<String>,
    pub encoding: Encoding,
}

impl Slot {
    /// `text` encoded as this slot's value is.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        match self.encoding {
            Encoding::Form => form_urlencoded::byte_serialize(text.as_bytes())
                .collect::<String>()
                .into_bytes(),
            Encoding::Raw => text.as_bytes().to_vec(),
            Encoding::JsonString => serde_json::to_vec(text).unwrap_or_default(),
            Encoding::JsonNumber => {
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                    text.as_bytes().to_vec()
                } else {
                    serde_json::to_vec(text).unwrap_or_default()
                }
            }
        }
    }
}

/// What a body holds.
pub(crate) enum Fields {
    /// An encoding this module reads, and its fields.
    Parsed(Vec<Slot>),
    /// Claims an encoding it does not follow.
    Malformed(&'static str),
    /// Another content type (or none).
    Other,
}

/// The fields of `body` sent with `content_type`.
pub(crate) fn parse(content_type: Option<&str>, body: &[u8]) -> Fields {
    let Some(ct) = content_type else {
        return Fields::Other;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => urlencoded(body),
        "multipart/form-data" => multipart(ct, body),
        e if e == "application/json" || e.ends_with("+json") => json(body),
        _ => Fields::Other,
    }
}

/// `body` with each range replaced by its bytes (ranges must not overlap).
pub(crate) fn splice(body: &[u8], mut edits: Vec<(Range<usize>, Vec<u8>)>) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut at = 0;
    for (r, bytes) in edits {
        out.extend_from_slice(&body[at..r.start]);
        out.extend_from_slice(&bytes);
        at = r.end;
    }
    out.extend_from_slice(&body[at..]);
    out
}

fn urlencoded(body: &[u8]) -> Fields {
    let mut slots = Vec::new();
    let mut start = 0;
    for piece in body.split(|&b| b == b'&') {
        let end = start + piece.len();
        if !piece.is_empty() {
            let (name_raw, value_start) = match piece.iter().position(|&b| b == b'=') {
                Some(eq) => (&piece[..eq], start + eq + 1),
                None => (piece, end),
            };
            let name: String = form_urlencoded::parse(name_raw)
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            let value = Zeroizing::new(decode_form(&body[value_start..end]));
            slots.push(Slot {
                leaf: name.clone(),
                name,
                range: value_start..end,
                value,
                encoding: Encoding::Form,
            });
        }
        start = end + 1;
    }
    Fields::Parsed(slots)
}

fn decode_form(raw: &[u8]) -> String {
    // `a=` parses as the pair ("a", value): decode the value alone by
    // giving it a name.
    let mut buf = Vec::with_capacity(raw.len() + 2);
    buf.extend_from_slice(b"v=");
    buf.extend_from_slice(raw);
    let out = form_urlencoded::parse(&buf)
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    zeroize::Zeroize::zeroize(&mut buf);
    out
}

fn multipart(content_type: &str, body: &[u8]) -> Fields {
    // The WAF's parser decides whether the body is well formed (with
    // ModSecurity's strictness); only then are parts located here.
    let outcome = seclang::body::multipart::parse(
        content_type.as_bytes(),
        body,
        seclang::body::multipart::MultipartLimits { file_limit: 0 },
    );
    if outcome.error.is_some() || outcome.flags.strict_error() {
        return Fields::Malformed("the multipart body is malformed");
    }
    let Some(boundary) = boundary(content_type) else {
        return Fields::Malformed("the multipart body has no boundary");
    };
    let delimiter = format!("--{boundary}").into_bytes();
    let Some(mut at) = find(body, &delimiter, 0) else {
        return Fields::Malformed("the multipart body has no part");
    };
    let mut slots = Vec::new();
    loop {
        let after = at + delimiter.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let Some(headers_start) = find(body, b"\r\n", after).map(|i| i + 2) else {
            return Fields::Malformed("a multipart delimiter line does not end");
        };
        let Some(headers_end) = find(body, b"\r\n\r\n", headers_start - 2) else {
            return Fields::Malformed("a multipart part's headers do not end");
        };
        let content_start = headers_end + 4;
        let mut close = Vec::with_capacity(delimiter.len() + 2);
        close.extend_from_slice(b"\r\n");
        close.extend_from_slice(&delimiter);
        let Some(content_end) = find(body, &close, content_start) else {
            return Fields::Malformed("a multipart part does not end");
        };
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        if let Some((name, has_filename)) = disposition(&headers) {
            if !has_filename {
                let value = Zeroizing::new(
                    String::from_utf8_lossy(&body[content_start..content_end]).into_owned(),
                );
                slots.push(Slot {
                    leaf: name.clone(),
                    name,
                    range: content_start..content_end,
                    value,
                    encoding: Encoding::Raw,
                });
            }
        }
        at = content_end + 2;
    }
    Fields::Parsed(slots)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|i| i + from)
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The `name` of a part's `Content-Disposition`, and whether it has a
/// `filename`.
fn disposition(headers: &str) -> Option<(String, bool)> {
    let line = headers.split("\r\n").find(|l| {
        l.split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    let mut name = None;
    let mut filename = false;
    for param in value.split(';').skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v.to_string()),
            "filename" | "filename*" => filename = true,
            _ => {}
        }
    }
    Some((name?, filename))
}

/// Deepest JSON nesting read (serde_json's own limit is 128).
const MAX_DEPTH: usize = 64;

fn json(body: &[u8]) -> Fields {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Fields::Malformed("the JSON body is malformed");
    }
    let mut scan = JsonScan {
        b: body,
        i: 0,
        path: Vec::new(),
        slots: Vec::new(),
    };
    match scan.value(0) {
        Ok(()) => Fields::Parsed(scan.slots),
        Err(why) => Fields::Malformed(why),
    }
}

/// Walks JSON that serde_json has already accepted, noting where each
/// string and number sits.
struct JsonScan<'a> {
    b: &'a [u8],
    i: usize,
    path: Vec<String>,
    slots: Vec<Slot>,
}

impl JsonScan<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\r' | b'\n') {
            self.i += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.b.get(self.i).copied().unwrap_or(0)
    }

    fn string_end(&self, start: usize) -> Result<usize, &'static str> {
        let mut j = start + 1;
        while j < self.b.len() {
            match self.b[j] {
                b'\\' => j += 2,
                b'"' => return Ok(j + 1),
                _ => j += 1,
            }
        }
        Err("the JSON body has an unterminated string")
    }

    fn value(&mut self, depth: usize) -> Result<(), &'static str> {
        if depth > MAX_DEPTH {
            return Err("the JSON body is nested too deeply");
        }
        self.ws();
        match self.peek() {
            b'{' => {
                self.i += 1;
                loop {
                    self.ws();
                    if self.peek() == b'}' {
                        self.i += 1;
                        return Ok(());
                    }
                    let start = self.i;
                    let end = self.string_end(start)?;
                    let key: String = serde_json::from_slice(&self.b[start..end])
                        .map_err(|_| "the JSON body has a bad key")?;
                    self.i = end;
                    self.ws();
                    self.i += 1; // ':'
                    self.path.push(key);
                    self.value(depth + 1)?;
                    self.path.pop();
                    self.ws();
                    if self.peek() == b',' {
                        self.i += 1;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut index = 0usize;
                loop {
                    self.ws();
                    if self.peek() == b']' {
                        self.i += 1;
                        return Ok(());
                    }
                    self.path.push(index.to_string());
                    self.value(depth + 1)?;
                    self.path.pop();
                    index += 1;
                    self.ws();
                    if self.peek() == b',' {
                        self.i += 1;
                    }
                }
            }
            b'"' => {
                let start = self.i;
                let end = self.string_end(start)?;
                let text: String = serde_json::from_slice(&self.b[start..end])
                    .map_err(|_| "the JSON body has a bad string")?;
                self.i = end;
                self.slot(start..end, Zeroizing::new(text), Encoding::JsonString);
                Ok(())
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let text = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                self.slot(start..self.i, Zeroizing::new(text), Encoding::JsonNumber);
                Ok(())
            }
            _ => {
                // true, false, null
                while self.i < self.b.len() && self.b[self.i].is_ascii_alphabetic() {
                    self.i += 1;
                }
                Ok(())
            }
        }
    }

    fn slot(&mut self, range: Range<usize>, value: Zeroizing<String>, encoding: Encoding) {
        self.slots.push(Slot {
            name: self.path.join("."),
            leaf: self.path.last().cloned().unwrap_or_default(),
            range,
            value,
            encoding,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(ct: &str, body: &[u8]) -> Vec<Slot> {
        match parse(Some(ct), body) {
            Fields::Parsed(s) => s,
            Fields::Malformed(why) => panic!("malformed: {why}"),
            Fields::Other => panic!("other"),
        }
    }

    fn replace(body: &[u8], slots: &[Slot], name: &str, with: &str) -> Vec<u8> {
        let s = slots.iter().find(|s| s.name == name).expect(name);
        splice(body, vec![(s.range.clone(), s.encode(with))])
    }

    #[test]
    fn urlencoded_values_are_found_and_replaced_in_place() {
        let body = b"a=1&card%5Fnumber=4111+1111+1111+1111&&flag&b=x%26y";
        let slots = parsed("application/x-www-form-urlencoded; charset=utf-8", body);
        let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "card_number", "flag", "b"]);
        assert_eq!(&*slots[1].value, "4111 1111 1111 1111");
        assert_eq!(&*slots[3].value, "x&y");
        assert_eq!(&*slots[2].value, "");
        let out = replace(body, &slots, "card_number", "4111 00 1111");
        assert_eq!(out, b"a=1&card%5Fnumber=4111+00+1111&&flag&b=x%26y");
    }

    #[test]
    fn multipart_fields_are_found_and_files_left_alone() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n4111111111111111\r\n--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n4111111111111111\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ--\r\n";
        let slots = parsed("multipart/form-data; boundary=XyZ", body);
        let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["card_number", "note"]);
        let out = replace(body, &slots, "card_number", "4111000000001112");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("--XyZ\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n4111000000001112\r\n--XyZ"));
        assert!(text.contains(
            "filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n4111111111111111\r\n"
        ));
    }

    #[test]
    fn malformed_multipart_is_reported() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
        assert!(matches!(
            parse(Some("multipart/form-data; boundary=XyZ"), body),
            Fields::Malformed(_)
        ));
    }

    #[test]
    fn json_paths_cover_nested_objects_arrays_and_numbers_byte_exactly() {
        let body =
            br#"{ "z": 1, "payment": {"card": {"number": "4111 1111 1111 1111", "cvc":"123"}},
            "list": [ {"n": 5555555555554444}, "x\"y" ], "ok": true, "none": null }"#;
        let slots = parsed("application/json", body);
        let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "z",
                "payment.card.number",
                "payment.card.cvc",
                "list.0.n",
                "list.1"
            ]
        );
        assert_eq!(&*slots[4].value, "x\"y");
        assert_eq!(slots[3].encoding, Encoding::JsonNumber);
        let out = replace(body, &slots, "payment.card.number", "4111000000001112");
        let expected = String::from_utf8_lossy(body)
            .replace("\"4111 1111 1111 1111\"", "\"4111000000001112\"");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let out = replace(body, &slots, "list.0.n", "5555000000004441");
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("{\"n\": 5555000000004441}"));
    }

    #[test]
    fn malformed_json_and_other_types() {
        assert!(matches!(
            parse(Some("application/json"), b"{\"a\": "),
            Fields::Malformed(_)
        ));
        assert!(matches!(parse(Some("text/plain"), b"x"), Fields::Other));
        assert!(matches!(parse(None, b"x"), Fields::Other));
    }
}

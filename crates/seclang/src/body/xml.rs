//! `XML` bodies: parsed into a small owned tree (external entities are
//! never loaded) that `XML:<xpath>` targets query. The XPath subset that
//! rule sets use: `/*` (the text of the whole document), `//@*` (every
//! attribute value), and paths such as `/a/b`, `//b`, `/a/*/c`, ending
//! optionally in `/@name`, `/@*` or `/text()`. A node's value is its text
//! content, all descendant text concatenated, as libxml2 gives it.

/// A parsed XML document.
#[derive(Debug, Clone, Default)]
pub struct XmlDocument {
    nodes: Vec<Element>,
}

#[derive(Debug, Clone)]
struct Element {
    name: String,
    children: Vec<usize>,
    attributes: Vec<(String, Vec<u8>)>,
    /// Text directly inside, in order, interleaved with children's text
    /// when computing content.
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(Vec<u8>),
    Child(usize),
}

/// Parses `body`; the error is one line.
pub fn parse(body: &[u8]) -> Result<XmlDocument, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("XML is not valid UTF-8: {e}"))?;
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| e.to_string())?;
    let mut out = XmlDocument::default();
    build(&mut out, doc.root_element());
    Ok(out)
}

fn build(out: &mut XmlDocument, node: roxmltree::Node<'_, '_>) -> usize {
    let idx = out.nodes.len();
    out.nodes.push(Element {
        name: node.tag_name().name().to_string(),
        children: Vec::new(),
        attributes: node
            .attributes()
            .map(|a| (a.name().to_string(), a.value().as_bytes().to_vec()))
            .collect(),
        pieces: Vec::new(),
    });
    for child in node.children() {
        if child.is_element() {
            let c = build(out, child);
            out.nodes[idx].children.push(c);
            out.nodes[idx].pieces.push(Piece::Child(c));
        } else if child.is_text() {
            if let Some(t) = child.text() {
                out.nodes[idx]
                    .pieces
                    .push(Piece::Text(t.as_bytes().to_vec()));
            }
        }
    }
    idx
}

enum Step<'a> {
    /// `/name` or `/*`
    Child(&'a str),
    /// `//name` or `//*`
    Descendant(&'a str),
}

enum Tail<'a> {
    Node,
    Text,
    Attribute(&'a str),
}

impl XmlDocument {
    fn content(&self, idx: usize, out: &mut Vec<u8>) {
        for p in &self.nodes[idx].pieces {
            match p {
                Piece::Text(t) => out.extend_from_slice(t),
                Piece::Child(c) => self.content(*c, out),
            }
        }
    }

    fn own_text(&self, idx: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.nodes[idx].pieces {
            if let Piece::Text(t) = p {
                out.extend_from_slice(t);
            }
        }
        out
    }

    fn descendants(&self, idx: usize, out: &mut Vec<usize>) {
        for &c in &self.nodes[idx].children {
            out.push(c);
            self.descendants(c, out);
        }
    }

    /// The values an XPath expression selects (empty when it selects
    /// nothing or is outside the supported subset).
    pub fn select(&self, xpath: &str) -> Vec<Vec<u8>> {
        if self.nodes.is_empty() {
            return Vec::new();
        }
        let Some((steps, tail)) = parse_path(xpath) else {
            return Vec::new();
        };
        // The document node's only child is the root element (index 0).
        let mut current: Vec<Option<usize>> = vec![None];
        for step in &steps {
            let mut next = Vec::new();
            for &ctx in &current {
                let candidates: Vec<usize> = match (step, ctx) {
                    (Step::Child(_), None) => vec![0],
                    (Step::Child(_), Some(i)) => self.nodes[i].children.clone(),
                    (Step::Descendant(_), None) => {
                        let mut v = vec![0];
                        self.descendants(0, &mut v);
                        v
                    }
                    (Step::Descendant(_), Some(i)) => {
                        let mut v = Vec::new();
                        self.descendants(i, &mut v);
                        v
                    }
                };
                let name = match step {
                    Step::Child(n) | Step::Descendant(n) => *n,
                };
                for c in candidates {
                    if (name == "*" || self.nodes[c].name == name) && !next.contains(&Some(c)) {
                        next.push(Some(c));
                    }
                }
            }
            current = next;
        }
        let mut out = Vec::new();
        for ctx in current {
            match (&tail, ctx) {
                (Tail::Node, Some(i)) => {
                    let mut v = Vec::new();
                    self.content(i, &mut v);
                    out.push(v);
                }
                (Tail::Text, Some(i)) => out.push(self.own_text(i)),
                (Tail::Attribute(name), ctx) => {
                    let elements: Vec<usize> = match ctx {
                        Some(i) => vec![i],
                        None => (0..self.nodes.len()).collect(),
                    };
                    for i in elements {
                        for (an, av) in &self.nodes[i].attributes {
                            if *name == "*" || an == name {
                                out.push(av.clone());
                            }
                        }
                    }
                }
                (_, None) => {}
            }
        }
        out
    }
}

fn parse_path(xpath: &str) -> Option<(Vec<Step<'_>>, Tail<'_>)> {
    let mut rest = xpath.trim();
    if !rest.starts_with('/') {
        return None;
    }
    let mut steps = Vec::new();
    let mut tail = Tail::Node;
    while !rest.is_empty() {
        let descendant = rest.starts_with("//");
        rest = if descendant { &rest[2..] } else { &rest[1..] };
        let end = rest.find('/').unwrap_or(rest.len());
        let name = &rest[..end];
        rest = &rest[end..];
        if let Some(attr) = name.strip_prefix('@') {
            if !rest.is_empty() {
                return None;
            }
            if descendant {
                steps.push(Step::Descendant("*"));
            }
            tail = Tail::Attribute(attr);
            break;
        }
        if name == "text()" {
            if !rest.is_empty() {
                return None;
            }
            tail = Tail::Text;
            break;
        }
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "*_-.:".contains(c))
        {
            return None;
        }
        steps.push(if descendant {
            Step::Descendant(name)
        } else {
            Step::Child(name)
        });
    }
    Some((steps, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpath_subset() {
        let doc =
            parse(br#"<?xml version="1.0"?><a x="1"><b y="2">hi<c>there</c></b><b>again</b></a>"#)
                .unwrap();
        assert_eq!(doc.select("/*"), vec![b"hithereagain".to_vec()]);
        let mut attrs = doc.select("//@*");
        attrs.sort();
        assert_eq!(attrs, vec![b"1".to_vec(), b"2".to_vec()]);
        assert_eq!(
            doc.select("/a/b"),
            vec![b"hithere".to_vec(), b"again".to_vec()]
        );
        assert_eq!(doc.select("//c"), vec![b"there".to_vec()]);
        assert_eq!(
            doc.select("/a/b/text()"),
            vec![b"hi".to_vec(), b"again".to_vec()]
        );
        assert_eq!(doc.select("/a/@x"), vec![b"1".to_vec()]);
        assert!(doc.select("count(/a)").is_empty());
    }

    #[test]
    fn bad_xml_is_an_error() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"not xml").is_err());
    }
}

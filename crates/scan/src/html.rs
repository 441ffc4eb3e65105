//! What the scanner reads out of an HTML page: links to crawl, scripts,
//! subresources (for mixed content), forms and their fields, the
//! `generator` meta tag and the title. Tokenized with html5gum (spec
//! tokenizer states, so `<` inside `<script>` is not taken for a tag);
//! no DOM, no script execution.

use html5gum::{DefaultEmitter, Token, Tokenizer};

use crate::observatory::ScriptTag;

/// A `<form>` and what it asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The raw `action` attribute (empty: the page itself).
    pub action: String,
    pub method: String,
    pub has_password: bool,
    /// A card-number field (autocomplete `cc-number` or a name like `card`).
    pub has_card_field: bool,
}

/// The facts the checks use, from one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    /// `<a href>` values.
    pub links: Vec<String>,
    pub scripts: Vec<ScriptTag>,
    /// `(tag, url)` of every subresource the page loads: img, script,
    /// link (stylesheet, icon...), iframe, audio, video, source, embed, object.
    pub subresources: Vec<(String, String)>,
    pub forms: Vec<Form>,
    /// `<meta name="generator" content=...>` values.
    pub generators: Vec<String>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads a page.
pub fn parse(html: &str) -> Page {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut page = Page::default();
    let mut in_title = false;
    let mut in_form = false;
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = text(&tag.name).to_ascii_lowercase();
                let attr = |n: &str| {
                    tag.attributes
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(n.as_bytes()))
                        .map(|(_, v)| text(&v.value))
                };
                match name.as_str() {
                    "title" => in_title = true,
                    "a" | "area" => {
                        if let Some(href) = attr("href") {
                            page.links.push(href);
                        }
                    }
                    "script" => {
                        let src = attr("src");
                        if let Some(s) = &src {
                            page.subresources.push((name.clone(), s.clone()));
                        }
                        page.scripts.push(ScriptTag {
                            src,
                            integrity: attr("integrity").is_some_and(|v| !v.trim().is_empty()),
                        });
                    }
                    "link" => {
                        let rel = attr("rel").unwrap_or_default().to_ascii_lowercase();
                        if let Some(href) = attr("href") {
                            if rel.split_ascii_whitespace().any(|r| {
                                matches!(r, "stylesheet" | "icon" | "preload" | "modulepreload")
                            }) {
                                page.subresources.push((name.clone(), href));
                            }
                        }
                    }
                    "img" | "iframe" | "audio" | "video" | "source" | "embed" | "track" => {
                        if let Some(src) = attr("src") {
                            page.subresources.push((name.clone(), src));
                        }
                    }
                    "object" => {
                        if let Some(data) = attr("data") {
                            page.subresources.push((name.clone(), data));
                        }
                    }
                    "form" => {
                        in_form = true;
                        page.forms.push(Form {
                            action: attr("action").unwrap_or_default(),
                            method: attr("method")
                                .unwrap_or_else(|| "get".into())
                                .to_lowercase(),
                            ..Form::default()
                        });
                    }
                    "input" => {
                        let kind = attr("type").unwrap_or_default().to_ascii_lowercase();
                        let field = format!(
                            "{} {} {}",
                            attr("name").unwrap_or_default(),
                            attr("autocomplete").unwrap_or_default(),
                            attr("id").unwrap_or_default()
                        )
                        .to_ascii_lowercase();
                        let card = field.contains("cc-number")
                            || field.contains("card_number")
                            || field.contains("cardnumber")
                            || field.contains("card-number");
                        if !in_form {
                            // A field outside any form still tells about the page.
                            page.forms.push(Form::default());
                        }
                        if let Some(form) = page.forms.last_mut() {
                            form.has_password |= kind == "password";
                            form.has_card_field |= card;
                        }
                    }
                    "meta" if attr("name").is_some_and(|n| n.eq_ignore_ascii_case("generator")) => {
                        if let Some(c) = attr("content") {
                            page.generators.push(c);
                        }
                    }
                    _ => {}
                }
            }
            Token::EndTag(tag) => match text(&tag.name).to_ascii_lowercase().as_str() {
                "title" => in_title = false,
                "form" => in_form = false,
                _ => {}
            },
            Token::String(s) if in_title => page.title.push_str(&text(&s.value)),
            _ => {}
        }
    }
    page.title = page.title.trim().to_string();
    page
}

/// The script tags of a page.
pub fn scripts(html: &str) -> Vec<ScriptTag> {
    parse(html).scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scripts_forms_and_links() {
        let p = parse(
            r#"<html><head><title> Shop </title><meta name="generator" content="WordPress 6.1">
            <script src="https://cdn.example/a.js" integrity="sha384-x"></script>
            <script>if (a < b) { document.write("<a href='/nope'>"); }</script>
            <link rel="stylesheet" href="http://cdn.example/s.css"></head>
            <body><a href="/about">About</a><img src="http://img.example/x.png">
            <form action="http://shop.example/login" method="POST"><input type="password" name="pw"></form>
            <form><input name="card_number" autocomplete="cc-number"></form></body></html>"#,
        );
        assert_eq!(p.title, "Shop");
        assert_eq!(p.links, vec!["/about".to_string()]);
        assert_eq!(p.scripts.len(), 2);
        assert!(p.scripts[0].integrity);
        assert_eq!(p.generators, vec!["WordPress 6.1".to_string()]);
        assert_eq!(p.forms.len(), 2);
        assert!(p.forms[0].has_password);
        assert_eq!(p.forms[0].method, "post");
        assert!(p.forms[1].has_card_field);
        assert!(p
            .subresources
            .iter()
            .any(|(t, u)| t == "link" && u == "http://cdn.example/s.css"));
    }
}

//! The DNN page: `temp.html` with its fields filled (sans-io).
//!
//! A template is HTML with three fields, each written `{{name}}`:
//!
//! | field | what the node puts there |
//! |---|---|
//! | `{{title}}` | what is being opened (a domain, `Mimei <mid>`, `app <appid>`), HTML-escaped |
//! | `{{note}}` | a sentence the visitor must read (why no provider can be used over HTTPS), HTML-escaped, often empty |
//! | `{{data}}` | a JSON object for the script: `target` (the path to fetch from a provider), `cands` (`[{url, group}]`, best group first) and `visitor` (the visitor's address as the DNN saw it); `<`, `>`, `&` and U+2028/9 are escaped so it is safe inside `<script>` |
//!
//! `{{data}}` must appear exactly once; any other `{{...}}` is an error, so a typo in an
//! override is caught when it is loaded instead of reaching visitors. The filled page must fit
//! [`MAX_PAGE`] bytes: [`render`] drops the worst candidates until it does, and refuses a
//! template that does not fit even with none. The built-in template is `src/dnn/temp.html`.

use std::fmt;

use super::addr::Candidate;

/// The built-in template.
pub const BUILTIN: &str = include_str!("temp.html");
/// Largest filled page, in bytes (uncompressed).
pub const MAX_PAGE: usize = 3072;
/// The fields a template may use.
pub const FIELDS: [&str; 3] = ["title", "note", "data"];

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{name}}` with a name that is not a field.
    UnknownField(String),
    /// `{{` without `}}`.
    Unclosed,
    /// `{{data}}` is missing or appears more than once.
    Data(usize),
    /// Even with no candidate, the page is larger than [`MAX_PAGE`].
    TooBig(usize),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::UnknownField(n) => write!(
                f,
                "unknown field {{{{{n}}}}} (the fields are {{{{title}}}}, {{{{note}}}} and {{{{data}}}})"
            ),
            TemplateError::Unclosed => write!(f, "a '{{{{' has no matching '}}}}'"),
            TemplateError::Data(n) => write!(
                f,
                "{{{{data}}}} must appear exactly once; it appears {n} times"
            ),
            TemplateError::TooBig(n) => write!(
                f,
                "the page would be {n} bytes with no candidate; the limit is {MAX_PAGE}"
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// What a page is filled with.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The title (plain text).
    pub title: &'a str,
    /// A note for the visitor (plain text, may be empty).
    pub note: &'a str,
    /// The path to fetch from a provider.
    pub target: &'a str,
    /// The candidates, best first.
    pub cands: &'a [Candidate],
    /// The visitor's address.
    pub visitor: &'a str,
}

enum Piece<'t> {
    Text(&'t str),
    Field(&'t str),
}

fn pieces(t: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = t;
    let mut data = 0;
    while let Some(i) = rest.find("{{") {
        out.push(Piece::Text(&rest[..i]));
        let after = &rest[i + 2..];
        let j = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let name = after[..j].trim();
        if !FIELDS.contains(&name) {
            return Err(TemplateError::UnknownField(crate::api::truncate(name, 40)));
        }
        if name == "data" {
            data += 1;
        }
        out.push(Piece::Field(name));
        rest = &after[j + 2..];
    }
    out.push(Piece::Text(rest));
    if data != 1 {
        return Err(TemplateError::Data(data));
    }
    Ok(out)
}

/// Checks a template: known fields only, `{{data}}` once, and room for a page.
pub fn check(t: &str) -> Result<(), TemplateError> {
    render(
        t,
        &Page {
            title: "",
            note: "",
            target: "/",
            cands: &[],
            visitor: "",
        },
    )
    .map(|_| ())
}

/// HTML-escapes text.
pub fn html_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A JSON string literal that is also safe inside `<script>`.
fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `{{data}}` JSON.
pub fn data_json(target: &str, cands: &[Candidate], visitor: &str) -> String {
    let mut s = String::from("{\"target\":");
    json_str(target, &mut s);
    s.push_str(",\"cands\":[");
    for (i, c) in cands.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{\"url\":");
        json_str(&c.url, &mut s);
        s.push_str(&format!(",\"group\":{}}}", c.group));
    }
    s.push_str("],\"visitor\":");
    json_str(visitor, &mut s);
    s.push('}');
    s
}

fn fill(p: &[Piece<'_>], page: &Page<'_>, cands: usize) -> String {
    let mut out = String::with_capacity(MAX_PAGE);
    for piece in p {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field("title") => html_escape(page.title, &mut out),
            Piece::Field("note") => html_escape(page.note, &mut out),
            Piece::Field(_) => {
                out.push_str(&data_json(page.target, &page.cands[..cands], page.visitor))
            }
        }
    }
    out
}

/// Fills `t` for `page`, leaving out the worst candidates until the page fits [`MAX_PAGE`].
pub fn render(t: &str, page: &Page<'_>) -> Result<String, TemplateError> {
    let p = pieces(t)?;
    let mut n = page.cands.len();
    loop {
        let out = fill(&p, page, n);
        if out.len() <= MAX_PAGE {
            return Ok(out);
        }
        if n == 0 {
            return Err(TemplateError::TooBig(out.len()));
        }
        n -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(n: usize) -> Vec<Candidate> {
        (0..n)
            .map(|i| Candidate {
                url: format!("http://[2a02:c7f:1234:5678::{i:x}]:4800"),
                group: (i % 3) as u8,
            })
            .collect()
    }

    #[test]
    fn the_builtin_page_fits_3_kb_with_8_candidates() {
        check(BUILTIN).unwrap();
        let c = cands(8);
        let page = Page {
            title: "Mimei abcdefghijklmnopqrstuvwxyz0",
            note: "",
            target: "/mm/abcdefghijklmnopqrstuvwxyz0:12/",
            cands: &c,
            visitor: "2a00:1450:4001:80b::200e",
        };
        let out = render(BUILTIN, &page).unwrap();
        assert!(out.len() <= MAX_PAGE, "{}", out.len());
        // All eight made it in.
        assert_eq!(out.matches("\"url\"").count(), 8, "{out}");
    }

    #[test]
    fn fields_are_escaped() {
        let c = vec![Candidate {
            url: "http://x</script><script>alert(1)</script>".into(),
            group: 0,
        }];
        let out = render(
            "<title>{{title}}</title><p>{{note}}<script>var d={{data}}</script>",
            &Page {
                title: "<b>&\"'",
                note: "a<b",
                target: "/mm/x/",
                cands: &c,
                visitor: "1.2.3.4",
            },
        )
        .unwrap();
        assert!(out.starts_with("<title>&lt;b&gt;&amp;&quot;&#39;</title><p>a&lt;b<script>"));
        assert_eq!(out.matches("</script>").count(), 1, "{out}");
        assert!(out.contains("\\u003c/script\\u003e"));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert_eq!(
            check("<p>{{titel}} {{data}}"),
            Err(TemplateError::UnknownField("titel".into()))
        );
        assert_eq!(check("<p>{{title}}"), Err(TemplateError::Data(0)));
        assert_eq!(check("{{data}}{{data}}"), Err(TemplateError::Data(2)));
        assert_eq!(check("{{data"), Err(TemplateError::Unclosed));
        let big = format!("{}{{{{data}}}}", "x".repeat(MAX_PAGE));
        assert!(matches!(check(&big), Err(TemplateError::TooBig(_))));
    }

    #[test]
    fn candidates_are_dropped_from_the_end_to_fit() {
        let filler = "x".repeat(MAX_PAGE - 400);
        let t = format!("{filler}{{{{data}}}}");
        let c = cands(20);
        let out = render(
            &t,
            &Page {
                title: "",
                note: "",
                target: "/",
                cands: &c,
                visitor: "",
            },
        )
        .unwrap();
        assert!(out.len() <= MAX_PAGE);
        let n = out.matches("\"url\"").count();
        assert!(n > 0 && n < 20, "{n}");
        assert!(out.contains("::0]"), "the best candidate stays");
    }
}

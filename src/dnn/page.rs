//! The DNN page: `temp.html` with its fields filled (sans-io).
//!
//! A template is HTML with fields written `{{name}}` (ours) or `{{.name}}` (the Go-template
//! form a Leither `temp.html` is written in; Leither documents no field names, so the ones
//! below are ours, named after what its page gives apps through `getParam()`):
//!
//! | field | what the node puts there |
//! |---|---|
//! | `{{title}}` | what is being opened (a domain, `Mimei <mid>`, `app <appid>`), HTML-escaped |
//! | `{{note}}` | a sentence the visitor must read (why no provider can be used over HTTPS), HTML-escaped, often empty |
//! | `{{data}}` | a JSON object for the script: `target` (the path to fetch from a provider), `cands` (`[{url, group}]`, best group first) and `visitor` (the visitor's address as the DNN saw it) |
//! | `{{.ips}}` | the candidates as Leither's `host:port` strings, best first (the DNN itself as the page's own `Host`) |
//! | `{{.CurNode}}` | `0`: the index in `ips` of the node to try first |
//! | `{{.mid}}`, `{{.aid}}`, `{{.ver}}` | the Mimei (`/mm/`) or app (`/tpt/`) being opened, the other `""`; the version asked for, else `"last"` |
//! | `{{.param}}` | all of these as one object: what a Leither page's `getParam()` returns |
//! | `{{.title}}`, `{{.note}}`, `{{.data}}`, `{{.target}}`, `{{.visitor}}` | as above; `target` and `visitor` as in `{{data}}` |
//!
//! Escaping follows the place, as Go's `html/template` does: the `{{.name}}` fields are JSON
//! inside `<script>` and HTML-escaped text elsewhere; `{{data}}` is always JSON and
//! `{{title}}`/`{{note}}` always text. JSON has `<`, `>`, `&`, `'` and U+2028/9 escaped, so no
//! value (a provider's address, a domain) can end the script, a string or an attribute.
//!
//! At most [`MAX_FIELDS`] fields. The template must carry the providers (`{{data}}`, `{{.data}}`, `{{.ips}}` or `{{.param}}`)
//! once to [`MAX_LISTS`] times; any other name is an error, so a typo in an override is caught
//! when it is loaded instead of reaching visitors. The filled page must fit [`MAX_PAGE`]
//! bytes: [`render`] drops the worst candidates until it does, and refuses a template that
//! does not fit even with none. The built-in template is `src/dnn/temp.html`.

use std::fmt;

use super::addr::Candidate;

/// The built-in template.
pub const BUILTIN: &str = include_str!("temp.html");
/// Largest filled page, in bytes (uncompressed).
pub const MAX_PAGE: usize = 3584;
/// The fields a template may use as `{{name}}`.
pub const FIELDS: [&str; 3] = ["title", "note", "data"];
/// The fields a template may use as `{{.name}}` (Leither's form).
pub const DOT_FIELDS: [&str; 11] = [
    "ips", "CurNode", "mid", "aid", "ver", "param", "title", "note", "data", "target", "visitor",
];
/// Most times the provider list may appear in a template.
pub const MAX_LISTS: usize = 4;
/// Most fields in a template (the page is filled on every visit).
pub const MAX_FIELDS: usize = 64;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{name}}` with a name that is not a field.
    UnknownField(String),
    /// `{{` without `}}`.
    Unclosed,
    /// The provider list appears this many times (none, or more than [`MAX_LISTS`]).
    Data(usize),
    /// Even with no candidate, the page is larger than [`MAX_PAGE`].
    TooBig(usize),
    /// A field inside an event-handler (`on...=`) or `style` attribute, where HTML escaping
    /// does not keep a value from becoming code.
    UnsafePlace(String),
    /// More than [`MAX_FIELDS`] fields.
    TooManyFields,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::UnknownField(n) => write!(
                f,
                "unknown field {{{{{n}}}}} (the fields are {{{{title}}}}, {{{{note}}}}, {{{{data}}}} and, Leither's way, {{{{.ips}}}}, {{{{.CurNode}}}}, {{{{.mid}}}}, {{{{.aid}}}}, {{{{.ver}}}}, {{{{.param}}}}, {{{{.title}}}}, {{{{.note}}}}, {{{{.data}}}}, {{{{.target}}}}, {{{{.visitor}}}})"
            ),
            TemplateError::Unclosed => write!(f, "a '{{{{' has no matching '}}}}'"),
            TemplateError::Data(n) => write!(
                f,
                "the page must carry the providers ({{{{data}}}}, {{{{.ips}}}} or {{{{.param}}}}) 1 to {MAX_LISTS} times; the template does {n} times"
            ),
            TemplateError::TooBig(n) => write!(
                f,
                "the page would be {n} bytes with no candidate; the limit is {MAX_PAGE}"
            ),
            TemplateError::TooManyFields => {
                write!(
                    f,
                    "more than {MAX_FIELDS} fields; the page is filled on every visit"
                )
            }
            TemplateError::UnsafePlace(a) => write!(
                f,
                "a field stands in the attribute {a}=, where a value could run as script or CSS; put it in a <script> (as JSON) or in text"
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
    /// The page's own `host[:port]` as the browser named it (the `Host` header), for the DNN
    /// itself in `{{.ips}}`; empty or anything but a host and port leaves the DNN out.
    pub host: &'a str,
}

#[derive(Clone, Copy)]
enum Piece<'t> {
    Text(&'t str),
    /// A field: its name, whether written `{{.name}}`, whether inside `<script>`.
    Field(&'t str, bool, bool),
}

/// The attribute whose value a field would stand in, when `before` (the template up to the
/// field) ends inside a tag: the name before the tag's last `=`, lower case.
fn attribute_at(before: &str) -> Option<String> {
    let tag = &before[before.rfind('<')?..];
    if tag.contains('>') {
        return None;
    }
    let eq = tag.rfind('=')?;
    let name: Vec<char> = tag[..eq]
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '<' | '"' | '\''))
        .collect();
    Some(name.iter().rev().collect::<String>().to_ascii_lowercase())
}

/// Whether, after `text`, we are inside a `<script>` element (given whether we were before).
fn script_after(mut inside: bool, text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    loop {
        let tag = if inside { "</script" } else { "<script" };
        match rest.find(tag) {
            Some(i) => {
                inside = !inside;
                rest = &rest[i + tag.len()..];
            }
            None => return inside,
        }
    }
}

fn pieces(t: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = t;
    let mut lists = 0;
    let mut script = false;
    while let Some(i) = rest.find("{{") {
        out.push(Piece::Text(&rest[..i]));
        script = script_after(script, &rest[..i]);
        if out.len() >= 2 * MAX_FIELDS {
            return Err(TemplateError::TooManyFields);
        }
        let after = &rest[i + 2..];
        let j = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let raw = after[..j].trim();
        let (name, dot) = match raw.strip_prefix('.') {
            Some(n) if DOT_FIELDS.contains(&n) => (n, true),
            None if FIELDS.contains(&raw) => (raw, false),
            _ => return Err(TemplateError::UnknownField(crate::api::truncate(raw, 40))),
        };
        if matches!(name, "data" | "ips" | "param") {
            lists += 1;
        }
        if !script
            && let Some(a) = attribute_at(&t[..t.len() - rest.len() + i])
            && (a.starts_with("on") || a == "style")
        {
            return Err(TemplateError::UnsafePlace(crate::api::truncate(&a, 40)));
        }
        out.push(Piece::Field(name, dot, script));
        rest = &after[j + 2..];
    }
    out.push(Piece::Text(rest));
    if lists == 0 || lists > MAX_LISTS {
        return Err(TemplateError::Data(lists));
    }
    Ok(out)
}

/// Checks a template: known fields only, the providers carried, and room for a page.
pub fn check(t: &str) -> Result<(), TemplateError> {
    render(
        t,
        &Page {
            title: "",
            note: "",
            target: "/",
            cands: &[],
            visitor: "",
            host: "",
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

/// A JSON string literal that is also safe inside `<script>` and inside a JS string.
fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
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

/// Whether `h` is a plain `host[:port]` (a name, an IPv4 address or a bracketed IPv6 one).
fn plain_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 260
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Leither's `host:port` form of the candidates: the URL without its scheme; the DNN itself
/// (an empty URL) as `host`, or left out when `host` is not a plain host.
pub fn ips(cands: &[Candidate], host: &str) -> Vec<String> {
    cands
        .iter()
        .filter_map(|c| {
            if c.url.is_empty() {
                return plain_host(host).then(|| host.to_string());
            }
            let rest = c.url.split_once("://").map_or(c.url.as_str(), |(_, r)| r);
            Some(rest.trim_end_matches('/').to_string())
        })
        .collect()
}

/// `(mid, aid, ver)` of a target `/mm/<mid>[:ver]/...` or `/tpt/<aid>[:ver]/...`.
pub fn target_ids(target: &str) -> (&str, &str, &str) {
    let mut parts = target.trim_start_matches('/').splitn(3, '/');
    let kind = parts.next().unwrap_or("");
    let named = parts.next().unwrap_or("");
    let (id, ver) = named.split_once(':').unwrap_or((named, "last"));
    let id = id.trim_start_matches(',');
    match kind {
        "mm" => (id, "", ver),
        "tpt" => ("", id, ver),
        _ => ("", "", ver),
    }
}

/// A Leither-form field's value as JSON.
fn dot_json(name: &str, page: &Page<'_>, cands: &[Candidate], out: &mut String) {
    let (mid, aid, ver) = target_ids(page.target);
    let list = |out: &mut String| {
        out.push('[');
        for (i, h) in ips(cands, page.host).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(h, out);
        }
        out.push(']');
    };
    match name {
        "ips" => list(out),
        "CurNode" => out.push('0'),
        "mid" => json_str(mid, out),
        "aid" => json_str(aid, out),
        "ver" => json_str(ver, out),
        "title" => json_str(page.title, out),
        "note" => json_str(page.note, out),
        "target" => json_str(page.target, out),
        "visitor" => json_str(page.visitor, out),
        "data" => out.push_str(&data_json(page.target, cands, page.visitor)),
        _ => {
            out.push_str("{\"ips\":");
            list(out);
            out.push_str(",\"CurNode\":0");
            for (k, v) in [
                ("mid", mid),
                ("aid", aid),
                ("ver", ver),
                ("target", page.target),
                ("visitor", page.visitor),
            ] {
                out.push_str(",\"");
                out.push_str(k);
                out.push_str("\":");
                json_str(v, out);
            }
            out.push('}');
        }
    }
}

fn fill(p: &[Piece<'_>], page: &Page<'_>, cands: usize) -> String {
    let mut out = String::with_capacity(MAX_PAGE);
    let cs = &page.cands[..cands];
    for piece in p {
        match *piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field("title", false, _) => html_escape(page.title, &mut out),
            Piece::Field("note", false, _) => html_escape(page.note, &mut out),
            Piece::Field(_, false, _) => out.push_str(&data_json(page.target, cs, page.visitor)),
            Piece::Field(name, true, true) => dot_json(name, page, cs, &mut out),
            Piece::Field(name, true, false) => {
                let mut v = String::new();
                match name {
                    "title" => v.push_str(page.title),
                    "note" => v.push_str(page.note),
                    "mid" | "aid" | "ver" => {
                        let (m, a, r) = target_ids(page.target);
                        v.push_str(match name {
                            "mid" => m,
                            "aid" => a,
                            _ => r,
                        })
                    }
                    "target" => v.push_str(page.target),
                    "visitor" => v.push_str(page.visitor),
                    _ => dot_json(name, page, cs, &mut v),
                }
                html_escape(&v, &mut out)
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
            host: "dnn.example.org",
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
                host: "",
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
        assert_eq!(
            check("{{data}}{{.ips}}{{.param}}{{data}}{{.data}}"),
            Err(TemplateError::Data(5))
        );
        assert_eq!(
            check("{{.Ips}}"),
            Err(TemplateError::UnknownField(".Ips".into()))
        );
        assert_eq!(
            check("{{ips}}"),
            Err(TemplateError::UnknownField("ips".into()))
        );
        assert_eq!(check("{{data"), Err(TemplateError::Unclosed));
        let many = format!("{{{{data}}}}{}", "{{note}}".repeat(MAX_FIELDS));
        assert_eq!(check(&many), Err(TemplateError::TooManyFields));
        let enough = format!("{{{{data}}}}{}", "{{note}}".repeat(MAX_FIELDS - 1));
        check(&enough).unwrap();
        assert_eq!(
            check("<button onclick=\"go('{{.ips}}')\">{{data}}"),
            Err(TemplateError::UnsafePlace("onclick".into()))
        );
        assert_eq!(
            check("<p style='color:{{title}}'>{{data}}"),
            Err(TemplateError::UnsafePlace("style".into()))
        );
        check("<a title=\"{{.mid}}\" href=\"/x\">{{.title}}</a><script>var x=1</script>{{data}}")
            .unwrap();
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
                host: "",
            },
        )
        .unwrap();
        assert!(out.len() <= MAX_PAGE);
        let n = out.matches("\"url\"").count();
        assert!(n > 0 && n < 20, "{n}");
        assert!(out.contains("::0]"), "the best candidate stays");
    }

    fn leither_page<'a>(c: &'a [Candidate], target: &'a str) -> Page<'a> {
        Page {
            title: "t",
            note: "",
            target,
            cands: c,
            visitor: "198.51.100.9",
            host: "dnn.example.org:4800",
        }
    }

    #[test]
    fn leither_fields_are_json_in_scripts_and_text_elsewhere() {
        let c = vec![
            Candidate {
                url: "http://192.0.2.7:4800".into(),
                group: 1,
            },
            Candidate {
                url: "https://[2001:db8::1]:8443".into(),
                group: 2,
            },
            Candidate {
                url: String::new(),
                group: 9,
            },
        ];
        let t = "<p>{{.aid}} {{.ips}}</p><script>var p={{.param}},i={{.ips}},n={{.CurNode}},a={{ .aid }},v={{.ver}}</script>";
        let out = render(t, &leither_page(&c, "/tpt/APPID:3/")).unwrap();
        let ips = r#"["192.0.2.7:4800","[2001:db8::1]:8443","dnn.example.org:4800"]"#;
        assert!(
            out.starts_with("<p>APPID [&quot;192.0.2.7:4800&quot;,"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "var p={{\"ips\":{ips},\"CurNode\":0,\"mid\":\"\",\"aid\":\"APPID\",\"ver\":\"3\","
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!("i={ips},n=0,a=\"APPID\",v=\"3\"")),
            "{out}"
        );
        assert_eq!(target_ids("/mm/MID/a/b.html"), ("MID", "", "last"));
        assert_eq!(target_ids("/tpt/,AID/"), ("", "AID", "last"));
    }

    #[test]
    fn script_injection_through_a_provider_address_is_refused_in_both_syntaxes() {
        let evil = "http://x</script><script>alert(1)</script>'\"+alert(2)+\"";
        let c = vec![Candidate {
            url: evil.into(),
            group: 0,
        }];
        for t in [
            "<script>var d={{data}}</script>",
            "<script>var p={{.param}};var q='{{.ips}}'</script>",
            "<a title=\"{{.ips}}\" href='{{.param}}'>{{.ips}}</a><script>var d={{.data}}</script>",
        ] {
            let out = render(t, &leither_page(&c, "/mm/M/")).unwrap();
            assert_eq!(
                out.matches("</script>").count(),
                t.matches("</script>").count(),
                "{out}"
            );
            assert_eq!(
                out.matches("<script>").count(),
                t.matches("<script>").count(),
                "{out}"
            );
            assert!(!out.contains("'\""), "a quote reached the page raw: {out}");
            assert!(!out.replace("\\\"", "").contains("\"+alert"), "{out}");
        }
    }

    #[test]
    fn a_host_header_that_is_not_a_host_is_left_out_of_ips() {
        let c = vec![Candidate {
            url: String::new(),
            group: 9,
        }];
        assert_eq!(ips(&c, "x\"><script>"), Vec::<String>::new());
        assert_eq!(ips(&c, ""), Vec::<String>::new());
        assert_eq!(ips(&c, "[::1]:4800"), vec!["[::1]:4800".to_string()]);
    }
}

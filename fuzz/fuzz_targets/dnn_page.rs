//! DNN page templates (a user's `temp.html`) and the fields filled into them: checking and
//! rendering never panic, a rendered page never exceeds the limit, and no field value can
//! close the page's `<script>` or add markup, in our `{{name}}` form or Leither's `{{.name}}`.
#![no_main]
use leither::dnn::addr::Candidate;
use leither::dnn::page::{MAX_PAGE, Page, check, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The input splits into a template and the field values at NUL bytes.
    let mut parts = text.split('\0');
    let template = parts.next().unwrap_or("");
    let title = parts.next().unwrap_or("");
    let note = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let cands: Vec<Candidate> = parts
        .map(|u| Candidate {
            url: u.to_string(),
            group: (u.len() % 10) as u8,
        })
        .collect();
    let _ = check(template);
    let page = Page {
        title,
        note,
        target,
        cands: &cands,
        visitor: "203.0.113.9",
        host: title,
    };
    if let Ok(out) = render(template, &page) {
        assert!(out.len() <= MAX_PAGE);
    }
    // With a fixed template, field values never add a tag or a quote that ends an attribute.
    for fixed in [
        "<title>{{title}}</title><p>{{note}}</p><script>var d={{data}}</script>",
        "<title>{{.title}}</title><a title=\"{{.ips}}\" href='{{.target}}'>{{.mid}}</a><script>var p={{.param}},q='{{.ips}}',v=\"{{.ver}}\"</script>",
    ] {
        if let Ok(out) = render(fixed, &page) {
            assert!(out.len() <= MAX_PAGE);
            for c in ['<', '>', '\''] {
                assert_eq!(out.matches(c).count(), fixed.matches(c).count(), "{c}: {out}");
            }
        }
    }
});

//! DNN page templates (a user's `temp.html`) and the fields filled into them: checking and
//! rendering never panic, a rendered page never exceeds the limit, and no field value can
//! close the page's `<script>` or add markup.
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
    };
    if let Ok(out) = render(template, &page) {
        assert!(out.len() <= MAX_PAGE);
    }
    // With a fixed template, field values never add a tag.
    let fixed = "<title>{{title}}</title><p>{{note}}</p><script>var d={{data}}</script>";
    if let Ok(out) = render(fixed, &page) {
        assert!(out.len() <= MAX_PAGE);
        assert_eq!(
            out.matches('<').count(),
            fixed.matches('<').count(),
            "{out}"
        );
    }
});

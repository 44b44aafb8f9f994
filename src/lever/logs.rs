//! A service's log: the last [`MAX_LINES`] lines its code wrote (`print`, `log.info`, ...) and
//! the node wrote about it (starts, reaps, errors), numbered so `lever logs -f` can follow.
//!
//! Lines are cut at [`MAX_LINE`] bytes. The service's `env` values are never written here:
//! the node does not log them, and a value the code prints itself is masked (see
//! [`LogRing::push`]).

use std::collections::VecDeque;

/// Lines kept per service.
pub const MAX_LINES: usize = 1000;
/// Longest line kept.
pub const MAX_LINE: usize = 2000;

/// The ring of a service's recent lines.
#[derive(Debug, Default)]
pub struct LogRing {
    lines: VecDeque<String>,
    /// Sequence number of the next line.
    next: u64,
    /// Secrets to mask (the service's env values of 4 bytes or more).
    secrets: Vec<String>,
}

impl LogRing {
    /// An empty ring.
    pub fn new() -> LogRing {
        LogRing::default()
    }

    /// Values that must never appear in the log.
    pub fn set_secrets(&mut self, secrets: Vec<String>) {
        self.secrets = secrets.into_iter().filter(|s| s.len() >= 4).collect();
    }

    /// Appends a line (timestamped), masking secrets and cutting it to [`MAX_LINE`].
    pub fn push(&mut self, line: &str) {
        let mut text = line.replace(['\n', '\r'], " ");
        for s in &self.secrets {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), "***");
            }
        }
        let mut line = format!(
            "{} {}",
            crate::log::timestamp(crate::clock::unix_now()),
            text
        );
        if line.len() > MAX_LINE {
            line = crate::api::truncate(&line, MAX_LINE);
        }
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
        self.next += 1;
    }

    /// Lines numbered `since` and later that are still kept, and the number to ask for next.
    pub fn since(&self, since: u64) -> (Vec<String>, u64) {
        let first = self.next - self.lines.len() as u64;
        let skip = since.saturating_sub(first) as usize;
        (self.lines.iter().skip(skip).cloned().collect(), self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_and_masks() {
        let mut r = LogRing::new();
        r.set_secrets(vec!["hunter22".into(), "x".into()]);
        r.push("hello");
        r.push("pw=hunter22\nnext");
        let (lines, next) = r.since(0);
        assert_eq!(next, 2);
        assert!(lines[0].ends_with(" hello"));
        assert!(lines[1].ends_with(" pw=*** next"), "{}", lines[1]);
        let (lines, _) = r.since(1);
        assert_eq!(lines.len(), 1);
        for i in 0..MAX_LINES + 5 {
            r.push(&format!("{i}"));
        }
        let (lines, next) = r.since(0);
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(next, MAX_LINES as u64 + 7);
        assert!(r.since(next).0.is_empty());
        r.push(&"y".repeat(5000));
        assert!(r.since(next).0[0].len() <= MAX_LINE + 3);
    }
}

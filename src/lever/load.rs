//! A service's load, tracked as Lever tracks it: the request rate and the latency, each as an
//! exponentially weighted mean with its variance, and the calls in flight.
//!
//! From these the scheduler estimates the concurrency the service needs (Little's law:
//! rate x latency, plus two standard deviations of latency as a margin) and so how many
//! instances of `maxInstanceLoad` concurrent calls each it should run. Sans-io: time is passed in.

/// Weight of a new sample in the means (about the last 20 samples or seconds count).
const ALPHA: f64 = 0.05;

/// The load statistics of one service.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// Calls started in the current second and that second (ms since start).
    window_calls: u64,
    window_start_ms: u64,
    /// Requests per second, EWMA over one-second windows.
    pub rate: f64,
    /// Latency mean in ms (EWMA).
    pub latency_ms: f64,
    /// Latency variance in ms^2 (EWMA).
    pub latency_var: f64,
    /// Calls in flight now.
    pub inflight: u32,
    /// Calls answered since deploy.
    pub calls: u64,
    /// Calls that ended in an error.
    pub errors: u64,
}

impl Load {
    /// A call starts at `now_ms`.
    pub fn start(&mut self, now_ms: u64) {
        self.roll(now_ms);
        self.window_calls += 1;
        self.inflight += 1;
    }

    /// A call that took `ms` ends, failed or not.
    pub fn end(&mut self, ms: f64, failed: bool) {
        self.inflight = self.inflight.saturating_sub(1);
        self.calls += 1;
        if failed {
            self.errors += 1;
        }
        if self.calls == 1 {
            self.latency_ms = ms;
            return;
        }
        let d = ms - self.latency_ms;
        self.latency_ms += ALPHA * d;
        self.latency_var = (1.0 - ALPHA) * (self.latency_var + ALPHA * d * d);
    }

    /// Closes the one-second windows that ended before `now_ms`.
    pub fn roll(&mut self, now_ms: u64) {
        if self.window_start_ms == 0 {
            self.window_start_ms = now_ms.max(1);
            return;
        }
        let elapsed = now_ms.saturating_sub(self.window_start_ms);
        if elapsed < 1000 {
            return;
        }
        let windows = elapsed / 1000;
        let first = self.window_calls as f64;
        self.rate += ALPHA.max(0.3) * (first - self.rate);
        // Empty windows after the first decay the rate.
        for _ in 1..windows.min(60) {
            self.rate *= 0.7;
        }
        self.window_calls = 0;
        self.window_start_ms += windows * 1000;
    }

    /// The concurrency the service should be ready for: the larger of the calls in flight and
    /// rate x (latency + 2 sd) in seconds.
    pub fn expected_concurrency(&self) -> f64 {
        let lat_s = (self.latency_ms + 2.0 * self.latency_var.max(0.0).sqrt()) / 1000.0;
        (self.rate * lat_s).max(self.inflight as f64)
    }

    /// Instances wanted for `max_load` concurrent calls each, at least `min`.
    pub fn wanted_instances(&self, max_load: f64, min: u32) -> u32 {
        let c = self.expected_concurrency();
        // Below one call a minute's worth of concurrency, nothing needs to stay up.
        let n = if c < 0.01 {
            0
        } else {
            (c / max_load.max(0.5)).ceil() as u32
        };
        n.max(min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_latency_and_instances() {
        let mut l = Load::default();
        let mut t = 1000;
        for _ in 0..30 {
            for _ in 0..100 {
                l.start(t);
                l.end(50.0, false);
            }
            t += 1000;
        }
        l.roll(t);
        assert!((l.rate - 100.0).abs() < 5.0, "{}", l.rate);
        assert!((l.latency_ms - 50.0).abs() < 0.01);
        // 100/s x 50 ms = 5 concurrent calls: one instance of 10, three of 2.
        assert_eq!(l.wanted_instances(10.0, 0), 1);
        assert_eq!(l.wanted_instances(2.0, 0), 3);
        assert_eq!(l.wanted_instances(10.0, 2), 2);
        // Quiet for a minute: the rate decays.
        l.roll(t + 60_000);
        assert!(l.rate < 1.0, "{}", l.rate);
        assert_eq!(l.wanted_instances(10.0, 0), 0);
        l.start(t + 60_000);
        assert_eq!(l.inflight, 1);
        l.end(10.0, true);
        assert_eq!((l.calls, l.errors, l.inflight), (3001, 1, 0));
    }

    #[test]
    fn variance_widens_the_estimate() {
        let mut a = Load::default();
        let mut b = Load::default();
        for i in 0..200 {
            a.end(10.0, false);
            b.end(if i % 2 == 0 { 1.0 } else { 19.0 }, false);
        }
        a.rate = 100.0;
        b.rate = 100.0;
        assert!(b.expected_concurrency() > a.expected_concurrency());
    }
}

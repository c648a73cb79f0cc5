//! What the plain timing benches (`loop.rs`, `suites.rs`) share: their settings from the
//! environment, and medians.

use std::time::Duration;

/// A comma-separated list of numbers from the environment variable `name`, else `default`.
pub fn setting(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: comma-separated numbers"))
        })
        .collect()
}

/// The median of `times`, in milliseconds (0 when there are none): a pause of the host in
/// one repetition does not move it.
pub fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times
        .get(times.len() / 2)
        .map_or(0.0, |t| t.as_secs_f64() * 1e3)
}

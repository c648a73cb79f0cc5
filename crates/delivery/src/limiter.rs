//! Token buckets by key: how the server bounds what one device, or everyone together, may
//! do in a period.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Up to `capacity` events at once per key, refilled at `capacity` per `period`.
pub(crate) struct Limiter<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
    capacity: f64,
    per_second: f64,
}

impl<K: Hash + Eq> Limiter<K> {
    pub(crate) fn new(capacity: u32, period: Duration) -> Self {
        Self::with_burst(
            capacity,
            f64::from(capacity) / period.as_secs_f64().max(1e-9),
        )
    }

    /// Bursts of `capacity`, refilled at `per_second`.
    pub(crate) fn with_burst(capacity: u32, per_second: f64) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            capacity: f64::from(capacity),
            per_second,
        }
    }

    /// Takes one event from `key`'s bucket; false when it is empty.
    pub(crate) fn allow(&self, key: K) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            last: now,
        });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.last).as_secs_f64() * self.per_second)
            .min(self.capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets the buckets that are full again (they hold nothing a new bucket would not).
    pub(crate) fn prune(&self) {
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        let now = Instant::now();
        let (capacity, per_second) = (self.capacity, self.per_second);
        buckets.retain(|_, b| {
            b.tokens + now.duration_since(b.last).as_secs_f64() * per_second < capacity
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_capacity_then_refuses() {
        let limiter = Limiter::new(3, Duration::from_secs(3600));
        assert!((0..3).all(|_| limiter.allow("a")));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"), "buckets are per key");
        limiter.prune();
        assert!(!limiter.allow("a"), "an empty bucket is kept by pruning");
    }
}

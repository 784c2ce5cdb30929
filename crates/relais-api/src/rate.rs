//! Each key's budget of requests a minute, shared by every process over one
//! database.
//!
//! The budget lives in the store's one-minute windows, so two relais
//! processes share it. Asking the store for every request would put a write
//! transaction on every request's path; instead a process reserves a
//! slice of a key's budget at a time — 1 % of it, at least one request and
//! at most [`MAX_SLICE`] — and serves from the slice until it is used up or
//! the minute turns. A small budget (under 200 a minute) is therefore still
//! taken one request at a time, exactly; a large one costs one transaction
//! per slice. What a process reserved and did not use before the minute
//! turned counts as made: a key may get up to one slice per process less
//! than its budget in a minute, never more.

use relais_core::ids::KeyId;
use relais_store::{RateDecision, SharedStore, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;

/// The most requests a process reserves at once.
pub const MAX_SLICE: u32 = 100;

/// Requests a process may still serve for a key in one minute.
#[derive(Debug, Clone, Copy)]
struct Slice {
    minute: i64,
    left: u32,
}

/// This process's reserved slices, by key.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    slices: Mutex<HashMap<KeyId, Slice>>,
}

impl RateLimiter {
    /// A limiter of `per_minute` requests a minute per key.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            slices: Mutex::new(HashMap::new()),
        }
    }

    /// Requests a minute one key may make.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// How many requests this process reserves at once.
    pub fn slice(&self) -> u32 {
        (self.per_minute / 100).clamp(1, MAX_SLICE)
    }

    /// Takes one request of `key`'s budget: from this process's slice when
    /// it has one for the current minute, else by reserving a new slice.
    pub async fn take(&self, store: &SharedStore, key: KeyId) -> Result<RateDecision, StoreError> {
        let at = relais_core::now();
        let minute = at.timestamp().div_euclid(60);
        if self.take_local(key, minute) {
            return Ok(RateDecision::Allowed(1));
        }
        let decision = store
            .take_requests(key, at, self.per_minute, self.slice())
            .await?;
        if let RateDecision::Allowed(granted) = decision {
            let mut slices = self.slices.lock().unwrap_or_else(|e| e.into_inner());
            let slice = slices.entry(key).or_insert(Slice { minute, left: 0 });
            if slice.minute != minute {
                *slice = Slice { minute, left: 0 };
            }
            // Another request of this process may have reserved meanwhile:
            // both slices are kept.
            slice.left += granted - 1;
        }
        Ok(decision)
    }

    fn take_local(&self, key: KeyId, minute: i64) -> bool {
        let mut slices = self.slices.lock().unwrap_or_else(|e| e.into_inner());
        match slices.get_mut(&key) {
            Some(slice) if slice.minute == minute && slice.left > 0 => {
                slice.left -= 1;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_is_one_percent_of_the_budget_within_bounds() {
        assert_eq!(RateLimiter::new(6).slice(), 1);
        assert_eq!(RateLimiter::new(199).slice(), 1);
        assert_eq!(RateLimiter::new(6_000).slice(), 60);
        assert_eq!(RateLimiter::new(1_000_000).slice(), MAX_SLICE);
    }

    #[test]
    fn a_slice_serves_its_minute_only() {
        let limiter = RateLimiter::new(6_000);
        limiter.slices.lock().unwrap().insert(
            KeyId(7),
            Slice {
                minute: 10,
                left: 2,
            },
        );
        assert!(limiter.take_local(KeyId(7), 10));
        assert!(limiter.take_local(KeyId(7), 10));
        assert!(!limiter.take_local(KeyId(7), 10), "used up");
        limiter.slices.lock().unwrap().insert(
            KeyId(7),
            Slice {
                minute: 10,
                left: 5,
            },
        );
        assert!(!limiter.take_local(KeyId(7), 11), "the minute turned");
        assert!(!limiter.take_local(KeyId(8), 10), "another key");
    }
}

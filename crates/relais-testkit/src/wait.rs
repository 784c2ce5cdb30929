//! Waiting for something to become true, with a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

/// Checks `check` until it gives a value, first at once then every 20 ms
/// (growing to 200 ms), and returns that value; panics saying `what` did not
/// happen when `within` has passed.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still not so after {within:?}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn it_returns_what_the_check_found() {
        let calls = AtomicU32::new(0);
        let found = eventually(Duration::from_secs(5), "the third call", || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (n == 3).then_some(n * 10)
        })
        .await;
        assert_eq!(found, 30);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    #[should_panic(expected = "never: still not so after")]
    async fn it_gives_up_at_its_deadline() {
        eventually(Duration::from_millis(100), "never", || async { None::<()> }).await;
    }
}

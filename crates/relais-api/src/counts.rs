//! Walks: a client paging through a list with `paging=offset,limit` and
//! `collection.count` asks for the count on every page, and each page's
//! offset makes the database skip all the rows before it.
//!
//! For each walk (same key, same filters and order) relais remembers, for
//! [`COUNT_TTL`]: the count of the first page, reused by the next pages so
//! the walk sees one consistent total; and, when the order is by identifier,
//! where each page ended, so that the next page starts after that
//! identifier instead of skipping `offset` rows. Any write through the API
//! to a base forgets what was remembered of that base.

use crate::error::ApiError;
use relais_core::ids::BaseId;
use relais_store::{Cond, Condition, ListQuery, Page, SqlValue, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a count is reused.
pub const COUNT_TTL: Duration = Duration::from_secs(30);

/// Most counts kept at once.
const CAPACITY: usize = 10_000;

type WalkId = (BaseId, i64, String);

/// What is remembered of one walk.
#[derive(Debug)]
struct Walk {
    count: Option<i64>,
    /// Offset of a page → where it starts (for a list ordered by
    /// identifier: the identifier of the last record before it).
    cursors: HashMap<u64, Vec<i64>>,
    at: Instant,
}

/// Walks by base, key and query.
#[derive(Debug, Default)]
pub struct CountCache {
    entries: Mutex<HashMap<WalkId, Walk>>,
}

impl CountCache {
    fn with<R>(&self, id: &WalkId, f: impl FnOnce(&mut Walk) -> R) -> R {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(id) {
            entries.retain(|_, w| w.at.elapsed() < COUNT_TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        let walk = entries.entry(id.clone()).or_insert_with(|| Walk {
            count: None,
            cursors: HashMap::new(),
            at: Instant::now(),
        });
        if walk.at.elapsed() >= COUNT_TTL {
            *walk = Walk {
                count: None,
                cursors: HashMap::new(),
                at: Instant::now(),
            };
        }
        f(walk)
    }

    /// Forgets every walk of `base` (after a write to it).
    pub fn invalidate(&self, base: BaseId) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(b, _, _), _| *b != base);
    }

    /// What is known of the walk `what` of `key` on `base`: its count, and
    /// where its page at `offset` starts, as the walk's own reader recorded it.
    pub fn recall(
        &self,
        base: BaseId,
        key: i64,
        what: &str,
        offset: u64,
    ) -> (Option<i64>, Option<Vec<i64>>) {
        let id = (base, key, what.to_owned());
        self.with(&id, |w| (w.count, w.cursors.get(&offset).cloned()))
    }

    /// Records the walk's count and where its page at `offset` starts.
    pub fn remember(
        &self,
        base: BaseId,
        key: i64,
        what: &str,
        count: Option<i64>,
        cursor: Option<(u64, Vec<i64>)>,
    ) {
        let id = (base, key, what.to_owned());
        self.with(&id, |w| {
            if count.is_some() {
                w.count = count;
            }
            if let Some((offset, at)) = cursor {
                w.cursors.insert(offset, at);
            }
        });
    }

    /// Runs `query` through `run`, reusing what is known of its walk;
    /// `id_of` gives a record's identifier.
    pub async fn page<T, F, Fut>(
        &self,
        base: BaseId,
        key: i64,
        what: &str,
        query: ListQuery,
        id_of: fn(&T) -> i64,
        run: F,
    ) -> Result<Page<T>, ApiError>
    where
        F: FnOnce(ListQuery) -> Fut,
        Fut: Future<Output = Result<Page<T>, StoreError>>,
    {
        let id = (
            base,
            key,
            format!("{what}:{:?}:{:?}", query.conditions, query.order),
        );
        let by_id = query.order.is_empty();
        let (count, cursor) = self.with(&id, |w| {
            (
                w.count,
                w.cursors
                    .get(&query.offset)
                    .and_then(|c| c.first().copied()),
            )
        });
        let mut effective = query.clone();
        if query.count && count.is_some() {
            effective.count = false;
        }
        if let Some(last) = cursor.filter(|_| by_id) {
            effective
                .conditions
                .push(Condition::new("id", Cond::Gt(SqlValue::Int(last))));
            effective.offset = 0;
        }
        let mut page = run(effective).await?;
        let next = page.items.last().map(id_of);
        self.with(&id, |w| {
            if page.count.is_some() {
                w.count = page.count;
            }
            if let (true, Some(last)) = (by_id, next) {
                w.cursors
                    .insert(query.offset + page.items.len() as u64, vec![last]);
            }
        });
        if query.count {
            page.count = page.count.or(count);
        } else {
            page.count = None;
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(count: bool) -> ListQuery {
        ListQuery {
            count,
            ..ListQuery::default()
        }
    }

    #[tokio::test]
    async fn the_next_page_starts_after_the_last_identifier() {
        let cache = CountCache::default();
        let seen = std::sync::Mutex::new(Vec::new());
        let run = |query: ListQuery| {
            seen.lock()
                .unwrap()
                .push((query.offset, query.conditions.clone()));
            async move {
                Ok::<_, StoreError>(Page {
                    items: vec![10i64, 20],
                    count: None,
                })
            }
        };
        let page = |offset| ListQuery {
            offset,
            limit: 2,
            ..ListQuery::default()
        };
        cache
            .page(BaseId(1), 7, "users", page(0), |i| *i, run)
            .await
            .unwrap();
        cache
            .page(BaseId(1), 7, "users", page(2), |i| *i, run)
            .await
            .unwrap();
        cache
            .page(BaseId(1), 7, "users", page(6), |i| *i, run)
            .await
            .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], (0, vec![]));
        assert_eq!(
            seen[1],
            (0, vec![Condition::new("id", Cond::Gt(SqlValue::Int(20)))]),
            "page 2 continues after id 20"
        );
        assert_eq!(
            seen[2],
            (6, vec![]),
            "an offset never reached is skipped as asked"
        );
    }

    #[tokio::test]
    async fn a_walk_counts_once_and_writes_forget() {
        let cache = CountCache::default();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let run = |query: ListQuery| {
            let counted = query.count;
            if counted {
                runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            async move {
                Ok::<_, StoreError>(Page {
                    items: vec![1],
                    count: counted.then_some(42),
                })
            }
        };
        for _ in 0..3 {
            let page = cache
                .page(BaseId(1), 7, "users", q(true), |i| *i, run)
                .await
                .unwrap();
            assert_eq!(page.count, Some(42));
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache
            .page(BaseId(1), 8, "users", q(true), |i| *i, run)
            .await
            .unwrap();
        assert_eq!(
            runs.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "counts are per key"
        );
        cache.invalidate(BaseId(1));
        cache
            .page(BaseId(1), 7, "users", q(true), |i| *i, run)
            .await
            .unwrap();
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 3);
        let page = cache
            .page(BaseId(1), 7, "users", q(false), |i| *i, run)
            .await
            .unwrap();
        assert_eq!(page.count, None);
    }
}

//! Walks: a client paging through a list with `paging=offset,limit` and
//! `collection.count` asks for the count on every page, and each page's
//! offset makes the database skip all the rows before it.
//!
//! For each walk (same key, same filters — the key's scope among them — and
//! order) relais remembers the count of the first page, reused by the next
//! pages, and, when the order is by identifier, where each page ended, so
//! that the next page starts after that identifier instead of skipping
//! `offset` rows. What is remembered holds for one version of the base's
//! data ([`relais_store::HrStore::base_version`], kept by the database for
//! every write whoever makes it): the first request after any change counts
//! again, and a base nobody writes to is never recounted.

use crate::error::ApiError;
use relais_core::ids::{BaseId, KeyId};
use relais_store::{Condition, ListQuery, Page, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

/// Whose walk a page belongs to: a key on its base, at the base's data
/// version when the request began.
#[derive(Debug, Clone, Copy)]
pub struct Walker {
    /// The base's data version.
    pub version: i64,
    /// The base.
    pub base: BaseId,
    /// The key walking.
    pub key: KeyId,
}

impl From<&crate::auth::Caller> for Walker {
    fn from(caller: &crate::auth::Caller) -> Self {
        Self {
            version: caller.data_version,
            base: caller.base(),
            key: caller.key.id,
        }
    }
}

/// A page's item as a walk's cursor sees it: the records it holds and the
/// identifier of the last one.
pub trait Walked {
    /// How many records the item holds: one, but for a batch.
    fn records(&self) -> u64 {
        1
    }
    /// The identifier of its (last) record.
    fn last_id(&self) -> Option<i64>;
}

macro_rules! walked_by_id {
    ($($record:ty => |$r:ident| $id:expr),* $(,)?) => {$(
        impl Walked for $record {
            fn last_id(&self) -> Option<i64> {
                let $r = self;
                Some($id)
            }
        }
    )*};
}

walked_by_id! {
    relais_core::employee::Employee => |e| e.id.0,
    relais_core::audit::EmployeeLog => |l| l.id,
    relais_core::expense::ExpenseClaim => |c| c.id.0,
    relais_core::expense::ExpenseItem => |i| i.id.0,
    relais_core::absence::LeavePeriod => |p| p.id.0,
}

impl Walked for relais_store::Encoded {
    fn records(&self) -> u64 {
        self.records as u64
    }
    fn last_id(&self) -> Option<i64> {
        self.last_id
    }
}

/// Most walks kept at once; beyond, the least recently used go.
const CAPACITY: usize = 10_000;

type WalkId = (BaseId, KeyId, String);

/// What is remembered of one walk.
#[derive(Debug)]
struct Walk {
    /// The base's data version this is true of.
    version: i64,
    count: Option<i64>,
    /// Offset of a page → where it starts (for a list ordered by
    /// identifier: the identifier of the last record before it).
    cursors: HashMap<u64, Vec<i64>>,
    /// When it was last used (a counter), for eviction.
    used: u64,
}

#[derive(Debug, Default)]
struct Walks {
    entries: HashMap<WalkId, Walk>,
    clock: u64,
}

/// Walks by base, key and query.
#[derive(Debug, Default)]
pub struct CountCache {
    walks: Mutex<Walks>,
}

impl CountCache {
    fn with<R>(&self, id: &WalkId, version: i64, f: impl FnOnce(&mut Walk) -> R) -> R {
        let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        walks.clock += 1;
        let now = walks.clock;
        if walks.entries.len() >= CAPACITY && !walks.entries.contains_key(id) {
            // Keep the most recently used half.
            let mut used: Vec<u64> = walks.entries.values().map(|w| w.used).collect();
            used.sort_unstable();
            let cut = used[used.len() / 2];
            walks.entries.retain(|_, w| w.used >= cut);
        }
        let walk = walks.entries.entry(id.clone()).or_insert_with(|| Walk {
            version,
            count: None,
            cursors: HashMap::new(),
            used: now,
        });
        if walk.version != version {
            *walk = Walk {
                version,
                count: None,
                cursors: HashMap::new(),
                used: now,
            };
        }
        walk.used = now;
        f(walk)
    }

    /// What is known of the walk `what` of `key` on `base` at data version
    /// `version`: its count, and where its page at `offset` starts, as the
    /// walk's own reader recorded it.
    pub fn recall(
        &self,
        base: BaseId,
        key: KeyId,
        what: &str,
        version: i64,
        offset: u64,
    ) -> (Option<i64>, Option<Vec<i64>>) {
        let id = (base, key, what.to_owned());
        self.with(&id, version, |w| (w.count, w.cursors.get(&offset).cloned()))
    }

    /// Records the walk's count and where its page at `offset` starts, as
    /// read at data version `version`.
    pub fn remember(
        &self,
        base: BaseId,
        key: KeyId,
        what: &str,
        version: i64,
        count: Option<i64>,
        cursor: Option<(u64, Vec<i64>)>,
    ) {
        let id = (base, key, what.to_owned());
        self.with(&id, version, |w| {
            if count.is_some() {
                w.count = count;
            }
            if let Some((offset, at)) = cursor {
                w.cursors.insert(offset, at);
            }
        });
    }

    /// Runs `query` through `run` for `walker` (a caller: its key and base,
    /// at the data version read with its key, see
    /// [`crate::auth::Caller::data_version`]), reusing what is known of its
    /// walk `what` at that version; each item says how many records it
    /// holds and the last one's identifier ([`Walked`]). A first page
    /// without a count neither uses nor remembers anything: a walk starts
    /// using what is remembered from its second page.
    pub async fn page<T, F, Fut>(
        &self,
        walker: impl Into<Walker>,
        what: &str,
        query: ListQuery,
        run: F,
    ) -> Result<Page<T>, ApiError>
    where
        T: Walked,
        F: FnOnce(ListQuery) -> Fut,
        Fut: Future<Output = Result<Page<T>, StoreError>>,
    {
        if !query.count && query.offset == 0 {
            return Ok(run(query).await?);
        }
        let Walker { version, base, key } = walker.into();
        let id = (
            base,
            key,
            format!(
                "{what}:{:?}:{:?}:{:?}",
                query.scope, query.conditions, query.order
            ),
        );
        let by_id = query.order.is_empty();
        let (count, cursor) = self.with(&id, version, |w| {
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
            effective.conditions.push(Condition::after_id(last));
            effective.offset = 0;
        }
        let mut page = run(effective).await?;
        let next = page.items.last().and_then(Walked::last_id);
        let records: u64 = page.items.iter().map(Walked::records).sum();
        self.with(&id, version, |w| {
            if page.count.is_some() {
                w.count = page.count;
            }
            if let (true, Some(last)) = (by_id, next) {
                w.cursors.insert(query.offset + records, vec![last]);
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

    impl Walked for i64 {
        fn last_id(&self) -> Option<i64> {
            Some(*self)
        }
    }

    /// Key `key`'s walker on base 1 at data version `version`.
    fn walker(version: i64, key: i64) -> Walker {
        Walker {
            version,
            base: BaseId(1),
            key: KeyId(key),
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
        for offset in [0, 2, 4, 8] {
            cache
                .page(walker(1, 7), "users", page(offset), run)
                .await
                .unwrap();
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], (0, vec![]));
        assert_eq!(
            seen[1],
            (2, vec![]),
            "the first page, read as it is, left nothing behind"
        );
        assert_eq!(
            seen[2],
            (0, vec![Condition::after_id(20)]),
            "the third page continues after the second one's last identifier"
        );
        assert_eq!(
            seen[3],
            (8, vec![]),
            "an offset never reached is skipped as asked"
        );
    }

    #[tokio::test]
    async fn a_walk_counts_once_per_data_version() {
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
                .page(walker(1, 7), "users", q(true), run)
                .await
                .unwrap();
            assert_eq!(page.count, Some(42));
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache
            .page(walker(1, 8), "users", q(true), run)
            .await
            .unwrap();
        assert_eq!(
            runs.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "counts are per key"
        );
        // A write to the base: its data version moved on.
        cache
            .page(walker(2, 7), "users", q(true), run)
            .await
            .unwrap();
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 3);
        cache
            .page(walker(2, 7), "users", q(true), run)
            .await
            .unwrap();
        assert_eq!(
            runs.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "an unchanged base is not recounted, however long after"
        );
        let page = cache
            .page(walker(2, 7), "users", q(false), run)
            .await
            .unwrap();
        assert_eq!(page.count, None);
    }
}

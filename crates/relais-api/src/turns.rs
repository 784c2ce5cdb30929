//! Turns taken by the requests that change one record at once: in this
//! process, the second waits for the first to be written before it reads
//! the record it changes, instead of reading the same record, clashing
//! with it when it writes, and trying again after a random wait (which,
//! with many writers of one record on a busy machine, could run out of
//! tries and tell a caller to send its change again). Writers in other
//! processes, or outside the API, still clash and try again.
//!
//! A writer may read the record before its turn ([`Turns::arrive`], then
//! [`Arrival::take`]), to refuse at once a caller that may not see it; its
//! turn says whether another's ended since it arrived, and only then is
//! the record read again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

/// What identifies a record taken in turns: its base and its identifier,
/// within one kind of record.
pub type RecordKey = (i64, i64);

/// The records being changed now, each with the turn its writers wait for.
#[derive(Debug, Default)]
pub struct Turns {
    /// A record's turn, while someone holds, waits for or is about to ask
    /// for it.
    held: Mutex<HashMap<RecordKey, Arc<Record>>>,
}

/// One record's turn, and how many turns at it have ended.
#[derive(Debug, Default)]
struct Record {
    lock: Arc<tokio::sync::Mutex<()>>,
    ended: AtomicU64,
}

/// A writer that will ask for its turn at a record: it may read the record
/// meanwhile, and learns when its turn comes whether another's turn ended
/// since it came (what it read may then be older than the record).
#[derive(Debug)]
pub struct Arrival<'a> {
    turns: &'a Turns,
    key: RecordKey,
    record: Option<Arc<Record>>,
    ended_before: u64,
}

/// A writer's turn at a record: the next one waits until it is dropped.
#[derive(Debug)]
pub struct Turn<'a> {
    turns: &'a Turns,
    key: RecordKey,
    record: Option<Arc<Record>>,
    guard: Option<OwnedMutexGuard<()>>,
    others_before: bool,
}

impl Turns {
    /// Notes a writer's arrival at `key`, before it reads the record.
    pub fn arrive(&self, key: RecordKey) -> Arrival<'_> {
        let record = self
            .held
            .lock()
            .expect("never poisoned")
            .entry(key)
            .or_default()
            .clone();
        Arrival {
            turns: self,
            key,
            ended_before: record.ended.load(Ordering::SeqCst),
            record: Some(record),
        }
    }

    /// Waits for the turn at `key`, in the order asked.
    pub async fn take(&self, key: RecordKey) -> Turn<'_> {
        self.arrive(key).take().await
    }

    /// Forgets `key`'s record once nobody holds, waits for or is about to
    /// ask for its turn (the map's own reference is the last one): others
    /// took theirs under this lock.
    fn leave(&self, key: RecordKey, record: Option<Arc<Record>>) {
        drop(record);
        let mut held = self.held.lock().expect("never poisoned");
        if held.get(&key).is_some_and(|r| Arc::strong_count(r) == 1) {
            held.remove(&key);
        }
    }

    /// How many records have writers holding or waiting for their turn.
    #[cfg(test)]
    fn busy(&self) -> usize {
        self.held.lock().expect("never poisoned").len()
    }
}

impl<'a> Arrival<'a> {
    /// Waits for the turn, in the order asked. A writer that stops
    /// waiting (its request dropped) leaves the record in the map until the
    /// record's next turn ends: at most one per record, as before arrivals.
    pub async fn take(mut self) -> Turn<'a> {
        let record = self.record.take().expect("taken once");
        let guard = record.lock.clone().lock_owned().await;
        let others_before = record.ended.load(Ordering::SeqCst) != self.ended_before;
        Turn {
            turns: self.turns,
            key: self.key,
            record: Some(record),
            guard: Some(guard),
            others_before,
        }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            self.turns.leave(self.key, Some(record));
        }
    }
}

impl Turn<'_> {
    /// Whether another writer's turn at the record ended (or was under
    /// way) since this writer arrived: what it read before may be older
    /// than the record.
    pub fn after_others(&self) -> bool {
        self.others_before
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(record) = &self.record {
            // Counted before the next writer may go.
            record.ended.fetch_add(1, Ordering::SeqCst);
        }
        drop(self.guard.take());
        self.turns.leave(self.key, self.record.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn writers_of_one_record_take_turns_and_others_do_not_wait() {
        let turns = Arc::new(Turns::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = turns.take((1, 7)).await;
        assert!(!first.after_others(), "nobody was before it");
        // Another record is free meanwhile.
        let other = tokio::time::timeout(Duration::from_millis(100), turns.take((1, 8)))
            .await
            .expect("another record is not held");
        drop(other);
        let waiting: Vec<_> = (0..3)
            .map(|n| {
                let (turns, order) = (turns.clone(), order.clone());
                tokio::spawn(async move {
                    let turn = turns.take((1, 7)).await;
                    assert!(turn.after_others(), "each came after the first");
                    order.lock().unwrap().push(n);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(order.lock().unwrap().is_empty(), "all wait for the first");
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(order.lock().unwrap().len(), 3);
        assert_eq!(turns.busy(), 0, "nothing kept once every turn is over");
    }

    #[tokio::test]
    async fn a_writer_learns_whether_a_turn_ended_since_it_arrived() {
        let turns = Turns::default();
        // Alone: nothing ended meanwhile.
        let alone = turns.arrive((3, 1)).take().await;
        assert!(!alone.after_others());
        drop(alone);
        // Another's whole turn came and went between arriving and asking.
        let arrived = turns.arrive((3, 1));
        drop(turns.take((3, 1)).await);
        let turn = arrived.take().await;
        assert!(turn.after_others());
        drop(turn);
        // A writer that arrives and leaves without asking leaves no trace.
        drop(turns.arrive((3, 2)));
        assert_eq!(turns.busy(), 0);
    }

    #[tokio::test]
    async fn a_writer_that_stops_waiting_leaves_no_trace() {
        let turns = Turns::default();
        let first = turns.take((2, 1)).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), turns.take((2, 1))).await;
        assert!(gave_up.is_err());
        drop(first);
        assert_eq!(turns.busy(), 0);
        drop(turns.take((2, 1)).await);
        assert_eq!(turns.busy(), 0);
    }
}

//! Turns taken by the requests that change one record at once: in this
//! process, the second waits for the first to be written before it reads
//! the record it changes, instead of reading the same record, clashing
//! with it when it writes, and trying again after a random wait (which,
//! with many writers of one record on a busy machine, could run out of
//! tries and tell a caller to send its change again). Writers in other
//! processes, or outside the API, still clash and try again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

/// What identifies a record taken in turns: its base and its identifier,
/// within one kind of record.
pub type RecordKey = (i64, i64);

/// The records being changed now, each with the turn its writers wait for.
#[derive(Debug, Default)]
pub struct Turns {
    /// A record's lock, while someone holds or waits for it.
    held: Mutex<HashMap<RecordKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// A writer's turn at a record: the next one waits until it is dropped.
#[derive(Debug)]
pub struct Turn<'a> {
    turns: &'a Turns,
    key: RecordKey,
    guard: Option<OwnedMutexGuard<()>>,
    waited: bool,
}

impl Turns {
    /// Waits for the turn at `key`, in the order asked.
    pub async fn take(&self, key: RecordKey) -> Turn<'_> {
        let lock = self
            .held
            .lock()
            .expect("never poisoned")
            .entry(key)
            .or_default()
            .clone();
        let (guard, waited) = match lock.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => (lock.lock_owned().await, true),
        };
        Turn {
            turns: self,
            key,
            guard: Some(guard),
            waited,
        }
    }

    /// Whether a writer holds or waits for the turn at `key` now: what is
    /// read of the record before taking the turn may be written over by
    /// them.
    pub fn is_held(&self, key: RecordKey) -> bool {
        self.held.lock().expect("never poisoned").contains_key(&key)
    }

    /// How many records have writers holding or waiting for their turn.
    #[cfg(test)]
    fn busy(&self) -> usize {
        self.held.lock().expect("never poisoned").len()
    }
}

impl Turn<'_> {
    /// Whether this turn came after another writer's: the record may have
    /// changed since it was asked for.
    pub fn waited(&self) -> bool {
        self.waited
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut held = self.turns.held.lock().expect("never poisoned");
        // Forgotten once nobody holds or waits for it (the map's own
        // reference is the last one): waiters took theirs under this lock.
        // One whose waiter gave up after this check stays until the
        // record's next turn ends: at most one per record.
        if held
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            held.remove(&self.key);
        }
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
        assert!(!first.waited(), "nobody was before it");
        assert!(turns.is_held((1, 7)) && !turns.is_held((1, 8)));
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
                    assert!(turn.waited(), "each came after the first");
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
        assert!(!turns.is_held((1, 7)));
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

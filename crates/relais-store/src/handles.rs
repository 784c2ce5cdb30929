//! What a store works through, the same for both backends: its pools, what
//! wakes readers of its events, what tells other processes of them, and its
//! write lane.

/// A backend's handles (`DB`, its database); a store derefs to them.
pub struct Handles<DB: sqlx::Database> {
    /// Where reads run (see [`crate::kept`]).
    pub(crate) pool: crate::kept::Kept<DB>,
    /// Where write transactions begin, kept from one to the next (see
    /// [`crate::kept`]): on SQLite one connection they take turns on — a
    /// writer waiting for its turn (in order, without a thread) costs
    /// nothing, where one waiting for SQLite's lock would hold a reader's
    /// connection and sleep in its busy handler; on PostgreSQL a few of the
    /// pool the reads use (writers work side by side).
    pub(crate) writer: crate::kept::Kept<DB>,
    /// What wakes readers when events are committed (see
    /// [`crate::events::EventSignal`]).
    pub(crate) signal: crate::events::SignalCell,
    /// Tells other processes of committed events (see
    /// [`crate::events::Announcer`]).
    pub(crate) announcer: crate::events::Announcer,
    /// Where the busiest write transactions run (see [`crate::lane`]).
    pub(crate) lane: crate::lane::WriteLane,
}

impl<DB: sqlx::Database> Clone for Handles<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            signal: self.signal.clone(),
            announcer: self.announcer.clone(),
            lane: self.lane.clone(),
        }
    }
}

/// Declares a backend's store: its handles, reached as its own fields, and
/// a `Debug` that shows its name alone (never a connection string). What
/// its SQL says its own way is its [`crate::dialect::Dialect`].
macro_rules! store_type {
    ($(#[$doc:meta])* $store:ident, $db:ty) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $store(crate::handles::Handles<$db>);

        impl std::ops::Deref for $store {
            type Target = crate::handles::Handles<$db>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl std::fmt::Debug for $store {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($store))
            }
        }
    };
}
pub(crate) use store_type;

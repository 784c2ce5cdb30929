//! `/api/relais/events`: the base's change feed, as the calling key may see
//! it. Each event is a record created, updated or deleted, in the order the
//! changes were made, `data` in the shape the API answers that record with
//! (only the fields the key may read), `previousAttributes` the readable
//! fields an update changed, as they were. A key sees no event about a
//! record it could not read through the API: no kind of record its grants
//! do not read, no employee outside its establishments or contract window,
//! no update that changed only fields it may not read.
//!
//! Paged by a cursor (`after`, the `next` of the previous page); with
//! `wait=N` an empty page is answered only after up to N seconds without a
//! change, so a client learns of a change at once without asking often.

use super::answer::base_url;
use super::extract::{Keyed, Pairs};
use super::{absences, expenses, organisation, users};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{self, Need, Routes};
use crate::query::FieldTree;
use crate::AppState;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use relais_core::access::Role;
use relais_core::events::{Event, EventAction, EventKind, Record, Topic, TopicFilter};
use relais_store::EventQuery;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new().get("/api/relais/events", Need::AnyKey, feed)
}

/// Events per page unless `limit` says otherwise (at most
/// [`crate::query::MAX_LIMIT`], as every list).
const DEFAULT_LIMIT: u32 = 100;

/// The longest `wait`, in seconds.
pub const MAX_WAIT: u64 = 30;

/// How often a waiting request looks for a new event when the store cannot
/// signal them (it is closing).
const WAIT_STEP: Duration = Duration::from_millis(200);

/// The API route that reads records of `kind`: a key follows a kind's
/// events when it may read that route, so the decision is the route's.
pub fn reading_route(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Employee => "/api/v3/users",
        EventKind::Department => "/api/v3/departments",
        EventKind::Establishment => "/api/v3/legalentities",
        EventKind::LegalEntity => "/organization/structure/api/legal-units",
        EventKind::Leave => "/api/v3/leaveRequests",
        EventKind::ExpenseClaim => "/api/v3/expenseClaims",
        EventKind::ExpenseClaimItem => "/api/v3/expenseClaimItems",
    }
}

/// The need of [`reading_route`].
fn need_of(kind: EventKind) -> Need {
    // The routes of the resources whose records events carry.
    static READING: std::sync::OnceLock<Vec<need::Declared>> = std::sync::OnceLock::new();
    let declared = READING.get_or_init(|| {
        users::routes()
            .merge(organisation::routes())
            .merge(absences::routes())
            .merge(expenses::routes())
            .declared()
            .to_vec()
    });
    need::find(declared, "get", reading_route(kind)).expect("every kind's route is declared")
}

/// Whether `role` follows events of `kind`.
pub fn follows(role: &Role, kind: EventKind) -> bool {
    need_of(kind).check(role).is_ok()
}

/// The feed's parameters, checked.
struct FeedQuery {
    after: i64,
    topics: Vec<Topic>,
    limit: u32,
    wait: Duration,
}

impl FeedQuery {
    fn parse(pairs: &[(String, String)], role: &Role) -> Result<Self, ApiError> {
        let mut q = FeedQuery {
            after: 0,
            topics: Vec::new(),
            limit: DEFAULT_LIMIT,
            wait: Duration::ZERO,
        };
        let mut filters: Option<Vec<TopicFilter>> = None;
        let mut once = crate::query::Once::default();
        for (name, raw) in pairs {
            once.note(name)?;
            match name.as_str() {
                "after" => {
                    q.after = raw.parse().ok().filter(|a: &i64| *a >= 0).ok_or_else(|| {
                        ApiError::bad(
                            "after",
                            format!("'{raw}' is not a cursor: use 0 or the 'next' of a page"),
                        )
                    })?
                }
                "limit" => q.limit = crate::query::parse_limit(raw)?,
                "wait" => {
                    q.wait = Duration::from_secs(crate::query::number_in("wait", raw, 0..=MAX_WAIT)?);
                }
                "topics" => {
                    filters = Some(
                        TopicFilter::parse_list(raw).map_err(|e| ApiError::bad("topics", e.message))?,
                    )
                }
                other => {
                    return Err(ApiError::bad(
                        other,
                        format!("'{other}' is not a parameter of the feed: use after, topics, limit or wait"),
                    ))
                }
            }
        }
        // A topic asked for that the key may not follow is refused, with
        // the grant it takes; none asked: every topic it follows.
        let filters = filters.unwrap_or_default();
        check_topics(role, &filters)?;
        q.topics = followed_topics(role, &filters);
        Ok(q)
    }
}

/// The feed's answer: `{"data": {"hasMore", "items", "next"}}`.
#[derive(Serialize)]
struct FeedAnswer {
    data: FeedPage,
}

/// A page of the feed as answered.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FeedPage {
    has_more: bool,
    items: Vec<FeedItem>,
    next: i64,
}

async fn feed(keyed: Keyed, Pairs(pairs): Pairs) -> Result<Json<FeedAnswer>, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    let q = FeedQuery::parse(&pairs, caller.role())?;
    let base = caller.base();
    let latest = state.store.last_event(base).await?;
    if q.after > latest {
        return Err(ApiError::bad(
            "after",
            format!(
                "{} is beyond the latest event ({latest}): use 0 or the 'next' of a page",
                q.after
            ),
        ));
    }
    let deadline = tokio::time::Instant::now() + q.wait;
    let mut signal = state.store.event_signal();
    let mut after = q.after;
    loop {
        // Marked seen before reading: a commit after this wakes the wait.
        signal.borrow_and_update();
        let latest = state.store.last_event(base).await?;
        let page = visible_page(
            &state,
            &caller,
            &headers,
            (after, latest),
            &q.topics,
            q.limit,
        )
        .await?;
        after = page.next;
        if !page.items.is_empty() || page.full || tokio::time::Instant::now() >= deadline {
            return Ok(Json(FeedAnswer {
                data: FeedPage {
                    has_more: page.full,
                    items: page.items,
                    next: page.next,
                },
            }));
        }
        // Nothing to show yet: wait for the next commit of events, or the deadline.
        tokio::select! {
            changed = signal.changed() => {
                if changed.is_err() {
                    // The store's watcher is gone (shutting down): look again later.
                    tokio::time::sleep(WAIT_STEP.min(deadline - tokio::time::Instant::now())).await;
                }
            }
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// One page of a base's events as a caller sees them.
pub struct VisiblePage {
    /// The events it may see, in the feed's shape.
    pub items: Vec<FeedItem>,
    /// The cursor after the events read (seen or not).
    pub next: i64,
    /// Whether as many events were read as asked (more may follow).
    pub full: bool,
}

/// Reads up to `limit` events after `after` of `topics` within the
/// caller's scope, and shapes those it may see. Used by the feed and by
/// webhook deliveries alike.
///
/// `latest` is the base's latest event, read before: every event up to it
/// is committed, so a page that reads them all may move its cursor up to
/// it, past events of other bases or topics.
pub async fn visible_page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    (after, latest): (i64, i64),
    topics: &[Topic],
    limit: u32,
) -> Result<VisiblePage, ApiError> {
    let events = if topics.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .read_events(
                caller.base(),
                &EventQuery {
                    after,
                    topics: topics.to_vec(),
                    limit,
                    scope: caller.scope.clone(),
                },
            )
            .await?
    };
    let full = events.len() == limit as usize;
    let read_to = events.last().map_or(after, |e| e.seq);
    Ok(VisiblePage {
        items: render(state, caller, headers, &events).await?,
        next: if full { read_to } else { read_to.max(latest) },
        full,
    })
}

/// The topics `role` follows among those `filters` admit (none: all).
pub fn followed_topics(role: &Role, filters: &[TopicFilter]) -> Vec<Topic> {
    Topic::all()
        .filter(|t| follows(role, t.kind))
        .filter(|t| filters.is_empty() || filters.iter().any(|f| f.admits(*t)))
        .collect()
}

/// Refuses a topic filter naming records the role may not read, with the grant it takes.
pub fn check_topics(role: &Role, filters: &[TopicFilter]) -> Result<(), ApiError> {
    for f in filters {
        let kind = match f {
            TopicFilter::One(t) => t.kind,
            TopicFilter::Kind(k) => *k,
        };
        need_of(kind).check(role)?;
    }
    Ok(())
}

/// Fields every change moves, which alone do not make an update worth telling.
const BOOKKEEPING: &[&str] = &["modifiedAt", "lastModifiedAt"];

/// Events shaped in a row before the thread is given to the other tasks
/// waiting for it. Shaping an employee's event (its record and the one
/// before, as the key sees them) took 90 to 130 µs of processor on a busy
/// machine when records were built as JSON values; the webhook deliverer's
/// pages, shaped in one go, then held a runtime thread for 2 ms at the
/// median and 16 to 27 ms at the 99th percentile in the events benchmark,
/// while API requests queued on that thread waited. Written straight to
/// text, an event now costs the feed some 24 µs in all, read from the
/// database and answered (36 µs before).
const SHAPED_BETWEEN_TURNS: usize = 8;

/// Gives the runtime's thread to the other tasks waiting for it after
/// every [`SHAPED_BETWEEN_TURNS`] events of a loop (`i`, from 0) that
/// shapes or serialises them.
pub(crate) async fn take_turn(i: usize) {
    if i % SHAPED_BETWEEN_TURNS == SHAPED_BETWEEN_TURNS - 1 {
        tokio::task::yield_now().await;
    }
}

/// One event as a key sees it, in the feed's shape: what the feed answers
/// and what a webhook delivers. The record is written once, as the API
/// answers it, and kept as written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedItem {
    /// Its place in the base's order: the cursor to read on from.
    pub cursor: i64,
    /// The record after the change (before it, for a deletion), as the key
    /// reads it through the API.
    pub data: Box<RawValue>,
    /// `evt_<base>_<cursor>`: the same event always has the same one.
    pub id: String,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
    /// The fields this key reads that an update changed, as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_attributes: Option<Box<RawValue>>,
    /// Who made the change: `api:<key>`, `admin`, `cli`, `connector:<app>`…
    pub source: String,
    /// What happened to what, e.g. `employee.updated`.
    pub topic: String,
    /// Always `event`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The events as the key sees them; those it may not see left out.
async fn render(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    events: &[Event],
) -> Result<Vec<FeedItem>, ApiError> {
    let shapes = Shapes::load(state, caller, headers, events).await?;
    let mut items = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        take_turn(i).await;
        let data = shapes.write(&event.data);
        let previous_attributes = match (event.topic.action, &event.previous) {
            (EventAction::Updated, Some(before)) => {
                match changed_fields(&data, &shapes.write(before)) {
                    Some(changed) => Some(changed),
                    // Only fields this key may not read changed.
                    None => continue,
                }
            }
            _ => None,
        };
        items.push(FeedItem {
            cursor: event.seq,
            data,
            id: format!("evt_{}_{}", event.base_id, event.seq),
            occurred_at: event.occurred_at,
            previous_attributes,
            source: event.source.clone(),
            topic: event.topic.to_string(),
            kind: "event",
        });
    }
    Ok(items)
}

/// The fields of `before` whose value `after` does not have, bookkeeping
/// aside, as a JSON object (in the order of their names); none if there is
/// none. Both are objects written by [`Shapes::write`], which writes equal
/// values alike and a kind's fields in one order, so values are compared
/// as written, field against field.
fn changed_fields(after: &RawValue, before: &RawValue) -> Option<Box<RawValue>> {
    fn read(r: &RawValue) -> Vec<(FieldName<'_>, &RawValue)> {
        let fields: TopFields = serde_json::from_str(r.get()).expect("a shaped record reads back");
        fields.0
    }
    let (after, before) = (read(after), read(before));
    let mut changed: BTreeMap<&str, &RawValue> = BTreeMap::new();
    for (i, (name, was)) in before.iter().enumerate() {
        // The same field at the same place, unless the fields differ.
        let now = match after.get(i) {
            Some((n, v)) if n == name => Some(*v),
            _ => after.iter().find(|(n, _)| n == name).map(|(_, v)| *v),
        };
        if now.map(RawValue::get) != Some(was.get()) && !BOOKKEEPING.contains(&&*name.0) {
            changed.insert(name.0.as_ref(), was);
        }
    }
    (!changed.is_empty())
        .then(|| serde_json::value::to_raw_value(&changed).expect("fields serialise"))
}

/// A JSON object's fields in the order written, each value as written.
struct TopFields<'a>(Vec<(FieldName<'a>, &'a RawValue)>);

/// A field's name, borrowed from the text it was read from unless it had
/// to be unescaped (a record's names never need it).
#[derive(serde::Deserialize, PartialEq)]
struct FieldName<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for TopFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = TopFields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(48));
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(TopFields(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

/// The fields an event shows of an employee: every standard one and the
/// custom fields, as the key may read them.
static EVENT_USER_FIELDS: std::sync::LazyLock<FieldTree> = std::sync::LazyLock::new(|| {
    let mut names: Vec<&str> = users::STANDARD_FIELDS.to_vec();
    names.push("extendedData");
    FieldTree::of(&names)
});

/// What shaping a page of events' records takes: the lookups each kind's
/// answer makes, done once per page.
struct Shapes {
    /// The names employees refer to, and the fields of
    /// [`EVENT_USER_FIELDS`] the key may read, decided once for the page.
    users: Option<(users::UserContext, Vec<(&'static str, &'static FieldTree)>)>,
    levels: HashMap<i64, (usize, String)>,
    visible: std::collections::HashSet<i64>,
    accounts: HashMap<relais_core::ids::AbsenceAccountId, relais_core::absence::AbsenceAccount>,
    claims: Option<(expenses::ClaimContext, String)>,
    base_url: String,
}

impl Shapes {
    async fn load(
        state: &AppState,
        caller: &Caller,
        headers: &HeaderMap,
        events: &[Event],
    ) -> Result<Self, ApiError> {
        let records = || {
            events
                .iter()
                .flat_map(|e| std::iter::once(&e.data).chain(e.previous.as_ref()))
        };
        // The employees are borrowed: only their managers are looked up.
        let employees: Vec<&relais_core::employee::Employee> = records()
            .filter_map(|r| match r {
                Record::Employee(e) => Some(&**e),
                _ => None,
            })
            .collect();
        let users = if employees.is_empty() {
            None
        } else {
            let tree = &*EVENT_USER_FIELDS;
            let ctx =
                users::UserContext::load(state, caller, headers, employees.iter().copied(), tree)
                    .await?;
            let plan = ctx.plan(tree);
            Some((ctx, plan))
        };
        let has = |kind: fn(&Record) -> bool| records().any(kind);
        let levels = if has(|r| matches!(r, Record::Department(_))) {
            organisation::hierarchy(&state.store.list_departments(caller.base()).await?)
        } else {
            HashMap::new()
        };
        let heads: Vec<relais_core::ids::EmployeeId> = records()
            .filter_map(|r| match r {
                Record::Department(d) => d.head_id,
                _ => None,
            })
            .collect();
        let visible = users::visible_among(&state.store, caller, &heads)
            .await?
            .iter()
            .map(|e| e.id.0)
            .collect();
        let accounts = if has(|r| matches!(r, Record::Leave(_))) {
            super::absences::accounts_by_id(state, caller).await?
        } else {
            HashMap::new()
        };
        let claims: Vec<relais_core::expense::ExpenseClaim> = records()
            .filter_map(|r| match r {
                Record::ExpenseClaim(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let base_url = base_url(headers);
        let claims = if claims.is_empty() {
            None
        } else {
            let tree = FieldTree::of(&["owner", "author"]);
            Some((
                expenses::ClaimContext::load(state, caller, &claims, &tree).await?,
                base_url.clone(),
            ))
        };
        Ok(Self {
            users,
            levels,
            visible,
            accounts,
            claims,
            base_url,
        })
    }

    /// A record as the API answers it to this key, written as JSON.
    fn write(&self, record: &Record) -> Box<RawValue> {
        let object = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let shaped: Map<String, Value> = match record {
            // An employee straight from its record, without building a value first.
            Record::Employee(e) => {
                return match &self.users {
                    Some((ctx, plan)) => {
                        serde_json::value::to_raw_value(&users::UserView { ctx, e, plan })
                    }
                    None => serde_json::value::to_raw_value(&Map::new()),
                }
                .expect("an employee serialises")
            }
            Record::Department(d) => organisation::department_json(
                d,
                &self.levels,
                d.head_id.filter(|h| self.visible.contains(&h.0)),
                &self.base_url,
            ),
            Record::Establishment(e) => {
                organisation::establishment_json(e, None, &self.base_url, false)
            }
            // An event's data is the same for every reader: the country
            // named as Lucca names it by default, in French.
            Record::LegalEntity(u) => object(organisation::legal_unit_json(u, "fr")),
            Record::Leave(p) => {
                absences::request_json(p, self.accounts.get(&p.account_id), &self.base_url, None)
            }
            Record::ExpenseClaim(c) => self
                .claims
                .as_ref()
                .map(|(ctx, base)| expenses::claim_json(c, base, ctx))
                .unwrap_or_default(),
            Record::ExpenseClaimItem(i) => expenses::item_json(i, &Default::default()),
        };
        serde_json::value::to_raw_value(&shaped).expect("a record serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn an_update_tells_the_fields_it_changed_as_they_were() {
        let before = raw(
            r#"{"id":1,"jobTitle":"Comptable","manager":{"id":4,"name":"Léa"},"modifiedAt":"2026-01-01T00:00:00Z","extendedData":{"e_size":"M"}}"#,
        );
        let after = raw(
            r#"{"id":1,"jobTitle":"Chef comptable","manager":{"id":4,"name":"Léa"},"modifiedAt":"2026-02-01T00:00:00Z","extendedData":{"e_size":"L"}}"#,
        );
        let changed = changed_fields(&after, &before).expect("two fields changed");
        // In the order of their names, as they were; the bookkeeping and
        // what did not change left out.
        assert_eq!(
            changed.get(),
            r#"{"extendedData":{"e_size":"M"},"jobTitle":"Comptable"}"#
        );
    }

    #[test]
    fn an_update_of_bookkeeping_alone_tells_nothing() {
        let before = raw(r#"{"id":1,"modifiedAt":"2026-01-01T00:00:00Z","mail":"a@b.fr"}"#);
        let after = raw(r#"{"id":1,"modifiedAt":"2026-02-01T00:00:00Z","mail":"a@b.fr"}"#);
        assert!(changed_fields(&after, &before).is_none());
    }

    #[test]
    fn fields_are_matched_by_name_wherever_they_stand() {
        // A field the record no longer shows counts as changed; fields in
        // another order are matched by name.
        let before = raw(r#"{"a":1,"b":null,"c":"x","gone":true}"#);
        let after = raw(r#"{"c":"x","a":2,"b":null}"#);
        let changed = changed_fields(&after, &before).expect("two fields changed");
        assert_eq!(changed.get(), r#"{"a":1,"gone":true}"#);
    }

    #[test]
    fn a_name_written_with_escapes_is_read_as_its_text() {
        // Names are borrowed from the record's text where they can be; one
        // that has to be unescaped is the same name all the same.
        let before = raw(r#"{"job\u0054itle":"Chef","team \"A\"":1}"#);
        let after = raw(r#"{"jobTitle":"Cheffe","team \"A\"":1}"#);
        let changed = changed_fields(&after, &before).expect("the title changed");
        assert_eq!(changed.get(), r#"{"jobTitle":"Chef"}"#);
    }
}

//! Webhook delivery: each active endpoint's events, as its key sees them,
//! posted, signed, at least once, retried on the Standard Webhooks schedule.
//! While the receiver takes them, a batch of new events is posted first and
//! stored after with what came of each, in the transaction that moves the
//! endpoint's cursor (one write a batch); a process stopped in between
//! posts them again, under the same ids. While it fails, new events are
//! stored as deliveries that wait for the next pass. Either way none is
//! lost or stored twice.
//!
//! Every `relais serve` process runs a deliverer; an endpoint is served by
//! the one process holding its lease at a time, so several processes on one
//! PostgreSQL deliver each event once per endpoint (retries aside), never
//! twice at once.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::posting::{Message as Posted, PostError, Poster};
use crate::resources::events::{followed_topics, take_turn, visible_page, FeedItem};
use crate::AppState;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use relais_core::ids::DeliveryId;
use relais_core::integration::LeaseJob;
use relais_core::secret::SecretName;
use relais_core::webhooks::{
    retry_after, signature_header, Delivery, DeliveryStatus, Endpoint, EndpointStatus,
    WebhookFault, WebhookSecret, SUSPEND_AFTER, TEST_TOPIC,
};
use relais_store::{read_few, AttemptOutcome, NewDelivery, SentDelivery};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a receiver has to answer.
pub const RECEIVER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long an endpoint's lease lasts without renewal.
const LEASE_TTL: Duration = Duration::from_secs(60);

/// How long a deliverer waits before its next pass, at least, so that a
/// burst of changes is read, sent and recorded in batches.
const COALESCE: Duration = Duration::from_millis(50);

/// How long a deliverer busy with a steady stream of changes gathers them
/// between two passes, at most.
const GATHER_AT_MOST: Duration = Duration::from_millis(250);

/// The changes a second from which a busy deliverer gathers for
/// [`GATHER_AT_MOST`] between passes.
const GATHER_LONGEST_FROM: f64 = 1_000.0;

/// How long a busy deliverer waits before its next pass, after one that
/// sent `sent` messages over `since` (the time since the pass before it
/// began): [`COALESCE`] for a trickle, longer the more changes a second
/// come, up to [`GATHER_AT_MOST`] from [`GATHER_LONGEST_FROM`] a second.
///
/// Each pass has a cost of its own, whatever it carries (finding the
/// endpoint's key and secrets, what its events refer to, recording each
/// page in one transaction): about 1.5 ms of processor on SQLite. Passes
/// every 50 ms under a steady stream of changes cost the server some 3 % of
/// a core for that alone; gathering longer while changes pour in carries
/// more events a pass (250 at 1,000 a second) for the same cost, and a lone
/// change is still sent within [`COALESCE`].
fn gather_for(sent: usize, since: Duration) -> Duration {
    let rate = sent as f64 / since.as_secs_f64().max(1e-3);
    GATHER_AT_MOST
        .mul_f64((rate / GATHER_LONGEST_FROM).min(1.0))
        .max(COALESCE)
}

/// Deliveries an endpoint is sent at once (a page): new events read,
/// posted and recorded together, or deliveries due for another attempt.
const PAGE: u32 = 50;

/// How long a deliverer pauses between two full pages, so that a pass
/// carrying many messages spreads its work over time rather than taking
/// the runtime's threads in one burst: the API's requests answered during
/// such a burst are the ones it slows, whatever the pass costs in all (see
/// `docs/performance.md`, « A deliverer that paces its passes »). A page
/// that is not full, a lone change's, goes at once.
const PAUSE_BETWEEN_PAGES: Duration = Duration::from_millis(10);

/// Deliveries posted to one endpoint at a time: a receiver's answer time
/// is not what bounds an endpoint's throughput (messages may arrive out of
/// order; each carries its event's cursor).
const IN_FLIGHT: usize = 16;

/// Delivers webhook events for the endpoints whose lease it wins.
#[derive(Clone)]
pub struct Deliverer {
    state: AppState,
    /// Posts the messages, over connections this deliverer drives and keeps.
    poster: Arc<Poster>,
    owner: String,
    headers: HeaderMap,
    lease_ttl: Duration,
    /// The endpoints whose lease this deliverer holds, and when it claimed it.
    held: Arc<std::sync::Mutex<std::collections::HashMap<relais_core::ids::EndpointId, Instant>>>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// What one pass did, summed over the endpoints served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Deliveries made from new events.
    pub made: usize,
    /// Attempts that the receiver took (2xx).
    pub delivered: usize,
    /// Attempts that failed.
    pub failed: usize,
}

impl Deliverer {
    /// A deliverer over `state`'s store; records' `url` fields start with
    /// `public_url` (the address clients reach relais at).
    pub fn new(state: AppState, public_url: &str) -> Self {
        let host = public_url
            .split("://")
            .nth(1)
            .unwrap_or(public_url)
            .trim_end_matches('/');
        let mut headers = HeaderMap::new();
        if let Ok(h) = host.parse() {
            headers.insert(axum::http::header::HOST, h);
        }
        Self {
            poster: Arc::new(Poster::new(
                state.webhook_reach,
                IN_FLIGHT,
                crate::posting::USER_AGENT,
            )),
            owner: format!(
                "webhooks-{}-{:012x}",
                std::process::id(),
                fastrand::u64(..) >> 16
            ),
            headers,
            lease_ttl: LEASE_TTL,
            held: Arc::default(),
            state,
        }
    }

    /// The same deliverer, its leases lasting `ttl` without renewal (an
    /// endpoint whose deliverer died is taken over this long after).
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Runs a pass as soon as events are committed (see
    /// [`EventStore::event_signal`](relais_store::EventStore::event_signal)),
    /// and at least every `every` for the retries that come due, until
    /// `stop` completes.
    pub async fn serve(self, every: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut signal = self.state.store.event_signal();
        let mut began = Instant::now();
        loop {
            signal.borrow_and_update();
            let since = began.elapsed();
            began = Instant::now();
            // When work was found, look again soon for what came meanwhile.
            let busy = match self.pass().await {
                Ok(p) if p.made + p.delivered > 0 && p.failed == 0 => {
                    Some(gather_for(p.made + p.delivered, since))
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery pass failed");
                    None
                }
            };
            if let Some(gather) = busy {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(gather) => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(every) => {}
                changed = signal.changed() => {
                    if changed.is_err() {
                        // The store is closing: no signal any more, only the clock.
                        tokio::time::sleep(every).await;
                    }
                    // A burst's first change: gather the rest of it.
                    tokio::time::sleep(COALESCE).await;
                }
            }
        }
    }

    /// One pass over the active endpoints whose lease this deliverer wins.
    pub async fn pass(&self) -> Result<Pass, ApiError> {
        // Connections to receivers no longer posted to (an endpoint
        // deleted, suspended or quiet) are closed, even when nothing is.
        self.poster.close_unused();
        let mut total = Pass::default();
        let store = &self.state.store;
        for endpoint in store.active_endpoints().await? {
            // Two reads tell whether there is anything to do, before the
            // lease (a write) is asked for.
            // Both by key: read on this thread (see `read_few`).
            let latest = read_few(store.last_event(endpoint.setup.base_id)).await?;
            if latest <= endpoint.cursor
                && read_few(store.due_deliveries(endpoint.id, relais_core::now(), 1))
                    .await?
                    .is_empty()
            {
                continue;
            }
            if !self.hold(&endpoint).await? {
                continue;
            }
            match self.serve_endpoint(&endpoint, latest).await {
                Ok(p) => {
                    total.made += p.made;
                    total.delivered += p.delivered;
                    total.failed += p.failed;
                }
                Err(e) => {
                    tracing::warn!(endpoint = %endpoint.id, error = %e, "cannot serve a webhook endpoint")
                }
            }
        }
        Ok(total)
    }

    /// Whether this deliverer holds the endpoint's lease: claimed (or
    /// renewed) when a third of its length has passed since, otherwise
    /// known to be held. A busy endpoint is not claimed again at every pass
    /// (a write each time); the lease is given back by running out.
    async fn hold(&self, endpoint: &Endpoint) -> Result<bool, ApiError> {
        let fresh = {
            let held = self.held.lock().expect("never poisoned");
            held.get(&endpoint.id)
                .is_some_and(|at| at.elapsed() < self.lease_ttl / 3)
        };
        if fresh {
            return Ok(true);
        }
        let at = Instant::now();
        let won = self
            .state
            .store
            .claim_lease(&LeaseJob::Webhook(endpoint.id), &self.owner, self.lease_ttl)
            .await?;
        let mut held = self.held.lock().expect("never poisoned");
        if won {
            held.insert(endpoint.id, at);
        } else {
            held.remove(&endpoint.id);
        }
        Ok(won)
    }

    /// Sends an endpoint's due deliveries (retries, tests, replays made
    /// into deliveries), then its new events, up to `latest` (the base's
    /// latest event, read by the pass) or beyond.
    async fn serve_endpoint(&self, endpoint: &Endpoint, latest: i64) -> Result<Pass, ApiError> {
        let store = &self.state.store;
        let (key, version) = read_few(store.api_key_at_version(endpoint.setup.key_id)).await?;
        if key.revoked_at.is_some() {
            store
                .set_endpoint_status(
                    endpoint.id,
                    EndpointStatus::Suspended,
                    Some(&WebhookFault::KeyRevoked.stored()),
                    relais_core::activity::Actor::Relais,
                )
                .await?;
            return Ok(Pass::default());
        }
        let mut caller = Caller::new(Arc::new(key), version);
        if let Some(only) = &endpoint.setup.establishments {
            caller.scope.establishments = Some(match caller.scope.establishments.take() {
                Some(mine) => only.iter().filter(|e| mine.contains(e)).copied().collect(),
                None => only.clone(),
            });
        }
        let topics = followed_topics(caller.role(), &endpoint.setup.topics);
        let target = Target {
            address: self.state.webhook_reach.address(&endpoint.setup.url),
            secrets: self.secrets(endpoint).await?,
        };
        let mut pass = Pass::default();
        // Batch after batch while the receiver takes them, for a while
        // (the lease is not renewed meanwhile).
        let started = Instant::now();
        let in_time = || started.elapsed() <= self.lease_ttl / 4;
        let mut failing = false;
        loop {
            let due = store
                .due_deliveries(endpoint.id, relais_core::now(), PAGE)
                .await?;
            let full = due.len() == PAGE as usize;
            let sent = self.post_batch(&target, &due).await;
            if sent.is_empty() {
                break;
            }
            let attempts: Vec<(DeliveryId, AttemptOutcome)> = sent
                .iter()
                .map(|(i, o, _)| (due[*i].id, o.clone()))
                .collect();
            let failing_since = store.record_attempts(endpoint.id, &attempts).await?;
            failing = self
                .conclude(endpoint, &sent, failing_since, &mut pass)
                .await?;
            if failing || !full || !in_time() {
                break;
            }
            tokio::time::sleep(PAUSE_BETWEEN_PAGES).await;
        }
        // New events: while the receiver takes them, posted as they are read
        // and stored with their attempt (one write a batch); otherwise made
        // into deliveries that wait for the next pass. Either way in the
        // transaction that moves the endpoint's cursor, so none is lost
        // (a process stopped after posting posts them again) or made twice.
        let mut cursor = endpoint.cursor;
        while in_time() {
            let page = visible_page(
                &self.state,
                &caller,
                &self.headers,
                (cursor, latest),
                &topics,
                PAGE,
            )
            .await?;
            if page.next == cursor {
                break;
            }
            let mut made: Vec<NewDelivery> = Vec::with_capacity(page.items.len());
            for (i, event) in page.items.into_iter().enumerate() {
                take_turn(i).await;
                made.push(delivery_of(event));
            }
            let at = relais_core::now();
            let moved = if failing {
                let moved = store
                    .enqueue_deliveries(endpoint.id, cursor, page.next, &made, at)
                    .await?;
                if moved {
                    pass.made += made.len();
                }
                moved
            } else {
                let mut outcomes: Vec<Option<AttemptOutcome>> = vec![None; made.len()];
                let sent = self.post_batch(&target, &made).await;
                for (i, outcome, _) in &sent {
                    outcomes[*i] = Some(outcome.clone());
                }
                let made: Vec<SentDelivery> = made
                    .into_iter()
                    .zip(outcomes)
                    .map(|(delivery, outcome)| SentDelivery { delivery, outcome })
                    .collect();
                let recorded = store
                    .record_sent(endpoint.id, cursor, page.next, &made, at)
                    .await?;
                pass.made += made.len();
                failing = self
                    .conclude(endpoint, &sent, recorded.failing_since, &mut pass)
                    .await?;
                if sent.iter().any(|(_, _, suspend)| suspend.is_some()) {
                    return Ok(pass);
                }
                recorded.moved
            };
            if !moved {
                // Moved by someone else (a replay): the next pass goes on from there.
                break;
            }
            cursor = page.next;
            if !page.full || !in_time() {
                break;
            }
            tokio::time::sleep(PAUSE_BETWEEN_PAGES).await;
        }
        Ok(pass)
    }

    /// Posts messages to an endpoint, up to [`IN_FLIGHT`] at a time; once
    /// one fails, the ones not yet started are left. What came of each
    /// started (by its index in `messages`), failures last, and why the
    /// endpoint is to be suspended at once if it is.
    async fn post_batch<M: Message>(
        &self,
        target: &Target,
        messages: &[M],
    ) -> Vec<(usize, AttemptOutcome, Option<WebhookFault>)> {
        let mut sent = Vec::with_capacity(messages.len());
        let mut waiting = messages.iter().enumerate();
        let mut in_flight = futures_util::stream::FuturesUnordered::new();
        let mut failing = false;
        loop {
            while in_flight.len() < IN_FLIGHT && !failing {
                let Some((i, m)) = waiting.next() else {
                    break;
                };
                in_flight.push(async move {
                    let (outcome, suspend) = self.attempt(target, m).await;
                    (i, outcome, suspend)
                });
            }
            let Some((i, outcome, suspend)) = in_flight.next().await else {
                break;
            };
            failing |= outcome.status != DeliveryStatus::Delivered;
            sent.push((i, outcome, suspend));
        }
        sent.sort_by_key(|(_, o, _)| o.status != DeliveryStatus::Delivered);
        sent
    }

    /// Counts a recorded batch of attempts into `pass` and suspends the
    /// endpoint if it is to be; whether the endpoint is failing.
    async fn conclude(
        &self,
        endpoint: &Endpoint,
        sent: &[(usize, AttemptOutcome, Option<WebhookFault>)],
        failing_since: Option<chrono::DateTime<chrono::Utc>>,
        pass: &mut Pass,
    ) -> Result<bool, ApiError> {
        let failures = sent
            .iter()
            .filter(|(_, o, _)| o.status != DeliveryStatus::Delivered)
            .count();
        pass.delivered += sent.len() - failures;
        if failures == 0 {
            return Ok(false);
        }
        // The receiver is failing: the rest waits for the next pass.
        pass.failed += 1;
        let at = sent.last().map_or_else(relais_core::now, |(_, o, _)| o.at);
        let gone = sent.iter().find_map(|(_, _, suspend)| suspend.clone());
        let suspend = gone.or_else(|| {
            failing_since
                .filter(|since| {
                    at.signed_duration_since(*since)
                        .to_std()
                        .unwrap_or_default()
                        >= SUSPEND_AFTER
                })
                .map(|_| WebhookFault::FailingForADay)
        });
        if let Some(reason) = suspend {
            self.state
                .store
                .set_endpoint_status(
                    endpoint.id,
                    EndpointStatus::Suspended,
                    Some(&reason.stored()),
                    relais_core::activity::Actor::Relais,
                )
                .await?;
            tracing::warn!(endpoint = %endpoint.id, url = %endpoint.setup.url, %reason, "webhook endpoint suspended");
        }
        Ok(true)
    }

    /// The secrets that sign an endpoint's messages now: its own, and the
    /// one before its last rotation while the grace runs.
    async fn secrets(&self, endpoint: &Endpoint) -> Result<Vec<WebhookSecret>, ApiError> {
        let sealed = read_few(self.state.store.endpoint_secrets(endpoint.id)).await?;
        let open = self.state.sealer.open(&sealed)?;
        let mut out = Vec::new();
        if let Some(current) = open.get(SecretName::WebhookSigning) {
            out.push(WebhookSecret::parse(current)?);
        }
        let grace = endpoint
            .previous_until
            .is_some_and(|until| until > relais_core::now());
        if let (true, Some(previous)) = (grace, open.get(SecretName::WebhookPrevious)) {
            out.push(WebhookSecret::parse(previous)?);
        }
        Ok(out)
    }

    /// Posts one delivery: what came of it, and why the endpoint is to be
    /// suspended at once if it is (404, 410).
    async fn attempt(
        &self,
        target: &Target,
        message: &impl Message,
    ) -> (AttemptOutcome, Option<WebhookFault>) {
        let (message_id, body, tried) = message.parts();
        // An address outside the reach (registered when private ones were
        // allowed) is not posted to: the endpoint stops until it is changed.
        let url = match &target.address {
            Ok(url) => url,
            Err(why) => {
                let at = relais_core::now();
                let outcome = AttemptOutcome {
                    status: DeliveryStatus::Pending,
                    http_status: None,
                    error: Some(why.stored()),
                    latency_ms: 0,
                    next_attempt_at: Some(at),
                    at,
                };
                return (outcome, Some(why.clone()));
            }
        };
        let timestamp = relais_core::now().timestamp();
        let signing: Vec<&WebhookSecret> = target.secrets.iter().collect();
        let signature = signature_header(&signing, message_id, timestamp, body.as_bytes());
        let started = Instant::now();
        let posted = Posted {
            url,
            headers: [
                ("content-type", "application/json".to_owned()),
                ("webhook-id", message_id.to_owned()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ],
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        };
        let answer = self.poster.post(&posted, RECEIVER_TIMEOUT).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let at = relais_core::now();
        let attempts = tried + 1;
        let retry = |wait: Option<Duration>| {
            let wait = wait.or_else(|| retry_after(attempts, fastrand::f64()));
            match wait {
                Some(w) => (
                    DeliveryStatus::Pending,
                    Some(at + chrono::Duration::from_std(w).unwrap_or(chrono::Duration::days(1))),
                ),
                None => (DeliveryStatus::Failed, None),
            }
        };
        let (status, next, http_status, error, suspend) = match answer {
            Ok(answer) if (200..300).contains(&answer.status) => (
                DeliveryStatus::Delivered,
                None,
                Some(answer.status),
                None,
                None,
            ),
            Ok(answer) => {
                let code = answer.status;
                match code {
                    // Gone: the endpoint stops at once; the delivery waits for its return.
                    404 | 410 => (
                        DeliveryStatus::Pending,
                        Some(at),
                        Some(code),
                        Some(WebhookFault::Answered { status: code }.stored()),
                        Some(WebhookFault::Gone { status: code }),
                    ),
                    _ => {
                        let asked = (code == 429)
                            .then_some(answer.retry_after.as_deref())
                            .flatten()
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(|s| Duration::from_secs(s.min(24 * 3600)));
                        let (status, next) = retry(asked);
                        (
                            status,
                            next,
                            Some(code),
                            Some(WebhookFault::Answered { status: code }.stored()),
                            None,
                        )
                    }
                }
            }
            Err(e) => {
                let (status, next) = retry(None);
                let why = match e {
                    PostError::TimedOut => WebhookFault::NoAnswer {
                        seconds: RECEIVER_TIMEOUT.as_secs(),
                    },
                    PostError::Failed(cause) => WebhookFault::Unreachable { cause },
                };
                (status, next, None, Some(why.stored()), None)
            }
        };
        (
            AttemptOutcome {
                status,
                http_status,
                error,
                latency_ms,
                next_attempt_at: next,
                at,
            },
            suspend,
        )
    }
}

/// Where and how a pass posts an endpoint's messages, settled once for the
/// pass rather than for each message.
struct Target {
    /// The endpoint's URL parsed, or why it is not posted to (outside the reach).
    address: Result<reqwest::Url, WebhookFault>,
    /// The secrets that sign its messages (see [`Deliverer::secrets`]).
    secrets: Vec<WebhookSecret>,
}

/// A message to post: a stored delivery, or one made from a new event (a
/// Standard Webhooks message, `type`, `timestamp` and `data`, whose data is
/// the event as the feed shows it).
trait Message: Sync {
    /// Its `webhook-id`, its body, and the attempts already made.
    fn parts(&self) -> (&str, &str, u32);
}

impl Message for Delivery {
    fn parts(&self) -> (&str, &str, u32) {
        (&self.message_id, &self.body, self.attempts)
    }
}

impl Message for NewDelivery {
    fn parts(&self) -> (&str, &str, u32) {
        (&self.message_id, &self.body, 0)
    }
}

/// The message that delivers `event` (as the key sees it).
fn delivery_of(event: FeedItem) -> NewDelivery {
    /// A Standard Webhooks message, its fields in the order of their names.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        data: &'a FeedItem,
        timestamp: DateTime<Utc>,
        #[serde(rename = "type")]
        kind: &'a str,
    }
    // The record is written into the body as the feed wrote it, not
    // serialised again.
    let body = serde_json::to_string(&Body {
        data: &event,
        timestamp: event.occurred_at,
        kind: &event.topic,
    })
    .expect("a message serialises");
    NewDelivery {
        event_seq: event.cursor,
        message_id: event.id,
        topic: event.topic,
        body,
    }
}

/// A test message for an endpoint (`webhook.test`).
pub fn test_delivery(endpoint: &Endpoint) -> NewDelivery {
    let now = relais_core::now();
    let message_id = format!("msg_test_{}_{:016x}", endpoint.id, fastrand::u64(..));
    NewDelivery {
        event_seq: 0,
        topic: TEST_TOPIC.into(),
        body: json!({
            "type": TEST_TOPIC,
            "timestamp": now,
            "data": { "id": message_id, "message": "a test event sent from relais", "endpoint": endpoint.setup.name },
        })
        .to_string(),
        message_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trickle_is_sent_soon_and_a_stream_gathered_longer() {
        let ms = Duration::from_millis;
        // One change, or a few a second: the shortest wait.
        assert_eq!(gather_for(1, ms(50)), COALESCE);
        assert_eq!(gather_for(10, ms(60)), COALESCE);
        // After a long quiet spell, a first burst is not taken for a stream.
        assert_eq!(gather_for(200, Duration::from_secs(30)), COALESCE);
        // Half the rate of the longest gathering: half of it.
        assert_eq!(gather_for(30, ms(60)), ms(125));
        // A thousand a second and more: the longest, never beyond.
        assert_eq!(gather_for(60, ms(60)), GATHER_AT_MOST);
        assert_eq!(gather_for(5_000, ms(60)), GATHER_AT_MOST);
        // A pass that took no time at all divides by no zero.
        assert_eq!(gather_for(3, Duration::ZERO), GATHER_AT_MOST);
    }
}

//! What storing webhook deliveries costs: `cargo bench -p relais-store --bench deliveries [-- BATCHES]`.
//!
//! Records BATCHES (default 2,000) batches of delivered messages on an
//! endpoint of a SQLite base, as the deliverer does after posting each page
//! of new events (`record_sent`: the endpoint's cursor moved and the
//! batch's deliveries written with their outcome, in one transaction on the
//! write lane), for batches of 20, 60 (a pass under 1,000 changes a second),
//! 200 (a full page), and of 50 to 70 in turn (the statement's text changes
//! with the batch's size). Prints the processor time (every thread of this
//! process, from `/proc`, Linux) and the wall time a delivery took.

use relais_core::access::{KeyUsage, Role};
use relais_core::activity::Actor;
use relais_core::base::{BaseKind, BaseName};
use relais_core::employee::Email;
use relais_core::org::Name;
use relais_core::webhooks::{DeliveryStatus, EndpointSetup, EndpointStatus};
use relais_store::{AttemptOutcome, NewApiKey, NewDelivery, NewEndpoint, SentDelivery};
use std::time::Instant;

/// This process's processor time so far, in seconds (every thread's).
fn processor() -> f64 {
    relais_testkit::usage::cpu_by_thread("self")
        .values()
        .map(|(_, used)| used.cpu)
        .sum()
}

/// A delivered message of event `seq` of `base`, as the deliverer stores it.
fn delivered(
    base: relais_core::ids::BaseId,
    seq: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> SentDelivery {
    SentDelivery {
        delivery: NewDelivery {
            event_seq: seq,
            topic: "employee.updated".into(),
            message_id: format!("evt_{base}_{seq}"),
            body: "x".repeat(2_000),
        },
        outcome: Some(AttemptOutcome {
            status: DeliveryStatus::Delivered,
            http_status: Some(204),
            error: None,
            latency_ms: 3,
            next_attempt_at: None,
            at,
        }),
    }
}

fn main() {
    let batches = relais_testkit::args::count("batches", 2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("storing webhook deliveries on SQLite: {batches} batches each way");
        // Batch sizes: fixed, or 50 to 70 in turn.
        for (size, varied) in [(20, false), (60, false), (200, false), (60, true)] {
            let db = relais_testkit::TestDb::sqlite();
            let store = db.open().await;
            let base = store
                .create_base(&BaseName::parse("deliveries").unwrap(), BaseKind::Production)
                .await
                .unwrap()
                .id;
            let key = NewApiKey {
                base_id: base,
                prefix: "bench".into(),
                secret_hash: "h".into(),
                name: Name::parse("name", "Receiver").unwrap(),
                contact: Email::parse("it@relais.test").unwrap(),
                usage: KeyUsage::Internal,
                role: Role::parse(&["personnel-file"]).unwrap(),
            };
            let key = store.create_api_key(&key, Actor::Relais).await.unwrap();
            let endpoint = NewEndpoint {
                setup: EndpointSetup {
                    base_id: base,
                    key_id: key.id,
                    name: "receiver".into(),
                    url: "https://hooks.acme.test/in".into(),
                    topics: Vec::new(),
                    establishments: None,
                },
                sealed_secrets: "sealed".into(),
                status: EndpointStatus::Active,
                status_reason: None,
                cursor: 0,
            };
            let endpoint = store.create_endpoint(&endpoint, Actor::Relais).await.unwrap();
            let at = relais_core::now();
            let (mut cursor, mut stored) = (0_i64, 0_usize);
            let (before, started) = (processor(), Instant::now());
            for b in 0..batches {
                let size = if varied { 50 + (b * 7) % 21 } else { size };
                let to = cursor + size as i64;
                let sent: Vec<SentDelivery> =
                    (cursor + 1..=to).map(|seq| delivered(base, seq, at)).collect();
                let recorded = store
                    .record_sent(endpoint.id, cursor, to, &sent, at)
                    .await
                    .unwrap();
                assert!(recorded.moved, "the cursor moves");
                (cursor, stored) = (to, stored + size);
            }
            let per = |seconds: f64| seconds * 1e6 / stored as f64;
            println!(
                "  batches of {}: {stored} deliveries, {:.1} µs of processor and {:.1} µs a delivery",
                if varied { "50 to 70".to_owned() } else { size.to_string() },
                per(processor() - before),
                per(started.elapsed().as_secs_f64()),
            );
        }
    });
}

//! What posting a webhook message costs: `cargo bench -p relais --bench webhook_posts [-- MESSAGES]`.
//!
//! Posts MESSAGES (default 20,000) signed messages of 2 KB, as the
//! deliverer posts an employee's event (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`, one secret), to a receiver in this process that
//! answers 204 on a thread of its own, with the deliverer's poster (its
//! connections driven by the task that posts) and with a general HTTP
//! client (reqwest, a task for each connection), which the deliverer used
//! before. Each way is warmed up with up to 2,000 messages, not measured,
//! then measured:
//! - all the messages in one go, 1, 4, 16 (the deliverer's `IN_FLIGHT`)
//!   and 64 at a time;
//! - in bursts of 60 with 60 ms between them, 4 and 16 at a time: the
//!   deliverer's passes under 1,000 changes a second;
//! - 16 at a time, unsigned: what the signature costs.
//!
//! Prints, for each, the processor time a message cost the sender's
//! threads and the receiver's (from `/proc`, Linux).

use futures_util::StreamExt;
use relais_api::posting::{Message, Poster};
use relais_api::reach::WebhookReach;
use relais_core::webhooks::{signature_header, WebhookSecret};
use relais_testkit::usage::{add_cpu, cpu_by_thread, Use};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One way of posting: how many at a time, in bursts of how many (none:
/// all in one go), signed or not.
struct Way {
    in_flight: usize,
    burst: Option<usize>,
    signed: bool,
}

/// The pause between bursts: a deliverer's pass under a steady stream of
/// changes comes every 50 ms or so, plus the pass itself.
const BETWEEN_BURSTS: Duration = Duration::from_millis(60);

/// What posts the messages.
enum Sender {
    /// The deliverer's own.
    Poster(Poster),
    /// A general HTTP client.
    Client(reqwest::Client),
}

/// Posts `count` messages the `way` says; the seconds it took.
async fn post_all(
    sender: &Sender,
    url: &reqwest::Url,
    secret: &WebhookSecret,
    body: &str,
    count: usize,
    way: &Way,
) -> f64 {
    let started = Instant::now();
    let ids: Vec<usize> = (0..count).collect();
    for (i, burst) in ids.chunks(way.burst.unwrap_or(count)).enumerate() {
        if i > 0 {
            tokio::time::sleep(BETWEEN_BURSTS).await;
        }
        let mut posts = futures_util::stream::iter(burst.iter().copied())
            .map(|n| async move {
                let id = format!("evt_1_{n}");
                let timestamp = 1_764_892_800_i64;
                let signature = if way.signed {
                    signature_header(&[secret], &id, timestamp, body.as_bytes())
                } else {
                    String::new()
                };
                let status = match sender {
                    Sender::Client(client) => client
                        .post(url.clone())
                        .header("content-type", "application/json")
                        .header("webhook-id", id)
                        .header("webhook-timestamp", timestamp.to_string())
                        .header("webhook-signature", signature)
                        .body(body.to_owned())
                        .send()
                        .await
                        .expect("the receiver answers")
                        .status()
                        .as_u16(),
                    Sender::Poster(poster) => {
                        let message = Message {
                            url,
                            headers: [
                                ("content-type", "application/json".to_owned()),
                                ("webhook-id", id),
                                ("webhook-timestamp", timestamp.to_string()),
                                ("webhook-signature", signature),
                            ],
                            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
                        };
                        poster
                            .post(&message, Duration::from_secs(3))
                            .await
                            .expect("the receiver answers")
                            .status
                    }
                };
                assert_eq!(status, 204);
            })
            .buffer_unordered(way.in_flight);
        while posts.next().await.is_some() {}
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    let count = relais_testkit::args::count("messages", 20_000);
    let receiver = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-receiver")
        .enable_all()
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url =
        reqwest::Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
    receiver.spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(|_: String| async { axum::http::StatusCode::NO_CONTENT }),
        );
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap()
    });
    let sender = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-sender")
        .enable_all()
        .build()
        .unwrap();
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = format!(r#"{{"data":{{"jobTitle":"{}"}}}}"#, "a".repeat(2_000));
    let ways = [1, 4, 16, 64]
        .map(|in_flight| Way {
            in_flight,
            burst: None,
            signed: true,
        })
        .into_iter()
        .chain([4, 16].map(|in_flight| Way {
            in_flight,
            burst: Some(60),
            signed: true,
        }))
        .chain([Way {
            in_flight: 16,
            burst: None,
            signed: false,
        }]);
    println!(
        "webhook posts: {count} messages of {} bytes each way",
        body.len()
    );
    let senders = [
        (
            "the deliverer's poster",
            Sender::Poster(Poster::new(
                WebhookReach::Anywhere,
                64,
                "relais-webhooks/bench",
            )),
        ),
        (
            "a general client (reqwest)",
            Sender::Client(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(3))
                    .build()
                    .unwrap(),
            ),
        ),
    ];
    let ways: Vec<Way> = ways.collect();
    sender.block_on(async {
        for (name, sender) in &senders {
        println!("  with {name}:");
        for way in &ways {
            // Bursts take their pauses: fewer messages keep the run short.
            let count = if way.burst.is_some() { (count / 5).max(1) } else { count };
            post_all(sender, &url, &secret, &body, count.min(2_000), way).await;
            let before = cpu_by_thread("self");
            let took = post_all(sender, &url, &secret, &body, count, way).await;
            let mut used: HashMap<String, Use> = HashMap::new();
            add_cpu(&mut used, &before, &cpu_by_thread("self"));
            let per = |name: &str| used.get(name).map_or(0.0, |u| u.cpu) * 1e6 / count as f64;
            println!(
                "    {:>2} at a time{}{}: {count} in {took:.2} s, sender {:.1} µs a message, receiver {:.1} µs",
                way.in_flight,
                way.burst.map_or(String::new(), |b| format!(", bursts of {b}")),
                if way.signed { "" } else { ", unsigned" },
                per("bench-sender"),
                per("bench-receiver"),
            );
        }
        }
    });
}

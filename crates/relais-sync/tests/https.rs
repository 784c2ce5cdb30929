//! Partners and sources served over HTTPS: trusted through the system's
//! authorities or an extra CA file, refused otherwise.

mod common;

use relais_api::AppState;
use relais_core::access::{KeyUsage, Role};
use relais_core::employee::Email;
use relais_core::org::Name;
use relais_sandbox::{happypal, sim};
use relais_store::DatabaseUrl;
use relais_sync::connectors::happypal::HappyPal;
use relais_sync::engine::Job;
use relais_sync::http::Tls;
use relais_sync::{Outcome, SyncError};
use serde_json::{json, Value};
use std::time::Duration;

/// A certificate authority made for the test, and a certificate it signed
/// for `localhost` and 127.0.0.1: (CA PEM, chain PEM, key PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "relais test partner CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

#[tokio::test]
async fn happypal_over_https_with_a_private_authority() {
    let (ca, chain, key) = certificates();
    let dir = tempfile::tempdir().unwrap();
    let (store, base) =
        common::seeded_base(&DatabaseUrl::Sqlite(dir.path().join("h.db")), 30, 4).await;
    // The source too is served over HTTPS.
    let state = AppState::new(store.clone(), 100_000);
    let api = axum::Router::new()
        .merge(relais_api::router(state.clone()))
        .with_state(state);
    let api = sim::start_tls(api, "127.0.0.1:0".parse().unwrap(), &chain, &key)
        .await
        .unwrap();
    let role = Role::parse(&[
        "personnel-file:fields=firstName+lastName+mail+birthDate+dtContractStart+dtContractEnd",
    ])
    .unwrap();
    let (_, secret) = relais_app::keys::create_key(
        &store,
        base.id,
        Name::parse("name", "HappyPal").unwrap(),
        Email::parse("tech@happypal.fr").unwrap(),
        KeyUsage::ThirdParty,
        role,
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    let partner = sim::start_tls(
        happypal::router("hp-token"),
        "127.0.0.1:0".parse().unwrap(),
        &chain,
        &key,
    )
    .await
    .unwrap();
    assert!(partner.url().starts_with("https://localhost:"));

    let mut tls = Tls::default();
    tls.add_pem(ca.as_bytes()).unwrap();
    let client = tls.client(Duration::from_secs(10)).unwrap();
    let source = relais_sync::source::LuccaSource::with_client(&api.url(), &secret, client.clone());
    let mut job = Job::new(
        std::sync::Arc::new(HappyPal),
        source,
        &partner.url(),
        &[("token", "hp-token")],
        json!({}),
        &"happypal:903".parse().unwrap(),
        &store,
    )
    .unwrap();
    job.setup.http = client.clone();
    let report = job.run(true, false).await.unwrap();
    assert!(report.count(&Outcome::Created) > 10, "{:?}", report.counts);
    assert!(!report.has_failures(), "{:?}", report.lines);
    let held: Vec<Value> = client
        .get(format!("{}/_sim/profiles", partner.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held.len(), report.count(&Outcome::Created));

    // Without the authority, the partner's certificate is refused, and the
    // reason says so.
    let mut untrusted = job.clone();
    untrusted.setup.http = Tls::default().client(Duration::from_secs(10)).unwrap();
    untrusted.setup.job = "happypal:904".parse().unwrap();
    let err = untrusted.run(true, false).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Unreachable {
                what: relais_sync::Side::Partner,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("the secure connection (TLS) failed: invalid peer certificate"),
        "the reason names the certificate: {err}"
    );

    // A CA file that holds no certificate is refused with its name.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    let e = Tls::default().with_ca_file(&empty).unwrap_err().to_string();
    assert!(e.contains("empty.pem"), "{e}");
}

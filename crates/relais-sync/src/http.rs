//! Calling partners and sources: a timeout on every call, retries with
//! jittered exponential backoff on timeouts, connection failures and 5xx,
//! and `Retry-After` honoured on 429.

use crate::error::SyncError;
use crate::Side;
use backon::{ExponentialBuilder, Retryable};
use relais_core::network::NetworkCause;
use relais_core::said::Said;
use std::future::Future;
use std::time::Duration;

/// How calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; a longer one fails the call.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 4,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// One attempt's failure, and whether another attempt may succeed.
#[derive(Debug)]
pub struct Attempt {
    /// The error to report if no attempt succeeds.
    pub error: SyncError,
    /// Whether retrying may help (timeouts, 5xx, 429).
    pub retryable: bool,
}

impl Attempt {
    /// A failure retrying will not fix.
    pub fn fatal(error: SyncError) -> Self {
        Self {
            error,
            retryable: false,
        }
    }

    /// A failure worth another attempt.
    pub fn transient(error: SyncError) -> Self {
        Self {
            error,
            retryable: true,
        }
    }
}

/// Classifies an HTTP answer that is not a success: 429 waits `Retry-After`
/// (up to the policy's limit) and is retried, 5xx is retried, 401/403 are
/// credential refusals, anything else is final.
pub async fn classify(response: reqwest::Response, what: Side, policy: &RetryPolicy) -> Attempt {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.text().await.unwrap_or_default();
    match status {
        429 => {
            let wait = retry_after.unwrap_or(policy.min_delay);
            if wait > policy.max_retry_after {
                return Attempt::fatal(SyncError::RateLimited { what, wait });
            }
            tokio::time::sleep(wait).await;
            Attempt::transient(SyncError::Unreachable {
                what,
                reason: NetworkCause::rate_limited(wait),
            })
        }
        500..=599 => Attempt::transient(SyncError::Partner { status, body }),
        401 | 403 if what == Side::Partner => {
            Attempt::fatal(SyncError::PartnerCredentials { status })
        }
        401 | 403 => Attempt::fatal(SyncError::SourceRefused {
            status,
            message: body,
        }),
        _ => Attempt::fatal(SyncError::Partner { status, body }),
    }
}

/// The longest a partner call waits for its connection to be made.
const CONNECT_AT_MOST: Duration = Duration::from_secs(10);

/// How long a call allowed `timeout` in all waits for its connection to be
/// made: half of it, at most [`CONNECT_AT_MOST`]. A partner whose address
/// does not answer (a firewall, a route that goes nowhere) is told so
/// sooner, and apart from one that was reached but did not answer.
pub fn connect_limit(timeout: Duration) -> Duration {
    (timeout / 2).min(CONNECT_AT_MOST)
}

/// A failure to send at all (timeout, refused connection): retried. A
/// timeout says so, with how long the call waited, and whether the
/// connection itself was never made.
pub fn transport(error: reqwest::Error, what: Side, waited: Duration) -> Attempt {
    let reason = if error.is_timeout() && error.is_connect() {
        NetworkCause::not_connected(waited, None)
    } else if error.is_timeout() {
        NetworkCause::timed_out(waited)
    } else {
        NetworkCause::of(&error)
    };
    Attempt::transient(SyncError::Unreachable { what, reason })
}

/// The run a task works for: where its partner requests are counted, and
/// the labels of its metrics.
#[derive(Debug, Clone, Default)]
pub struct RequestScope {
    /// Partner requests sent so far, retries included.
    pub sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The connector's code.
    pub connector: String,
    /// The installation (or the job, outside the runtime).
    pub installation: String,
}

tokio::task_local! {
    /// The run whose work this task does (see [`counting_requests`]).
    static SCOPE: RequestScope;
}

/// Runs `work`, counting in `scope` every request it sends to the partner,
/// retries included: a run's request count is what was sent, not what was
/// planned. Each request is also counted, by status, with its latency, in
/// the process's metrics.
pub async fn counting_requests<F: Future>(scope: RequestScope, work: F) -> F::Output {
    SCOPE.scope(scope, work).await
}

fn count_sent(what: Side) {
    if what == Side::Partner {
        let _ = SCOPE.try_with(|s| s.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    }
}

/// Records a partner answer (`status` 0: no answer) and its latency.
fn observe(what: Side, status: u16, took: Duration) {
    if what != Side::Partner {
        return;
    }
    let _ = SCOPE.try_with(|s| {
        let labels = [
            ("connector", s.connector.clone()),
            ("installation", s.installation.clone()),
        ];
        let status = if status == 0 {
            "unreachable".to_owned()
        } else {
            status.to_string()
        };
        metrics::counter!(
            "relais_partner_requests_total",
            "connector" => s.connector.clone(),
            "installation" => s.installation.clone(),
            "status" => status.clone()
        )
        .increment(1);
        if !status.starts_with('2') {
            metrics::counter!(
                "relais_partner_errors_total",
                "connector" => s.connector.clone(),
                "installation" => s.installation.clone(),
                "status" => status
            )
            .increment(1);
        }
        metrics::histogram!("relais_partner_request_duration_seconds", &labels)
            .record(took.as_secs_f64());
    });
}

/// Runs `call` until it succeeds, fails for good, or runs out of retries.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, call: F) -> Result<T, SyncError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.retries)
        .with_jitter();
    call.retry(backoff)
        .when(|a: &Attempt| a.retryable)
        .await
        .map_err(|a| a.error)
}

/// Sends the request `build` makes, retrying as the policy says; returns the
/// status and the JSON answer (`null` when the answer has no body).
pub async fn call<B>(
    policy: &RetryPolicy,
    what: Side,
    build: B,
) -> Result<(u16, serde_json::Value), SyncError>
where
    B: Fn() -> reqwest::RequestBuilder,
{
    with_retries(policy, || async {
        count_sent(what);
        let started = std::time::Instant::now();
        let resp = build().send().await.map_err(|e| {
            observe(what, 0, started.elapsed());
            transport(e, what, started.elapsed())
        })?;
        let status = resp.status().as_u16();
        observe(what, status, started.elapsed());
        if !resp.status().is_success() {
            return Err(classify(resp, what, policy).await);
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(e, what, started.elapsed()))?;
        if bytes.is_empty() {
            return Ok((status, serde_json::Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(|v| (status, v))
            .map_err(|e| {
                Attempt::fatal(SyncError::Malformed {
                    what,
                    reason: e.to_string(),
                })
            })
    })
    .await
}

/// One customer's partner API: its base URL, the client calls go through,
/// the request budget every call spends from, and the retry policy.
#[derive(Debug, Clone)]
pub struct PartnerApi {
    base: String,
    http: reqwest::Client,
    budget: Budget,
    policy: RetryPolicy,
}

impl PartnerApi {
    /// The partner at `base` (without a trailing `/`), called with `http`.
    pub fn new(base: &str, http: reqwest::Client, budget: Budget, policy: RetryPolicy) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            budget,
            policy,
        }
    }

    /// The URL of `path` (relative to the base).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Sends `method path` as `decorate` completes it (credentials, body),
    /// spending one request of the budget and retrying as the policy says;
    /// the status and JSON answer.
    pub async fn send<D>(
        &self,
        method: reqwest::Method,
        path: &str,
        decorate: D,
    ) -> Result<(u16, serde_json::Value), SyncError>
    where
        D: Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    {
        let url = self.url(path);
        self.budget.spend()?;
        call(&self.policy, Side::Partner, || {
            decorate(self.http.request(method.clone(), &url))
        })
        .await
    }
}

/// The answer to a removal: done, also when the partner no longer had the
/// record (404).
pub fn gone_is_done<T>(answer: Result<T, SyncError>) -> Result<(), SyncError> {
    match answer {
        Ok(_) | Err(SyncError::Partner { status: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// An HTTP client with a timeout on every call, trusting the system's roots.
pub fn client(timeout: Duration) -> reqwest::Client {
    Tls::default()
        .client(timeout)
        .expect("an HTTP client with the system's roots builds")
}

/// How partners and sources served over HTTPS are trusted: the system's
/// certificate authorities (rustls, with the operating system's roots),
/// plus, for a private partner, extra authorities from a PEM file.
///
/// The clients it makes are built once per timeout and shared by its
/// clones: building one reads the system's authorities (milliseconds of
/// processor, which every run used to spend twice), and a shared client
/// keeps its connections to the base and the partner open between runs.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// Extra certificate authorities, PEM (the file's content).
    extra_roots: Vec<Vec<u8>>,
    /// The clients built so far, by timeout.
    built: std::sync::Arc<std::sync::Mutex<Vec<(Duration, reqwest::Client)>>>,
}

impl Tls {
    /// Also trusts the authorities of the PEM file at `path`; refuses a
    /// file that cannot be read or holds no certificate, naming it.
    pub fn with_ca_file(mut self, path: &std::path::Path) -> Result<Self, SyncError> {
        let pem = std::fs::read(path).map_err(|e| {
            SyncError::Config(Said::new(
                format!("cannot read the CA file {}: {e}", path.display()),
                format!(
                    "le fichier d'autorités {} ne peut pas être lu : {e}",
                    path.display()
                ),
            ))
        })?;
        self.add_pem(&pem).map_err(|e| {
            SyncError::Config(Said::new(
                format!("the CA file {}: {e}", path.display()),
                format!("le fichier d'autorités {} : {e}", path.display()),
            ))
        })?;
        Ok(self)
    }

    /// Also trusts the authorities of `pem`.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in it".into());
        }
        self.extra_roots.push(pem.to_vec());
        // Clients built before trust less: they are built again.
        self.built = std::sync::Arc::default();
        Ok(())
    }

    /// A client with a timeout on every call, trusting these authorities.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, SyncError> {
        let mut built = self.built.lock().expect("never poisoned");
        if let Some((_, client)) = built.iter().find(|(t, _)| *t == timeout) {
            return Ok(client.clone());
        }
        let client = self.build(timeout)?;
        built.push((timeout, client.clone()));
        Ok(client)
    }

    /// Builds a client with a timeout on every call, trusting these authorities.
    fn build(&self, timeout: Duration) -> Result<reqwest::Client, SyncError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(connect_limit(timeout))
            // Dropped before a server's own idle timeout closes them (relais
            // closes its clients' idle connections after 30 s by default), so
            // that a request is seldom sent on a connection being closed.
            .pool_idle_timeout(Duration::from_secs(20))
            .use_rustls_tls()
            .https_only(false);
        for pem in &self.extra_roots {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                SyncError::Config(Said::new(
                    format!("a CA certificate: {e}"),
                    format!("un certificat d'autorité : {e}"),
                ))
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder.build().map_err(|e| {
            SyncError::Config(Said::new(
                format!("cannot build the HTTPS client: {e}"),
                format!("le client HTTPS ne peut pas être construit : {e}"),
            ))
        })
    }
}

/// A client-side budget of requests to one partner per hour: a token bucket
/// holding at most an hour's worth, refilled continuously. A run that finds
/// it empty stops sending and leaves the rest for a later run.
#[derive(Debug, Clone)]
pub struct Budget {
    per_hour: u32,
    state: std::sync::Arc<std::sync::Mutex<(f64, std::time::Instant)>>,
}

impl Budget {
    /// `per_hour` requests an hour, of which `used` were already sent in the past hour.
    pub fn new(per_hour: u32, used: u64) -> Self {
        let left = f64::from(per_hour) - used as f64;
        Self {
            per_hour,
            state: std::sync::Arc::new(std::sync::Mutex::new((
                left.max(0.0),
                std::time::Instant::now(),
            ))),
        }
    }

    /// No limit worth counting.
    pub fn unlimited() -> Self {
        Self::new(u32::MAX, 0)
    }

    /// Requests allowed per hour.
    pub fn per_hour(&self) -> u32 {
        self.per_hour
    }

    /// Takes one request from the budget; `false` when it is spent.
    pub fn take(&self) -> bool {
        let mut state = self
            .state
            .lock()
            .expect("the budget lock is never poisoned");
        let now = std::time::Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() * f64::from(self.per_hour) / 3600.0;
        state.0 = (state.0 + refill).min(f64::from(self.per_hour));
        state.1 = now;
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }

    /// Requests left in the budget now.
    pub fn left(&self) -> f64 {
        let state = self
            .state
            .lock()
            .expect("the budget lock is never poisoned");
        let refill = state.1.elapsed().as_secs_f64() * f64::from(self.per_hour) / 3600.0;
        (state.0 + refill).min(f64::from(self.per_hour))
    }

    /// Takes one request, or fails with the reason.
    pub fn spend(&self) -> Result<(), SyncError> {
        if self.take() {
            Ok(())
        } else {
            Err(SyncError::BudgetSpent {
                per_hour: self.per_hour,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Budget, Tls};
    use std::time::Duration;

    #[test]
    fn a_client_is_built_once_per_timeout_and_again_after_new_authorities() {
        let mut tls = Tls::default();
        let shared = tls.clone();
        tls.client(Duration::from_secs(30)).unwrap();
        shared.client(Duration::from_secs(30)).unwrap();
        shared.client(Duration::from_secs(15)).unwrap();
        assert_eq!(
            tls.built.lock().unwrap().len(),
            2,
            "one a timeout, shared by clones"
        );
        // Made-up authorities are refused and change nothing; real ones
        // make the clients be built again, trusting them.
        assert!(tls.add_pem(b"not a certificate").is_err());
        assert_eq!(tls.built.lock().unwrap().len(), 2);
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        tls.add_pem(ca.pem().as_bytes()).unwrap();
        assert!(tls.built.lock().unwrap().is_empty());
        tls.client(Duration::from_secs(30)).unwrap();
        assert_eq!(tls.built.lock().unwrap().len(), 1);
        assert_eq!(
            shared.built.lock().unwrap().len(),
            2,
            "a clone made before keeps its own"
        );
    }

    /// What a failed call is told as, by [`super::transport`].
    fn told(error: reqwest::Error, waited: Duration) -> String {
        match super::transport(error, super::Side::Partner, waited).error {
            crate::SyncError::Unreachable { reason, .. } => reason.as_str().to_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_partner_never_connected_to_is_told_apart_from_one_that_did_not_answer() {
        let client = Tls::default().client(Duration::from_millis(1200)).unwrap();
        // An address that does not answer: the connection's own limit,
        // half the call's, is what runs out.
        let silent = relais_testkit::net::silent_address().await;
        let started = std::time::Instant::now();
        let e = client
            .get(format!("http://{}/api", silent.address))
            .send()
            .await
            .unwrap_err();
        let waited = started.elapsed();
        assert!(waited < Duration::from_millis(1100), "{waited:?}");
        let said = told(e, waited);
        assert!(said.starts_with("no connection made within 0."), "{said}");
        // A partner that takes the connection and never answers.
        let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = mute.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let (stream, _) = mute.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(stream);
        });
        let started = std::time::Instant::now();
        let e = client
            .get(format!("http://{address}/api"))
            .send()
            .await
            .unwrap_err();
        let said = told(e, started.elapsed());
        assert!(said.starts_with("timed out: no answer after 1."), "{said}");
        held.abort();
    }

    #[test]
    fn the_budget_counts_what_the_past_hour_used() {
        let b = Budget::new(3, 1);
        assert!(b.take());
        assert!(b.take());
        assert!(!b.take(), "3 per hour, 1 already used");
        assert!(b
            .spend()
            .unwrap_err()
            .to_string()
            .contains("3 requests per hour"));
        assert!(!Budget::new(2, 5).take());
        let fast = Budget::new(3_600_000, 3_600_000);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(fast.take(), "1,000 per second refills within milliseconds");
    }
}

/// What a partner's calls carry to say who calls: a secret, never printed.
#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A header of the partner's own (`X-API-Key: <key>`).
    Header(&'static str, String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(…)"),
            Credential::Header(name, _) => write!(f, "Header({name}: …)"),
        }
    }
}

/// A partner API and the credential each of its calls carries.
#[derive(Debug, Clone)]
pub struct SignedApi {
    api: PartnerApi,
    credential: Credential,
}

impl SignedApi {
    /// Calls to `api`, each carrying `credential`.
    pub fn new(api: PartnerApi, credential: Credential) -> Self {
        Self { api, credential }
    }

    /// Sends `method path` with the credential and, when given, a JSON
    /// body: the status and the answer.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), SyncError> {
        self.api
            .send(method, path, |req| {
                let req = match &self.credential {
                    Credential::Bearer(token) => req.bearer_auth(token),
                    Credential::Header(name, value) => req.header(*name, value),
                };
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await
    }
}

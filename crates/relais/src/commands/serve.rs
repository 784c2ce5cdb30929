//! `relais serve`: the API, the admin pages and the sync runtime on one address.

use super::sync::runtime_options;
use crate::config::Settings;
use anyhow::{Context, Result};
use relais_api::AppState;
use relais_store::SharedStore;
use std::io::Write;

/// Where this process's webhooks may go, as the settings say.
pub(super) fn webhook_reach(settings: &Settings) -> relais_api::reach::WebhookReach {
    if settings.webhook_private_addresses {
        relais_api::reach::WebhookReach::Anywhere
    } else {
        relais_api::reach::WebhookReach::PublicOnly
    }
}

/// Serves the store; with `replica_key`, also runs the demo's Inside Online
/// replica with that key against this server, catching up every 5 seconds.
pub(super) async fn serve(
    settings: &Settings,
    store: SharedStore,
    catalog: std::sync::Arc<relais_web::Catalog>,
    replica_key: Option<String>,
) -> Result<()> {
    let sealer = settings.secret_key.sealer()?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    // The runtime reads this base through the API this process serves.
    let own = if addr.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let runtime = relais_sync::runtime::Runtime::new(
        store.clone(),
        sealer.clone(),
        runtime_options(settings, &format!("http://{own}"))?,
    );
    let state = AppState::new(store.clone(), settings.rate_limit)
        .with_sealer(sealer)
        .with_webhook_reach(webhook_reach(settings))
        .with_retention(settings.retention())
        .with_public_url(settings.public_url.as_deref())
        .with_connectors(
            relais_sync::connectors::catalog(),
            std::sync::Arc::new(runtime.clone()),
        );
    let app = relais_api::layers::harden(
        axum::Router::new()
            .merge(relais_api::router(state.clone()))
            .merge(relais_web::router(catalog, state.clone()))
            .with_state(state.clone()),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sync = tokio::spawn(
        runtime.serve(std::time::Duration::from_secs(2), async move {
            let mut stopped = stopped;
            let _ = stopped.changed().await;
        }),
    );
    // Webhook endpoints get their events from this process too, one
    // process per endpoint at a time (leases).
    let public = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{own}"));
    let deliveries = {
        let mut stopped = stop.subscribe();
        tokio::spawn(
            relais_api::deliver::Deliverer::new(state.clone(), &public).serve(
                std::time::Duration::from_millis(500),
                async move {
                    let _ = stopped.changed().await;
                },
            ),
        )
    };
    let demo = replica_key.is_some();
    if let Some(key) = replica_key {
        let replica = relais_sandbox::replica::Replica::new(&format!("http://{own}"), &key);
        tokio::spawn(replica.run(std::time::Duration::from_secs(5)));
        out!("Inside Online replica: a copy of what its key reads, caught up every 5 s (its reads and lag: /integrations/inside-online)");
    }
    if demo && !settings.log_chosen {
        out!("the API's request lines are left out of this log (RELAIS_LOG=info shows them); each key's requests are on its page");
    }
    out!(
        "relais is serving {} ({}) at http://{addr}/",
        settings.database,
        store.backend()
    );
    std::io::stdout().flush()?;
    let limits = settings
        .connections
        .within_open_files(relais_api::listen::open_files_limit());
    if limits.max_connections < settings.connections.max_connections {
        tracing::info!(
            connections = limits.max_connections,
            "fewer client connections served at once than configured: the process may open too few files for more (raise its open-files limit, e.g. LimitNOFILE)"
        );
    }
    relais_api::listen::serve(listener, app, limits, shutdown_signal()).await;
    let _ = stop.send(true);
    let _ = sync.await;
    let _ = deliveries.await;
    // Every request answered is in the audit trail before the process ends.
    state.audit.flush().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

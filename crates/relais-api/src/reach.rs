//! Which addresses webhook requests may reach. An endpoint's URL is chosen
//! by whoever holds a key, and relais calls it from inside the customer's
//! network: unless told otherwise it refuses every address that is not
//! public — loopback, private ranges, link-local (cloud metadata services),
//! shared and reserved ranges, unique-local IPv6 — when an endpoint is
//! registered (a literal address, `localhost`) and again at every
//! connection (what the name resolves to then, so a name later pointed
//! inside the network is refused too).

use relais_core::webhooks::WebhookFault;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where webhook requests (echoes and deliveries) may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookReach {
    /// Public addresses only (the default).
    #[default]
    PublicOnly,
    /// Any address, private and loopback ones too (a sandbox, a test, a
    /// receiver inside the network on purpose).
    Anywhere,
}

impl WebhookReach {
    /// Checks an endpoint's URL against the reach: its host must not be a
    /// non-public literal address or `localhost`. (Names are checked when
    /// they are resolved, at each connection.)
    pub fn check(self, url: &str) -> Result<(), WebhookFault> {
        self.address(url).map(drop)
    }

    /// An endpoint's URL parsed, once it passes [`check`](Self::check):
    /// what the deliverer posts a pass's messages to.
    pub fn address(self, url: &str) -> Result<reqwest::Url, WebhookFault> {
        let parsed = reqwest::Url::parse(url).map_err(|e| WebhookFault::NotAnAddress {
            url: url.to_owned(),
            cause: e.to_string(),
        })?;
        if self == WebhookReach::Anywhere {
            return Ok(parsed);
        }
        let host = parsed.host_str().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let refused = match literal.parse::<IpAddr>() {
            Ok(ip) => !is_public(ip),
            Err(_) => {
                let name = host.trim_end_matches('.').to_ascii_lowercase();
                name.is_empty() || name == "localhost" || name.ends_with(".localhost")
            }
        };
        if refused {
            return Err(WebhookFault::NotPublic {
                url: url.to_owned(),
            });
        }
        Ok(parsed)
    }

    /// The addresses among those `host` resolved to (`found`) that may be
    /// connected to, or why none may: what is checked at every connection.
    pub fn allowed(
        self,
        host: &str,
        found: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, String> {
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| self == WebhookReach::Anywhere || is_public(a.ip()))
            .collect();
        match (allowed.is_empty(), self) {
            (false, _) => Ok(allowed),
            (true, WebhookReach::PublicOnly) => {
                Err(format!("{host} resolves to no public address"))
            }
            (true, WebhookReach::Anywhere) => Err(format!("{host} resolves to no address")),
        }
    }
}

/// Whether `ip` is an address of the internet at large.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        // 0.0.0.0/8, shared address space (100.64/10), IETF (192.0.0/24),
        // benchmarking (198.18/15), reserved (240/4).
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_reached_by_default() {
        let reach = WebhookReach::PublicOnly;
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "https://api.localhost/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.10/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let e = reach.check(url).unwrap_err();
            assert_eq!(e, WebhookFault::NotPublic { url: url.into() }, "{url}");
            assert!(e.to_string().contains("not a public address"), "{url}: {e}");
        }
        for url in [
            "https://hooks.example.com/relais",
            "http://93.184.216.34/",
            "http://[2606:4700::1111]/",
        ] {
            assert_eq!(reach.check(url), Ok(()), "{url}");
        }
        assert_eq!(WebhookReach::Anywhere.check("http://127.0.0.1/"), Ok(()));
        // What a name resolves to is kept only where the reach allows it.
        let found: Vec<SocketAddr> = ["10.0.0.7:443", "93.184.215.14:443"]
            .map(|a| a.parse().unwrap())
            .to_vec();
        assert_eq!(
            reach.allowed("hooks.example.com", found.clone()),
            Ok(found[1..].to_vec())
        );
        assert_eq!(
            WebhookReach::Anywhere.allowed("hooks.example.com", found.clone()),
            Ok(found.clone())
        );
        assert_eq!(
            reach.allowed("intranet.example.com", found[..1].to_vec()),
            Err("intranet.example.com resolves to no public address".to_owned())
        );
        // The address the deliverer posts to is the one checked, parsed
        // once; what does not parse is no address, whatever the reach.
        let parsed = reach
            .address("https://hooks.example.com/relais?x=1")
            .unwrap();
        assert_eq!(parsed.as_str(), "https://hooks.example.com/relais?x=1");
        for reach in [WebhookReach::PublicOnly, WebhookReach::Anywhere] {
            assert!(matches!(
                reach.address("hooks example"),
                Err(WebhookFault::NotAnAddress { .. })
            ));
        }
    }
}

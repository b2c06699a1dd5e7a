//! The SSRF guard of every outbound call (HTTP steps, `http()`, OAuth2 token URLs, webhook
//! deliveries): an address that is not on the public internet (loopback, private, link-local
//! with the cloud metadata address, CGNAT, unique local, multicast, unspecified, reserved) is
//! refused unless the `outbound.allow` setting lists it. The check runs on the addresses DNS
//! gives, in the resolver the client connects with (so the address checked is the address
//! connected to: no rebinding between check and connect), and on every redirect hop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// What `outbound.allow` lets through although it is not public.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    nets: Vec<IpNet>,
    /// Lower-case host names, with the ports they are allowed on (empty: any).
    hosts: Vec<(String, Option<u16>)>,
}

impl AllowList {
    /// Reads entries: CIDRs (`10.0.0.0/8`), addresses (`127.0.0.1`, `::1`), `host` or
    /// `host:port`.
    pub fn parse(entries: &[String]) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        for raw in entries {
            let e = raw.trim();
            if e.is_empty() {
                continue;
            }
            if let Ok(net) = e.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = e.trim_matches(['[', ']']).parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else {
                let (host, port) = match e.rsplit_once(':') {
                    Some((h, p)) => (
                        h,
                        Some(
                            p.parse::<u16>()
                                .map_err(|_| format!("`{e}`: the port is not a number"))?,
                        ),
                    ),
                    None => (e, None),
                };
                // `127.0.0.1:8090` would read as a host name that no URL ever has: it
                // would allow nothing, silently.
                if host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
                    return Err(format!(
                        "`{e}`: an address is allowed on every port; list `{host}` alone"
                    ));
                }
                let ok = !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
                if !ok {
                    return Err(format!(
                        "`{e}` is not a CIDR, an address, a host or host:port"
                    ));
                }
                list.hosts.push((host.to_ascii_lowercase(), port));
            }
        }
        Ok(list)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Whether the host is listed, on any port.
    fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|(h, _)| h.eq_ignore_ascii_case(host))
    }

    /// A listed host on a port it is not listed for.
    fn wrong_port(&self, host: &str, port: u16) -> Option<u16> {
        let entries: Vec<Option<u16>> = self
            .hosts
            .iter()
            .filter(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, p)| *p)
            .collect();
        if entries.is_empty() || entries.iter().any(|p| p.is_none_or(|p| p == port)) {
            None
        } else {
            entries.into_iter().flatten().next()
        }
    }
}

/// Why an address is not public (`"a loopback address"`), or `None` for a public one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("a unique local address")
            } else if seg[0] & 0xffc0 == 0xfec0 {
                Some("a site-local address")
            } else if seg[0] == 0x64 && seg[1] == 0xff9b {
                // NAT64 (64:ff9b::/96): judge the IPv4 address inside.
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                classify_v4(v4)
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("a documentation address")
            } else if seg[0] == 0x2002 {
                // 6to4 (2002::/16): the IPv4 address is in segments 1 and 2.
                let v4 = Ipv4Addr::new(
                    (seg[1] >> 8) as u8,
                    seg[1] as u8,
                    (seg[2] >> 8) as u8,
                    seg[2] as u8,
                );
                classify_v4(v4)
            } else if v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0) {
                Some("an unspecified address")
            } else {
                None
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        // 169.254.0.0/16, with the cloud metadata service at 169.254.169.254.
        Some("a link-local address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("a carrier-grade NAT address")
    } else if o[0] == 0 {
        Some("an unspecified address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_broadcast() || o[0] >= 240 || (o[0] == 192 && o[1] == 0 && o[2] == 0) {
        Some("a reserved address")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("a benchmarking address")
    } else if (o[0] == 192 && o[1] == 0 && o[2] == 2)
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
    {
        Some("a documentation address")
    } else {
        None
    }
}

/// The guard: an allow list, checked on URLs (literal addresses, ports) and on resolved
/// addresses.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: Arc<AllowList>,
}

impl Guard {
    pub fn new(allow: AllowList) -> Guard {
        Guard {
            allow: Arc::new(allow),
        }
    }

    /// What kind of address this is, when it may not be reached.
    fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow.allows_ip(ip) {
            return None;
        }
        classify(ip)
    }

    /// Why this address may not be reached, or `None`.
    pub fn refuse_ip(&self, ip: IpAddr) -> Option<String> {
        self.refusal(ip)
            .map(|why| format!("{ip} is {why}; allow it with outbound.allow"))
    }

    /// Checks what a URL alone shows: the scheme, a literal address, a host allowed only on
    /// other ports. Host names are checked again when they resolve.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{}: only http and https are allowed", url.scheme()));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.refuse_ip(IpAddr::V4(ip)).map_or(Ok(()), Err),
            Some(url::Host::Ipv6(ip)) => self.refuse_ip(IpAddr::V6(ip)).map_or(Ok(()), Err),
            Some(url::Host::Domain(host)) => match self.allow.wrong_port(host, port) {
                Some(allowed) => Err(format!(
                    "{host} is allowed by outbound.allow on port {allowed} only, not {port}"
                )),
                None => Ok(()),
            },
            None => Err("the URL has no host".to_owned()),
        }
    }

    /// The addresses of a resolved name that may be reached; an error naming the first one
    /// refused when none may.
    pub fn filter(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, String> {
        if self.allow.allows_host(host) {
            return Ok(addrs);
        }
        let mut refused = None;
        let ok: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| match self.refusal(a.ip()) {
                Some(why) => {
                    refused.get_or_insert((a.ip(), why));
                    false
                }
                None => true,
            })
            .collect();
        match (ok.is_empty(), refused) {
            (true, Some((ip, why))) => Err(format!(
                "{host} resolves to {ip}, {why}; allow it with outbound.allow"
            )),
            (true, None) => Err(format!("{host} did not resolve to any address")),
            (false, _) => Ok(ok),
        }
    }

    /// Checks a URL that will be called later (a subscription's): what the URL shows, then
    /// what its host resolves to now. A host that does not resolve (yet) passes: it is checked
    /// again on every call.
    pub async fn check_reachable(&self, url: &reqwest::Url) -> Result<(), String> {
        self.check_url(url)?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let lookup = tokio::net::lookup_host((host, 0));
        match tokio::time::timeout(std::time::Duration::from_secs(3), lookup).await {
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.is_empty() {
                    return Ok(());
                }
                self.filter(host, addrs).map(|_| ())
            }
            _ => Ok(()),
        }
    }
}

/// The DNS resolver outbound clients connect with: the system resolver, then the guard.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Guard,
}

impl GuardedResolver {
    pub fn new(guard: Guard) -> GuardedResolver {
        GuardedResolver { guard }
    }
}

/// The error a refused resolution gives (its text reaches the step's message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let ok = guard.filter(&host, addrs).map_err(|why| {
                Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>
            })?;
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_that_are_not_public_are_named() {
        for (a, why) in [
            ("127.0.0.1", "a loopback address"),
            ("127.255.0.9", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.169.254", "a link-local address"),
            ("100.64.0.1", "a carrier-grade NAT address"),
            ("100.127.255.255", "a carrier-grade NAT address"),
            ("0.0.0.0", "an unspecified address"),
            ("224.0.0.1", "a multicast address"),
            ("255.255.255.255", "a reserved address"),
            ("240.0.0.1", "a reserved address"),
            ("::1", "a loopback address"),
            ("::", "an unspecified address"),
            ("fe80::1", "a link-local address"),
            ("fd00::1", "a unique local address"),
            ("fc12::1", "a unique local address"),
            ("ff02::1", "a multicast address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:169.254.169.254", "a link-local address"),
            ("64:ff9b::a00:1", "a private address"),
            ("2002:c0a8:0101::1", "a private address"),
        ] {
            assert_eq!(classify(ip(a)), Some(why), "{a}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(classify(ip(a)), None, "{a}");
        }
    }

    #[test]
    fn the_allow_list_takes_cidrs_addresses_and_hosts() {
        let list = AllowList::parse(&[
            "127.0.0.0/8".into(),
            "::1".into(),
            "[fd00::5]".into(),
            "crm.internal:8443".into(),
            "Ledger.local".into(),
        ])
        .unwrap();
        let g = Guard::new(list);
        assert_eq!(g.refuse_ip(ip("127.0.0.1")), None);
        assert_eq!(g.refuse_ip(ip("::1")), None);
        assert_eq!(g.refuse_ip(ip("fd00::5")), None);
        assert_eq!(
            g.refuse_ip(ip("10.0.0.1")).as_deref(),
            Some("10.0.0.1 is a private address; allow it with outbound.allow")
        );
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(g.check_url(&url("https://crm.internal:8443/x")).is_ok());
        assert!(g
            .check_url(&url("https://crm.internal/x"))
            .unwrap_err()
            .contains("port 8443 only"));
        assert!(g.check_url(&url("http://ledger.local:1234/")).is_ok());
        assert!(g.check_url(&url("http://169.254.169.254/latest")).is_err());
        assert!(g.check_url(&url("http://[::ffff:10.0.0.1]/")).is_err());
        assert!(g.check_url(&url("ftp://example.com/")).is_err());
        for with_port in ["127.0.0.1:8090", "[::1]:8090"] {
            let err = AllowList::parse(&[with_port.into()]).unwrap_err();
            assert!(err.contains("list `"), "{with_port}: {err}");
        }
        // A listed host passes whatever it resolves to; others only with public addresses.
        let private = vec![SocketAddr::new(ip("10.0.0.7"), 0)];
        assert!(g.filter("ledger.local", private.clone()).is_ok());
        assert_eq!(
            g.filter("evil.example", private).unwrap_err(),
            "evil.example resolves to 10.0.0.7, a private address; allow it with outbound.allow"
        );
        let mixed = vec![
            SocketAddr::new(ip("10.0.0.7"), 0),
            SocketAddr::new(ip("93.184.215.14"), 0),
        ];
        assert_eq!(
            g.filter("mixed.example", mixed).unwrap(),
            vec![SocketAddr::new(ip("93.184.215.14"), 0)]
        );
        assert!(AllowList::parse(&["host:port".into()]).is_err());
        assert!(AllowList::parse(&["bad host".into()]).is_err());
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let g = Guard::default();
        assert!(g.refuse_ip(ip("127.0.0.1")).is_some());
        assert!(g.refuse_ip(ip("93.184.215.14")).is_none());
    }
}

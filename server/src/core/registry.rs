//! What the hot path needs in memory: published triggers with their compiled flows and
//! signing secrets, the digests of live API keys, and the live OAuth clients. Rebuilt from
//! the database at start and on every change.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use flowgate_api::{IntegrationDoc, TriggerAuth};
use flows_runtime::CompiledFlow;

use crate::core::ratelimit::Limiter;
use crate::core::signature::Scheme;

/// Which credentials a trigger accepts.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// No credential is needed.
    pub open: bool,
    pub keys: HashSet<String>,
    pub clients: HashSet<String>,
    /// A scope an access token must carry.
    pub scope: Option<String>,
}

/// How a trigger's signature is checked.
#[derive(Clone)]
pub struct Signing {
    pub scheme: Scheme,
    pub tolerance_s: i64,
    /// The stored secret's name.
    pub secret_name: String,
    /// Its value; `None` when it is not stored (every call is then refused).
    pub secret: Option<Arc<str>>,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("scheme", &self.scheme)
            .field("secret_name", &self.secret_name)
            .finish_non_exhaustive()
    }
}

/// One published trigger, ready to serve.
#[derive(Clone)]
pub struct Route {
    pub integration_id: String,
    pub slug: String,
    pub version: i64,
    pub enabled: bool,
    pub doc: Arc<IntegrationDoc>,
    pub flow: CompiledFlow,
    /// Upper-cased methods.
    pub methods: Vec<String>,
    pub access: Access,
    pub signing: Option<Signing>,
    /// The trigger's own rate limit (shared by clones of the route).
    pub limiter: Option<Arc<Limiter>>,
    /// Its call and run counters (shared by clones of the route).
    pub metrics: Arc<crate::telemetry::metrics::TriggerMetrics>,
}

impl Route {
    pub fn new(
        integration_id: String,
        slug: String,
        version: i64,
        enabled: bool,
        doc: IntegrationDoc,
        flow: CompiledFlow,
    ) -> Route {
        let methods = doc
            .trigger
            .methods
            .iter()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        let auth = &doc.trigger.auth;
        let access = Access {
            open: matches!(auth, TriggerAuth::None)
                || matches!(auth, TriggerAuth::Signature { keys, clients, .. } if keys.is_empty() && clients.is_empty()),
            keys: auth.keys().iter().cloned().collect(),
            clients: auth.clients().iter().cloned().collect(),
            scope: match auth {
                TriggerAuth::Oauth2 { scope, .. } => scope.clone(),
                _ => None,
            },
        };
        let signing = Scheme::of(auth).map(|(scheme, tolerance_s)| Signing {
            scheme,
            tolerance_s,
            secret_name: auth.signing_secret().unwrap_or_default().to_owned(),
            secret: None,
        });
        let limiter = doc
            .trigger
            .rate_limit
            .as_ref()
            .and_then(Limiter::new)
            .map(Arc::new);
        Route {
            metrics: Arc::new(crate::telemetry::metrics::TriggerMetrics::new(&slug)),
            integration_id,
            slug,
            version,
            enabled,
            doc: Arc::new(doc),
            flow,
            methods,
            access,
            signing,
            limiter,
        }
    }

    /// The stored secret the trigger's signature is checked with, when it has one.
    pub fn with_signing_secret(mut self, value: Option<String>) -> Route {
        if let Some(s) = &mut self.signing {
            s.secret = value.map(Arc::from);
        }
        self
    }
}

/// A live API key's secret (or, after a rotation, its previous one).
#[derive(Clone, Debug)]
pub struct KeyEntry {
    pub id: String,
    /// Recorded with each call (`request.caller.label`).
    pub label: Arc<str>,
    pub digest: [u8; 32],
    /// µs; from then the key is refused.
    pub expires_at: Option<i64>,
    /// µs; a previous secret is accepted until then.
    pub valid_until: Option<i64>,
    pub limiter: Option<Arc<Limiter>>,
}

/// A live OAuth client.
#[derive(Clone, Debug)]
pub struct ClientEntry {
    pub id: String,
    /// Recorded with each call (`request.caller.label`).
    pub label: Arc<str>,
    pub digest: [u8; 32],
    /// The secret before the last rotation, and until when (µs) it is accepted.
    pub previous: Option<([u8; 32], i64)>,
    pub scopes: Vec<String>,
    pub limiter: Option<Arc<Limiter>>,
}

#[derive(Default)]
pub struct Registry {
    /// Trigger path (without `/t/`) -> route.
    routes: RwLock<Arc<HashMap<String, Arc<Route>>>>,
    /// Counts changes of `routes`, so that a reload from the database that read before a
    /// local change cannot put back what the change replaced (see [`Registry::set_routes_if`]).
    routes_generation: std::sync::atomic::AtomicU64,
    /// Key digest -> key.
    keys: RwLock<Arc<HashMap<[u8; 32], KeyEntry>>>,
    /// Compiled flows of older versions, for queued executions made before a change.
    versions: Mutex<HashMap<(String, i64), CompiledFlow>>,
    /// Client id -> live OAuth client.
    clients: RwLock<Arc<HashMap<String, ClientEntry>>>,
    /// Keys used since the last flush of `last_used_at`.
    used: Mutex<HashSet<String>>,
    /// OAuth clients used since the last flush.
    used_clients: Mutex<HashSet<String>>,
}

impl Registry {
    pub fn route(&self, path: &str) -> Option<Arc<Route>> {
        let routes = match self.routes.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        routes.get(path).cloned()
    }

    pub fn route_by_integration(&self, integration_id: &str) -> Option<Arc<Route>> {
        let routes = match self.routes.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        routes
            .values()
            .find(|r| r.integration_id == integration_id)
            .cloned()
    }

    pub fn set_routes(&self, routes: Vec<Route>) {
        let map = routes
            .into_iter()
            .map(|r| (r.doc.trigger.path.clone(), Arc::new(r)))
            .collect();
        let mut guard = match self.routes.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard = Arc::new(map);
        self.bump();
    }

    /// The routes' change counter, to pass to [`Registry::set_routes_if`].
    pub fn routes_generation(&self) -> u64 {
        self.routes_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Replaces every route, unless the routes changed since `seen` (then `false`: the
    /// caller read the database before that change and reads again).
    pub fn set_routes_if(&self, routes: Vec<Route>, seen: u64) -> bool {
        let mut guard = match self.routes.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if self.routes_generation() != seen {
            return false;
        }
        *guard = Arc::new(
            routes
                .into_iter()
                .map(|r| (r.doc.trigger.path.clone(), Arc::new(r)))
                .collect(),
        );
        self.bump();
        true
    }

    fn bump(&self) {
        self.routes_generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Replaces (or removes, with `None`) the route of one integration.
    pub fn put_route(&self, integration_id: &str, route: Option<Route>) {
        let mut guard = match self.routes.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut map: HashMap<String, Arc<Route>> = guard
            .iter()
            .filter(|(_, r)| r.integration_id != integration_id)
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        if let Some(r) = route {
            map.insert(r.doc.trigger.path.clone(), Arc::new(r));
        }
        *guard = Arc::new(map);
        self.bump();
    }

    /// Gives the routes whose signatures are checked with the stored secret `name` its new
    /// value; returns how many.
    pub fn renew_signing_secret(&self, name: &str, value: &str) -> usize {
        let mut guard = match self.routes.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut renewed = 0;
        let map: HashMap<String, Arc<Route>> = guard
            .iter()
            .map(|(k, r)| {
                let uses = r.signing.as_ref().is_some_and(|s| s.secret_name == name);
                if !uses {
                    return (k.clone(), Arc::clone(r));
                }
                renewed += 1;
                let route = (**r).clone().with_signing_secret(Some(value.to_owned()));
                (k.clone(), Arc::new(route))
            })
            .collect();
        *guard = Arc::new(map);
        self.bump();
        renewed
    }

    pub fn set_keys(&self, keys: Vec<KeyEntry>) {
        let map = keys.into_iter().map(|k| (k.digest, k)).collect();
        match self.keys.write() {
            Ok(mut g) => *g = Arc::new(map),
            Err(p) => *p.into_inner() = Arc::new(map),
        }
    }

    pub fn key_by_digest(&self, digest: &[u8; 32]) -> Option<KeyEntry> {
        let keys = match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        keys.get(digest).cloned()
    }

    pub fn set_clients(&self, clients: Vec<ClientEntry>) {
        let map = clients.into_iter().map(|c| (c.id.clone(), c)).collect();
        match self.clients.write() {
            Ok(mut g) => *g = Arc::new(map),
            Err(p) => *p.into_inner() = Arc::new(map),
        }
    }

    pub fn client(&self, id: &str) -> Option<ClientEntry> {
        let clients = match self.clients.read() {
            Ok(c) => Arc::clone(&c),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        clients.get(id).cloned()
    }

    pub fn cached_version(&self, integration_id: &str, version: i64) -> Option<CompiledFlow> {
        if let Some(r) = self.route_by_integration(integration_id) {
            if r.version == version {
                return Some(r.flow.clone());
            }
        }
        let guard = match self.versions.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.get(&(integration_id.to_owned(), version)).cloned()
    }

    pub fn cache_version(&self, integration_id: &str, version: i64, flow: CompiledFlow) {
        let mut guard = match self.versions.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.len() > 1000 {
            guard.clear();
        }
        guard.insert((integration_id.to_owned(), version), flow);
    }

    pub fn mark_used(&self, key_id: &str) {
        let mut guard = match self.used.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !guard.contains(key_id) {
            guard.insert(key_id.to_owned());
        }
    }

    pub fn take_used(&self) -> Vec<String> {
        let mut guard = match self.used.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.drain().collect()
    }

    pub fn mark_client_used(&self, client_id: &str) {
        let mut guard = match self.used_clients.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !guard.contains(client_id) {
            guard.insert(client_id.to_owned());
        }
    }

    pub fn take_used_clients(&self) -> Vec<String> {
        let mut guard = match self.used_clients.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.drain().collect()
    }
}

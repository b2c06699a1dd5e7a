//! What the hot path needs in memory: published triggers with their compiled flows, and the
//! digests of live API keys. Rebuilt from the database at start and on every change.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use flowgate_api::{IntegrationDoc, TriggerAuth};
use flows_runtime::CompiledFlow;

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
    /// Key ids allowed, or `None` for an open trigger.
    pub keys: Option<HashSet<String>>,
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
        let keys = match &doc.trigger.auth {
            TriggerAuth::ApiKey { keys } => Some(keys.iter().cloned().collect()),
            TriggerAuth::None => None,
        };
        Route {
            integration_id,
            slug,
            version,
            enabled,
            doc: Arc::new(doc),
            flow,
            methods,
            keys,
        }
    }
}

#[derive(Clone, Debug)]
pub struct KeyEntry {
    pub id: String,
    pub digest: [u8; 32],
}

#[derive(Default)]
pub struct Registry {
    /// Trigger path (without `/t/`) -> route.
    routes: RwLock<Arc<HashMap<String, Arc<Route>>>>,
    /// Key digest -> key.
    keys: RwLock<Arc<HashMap<[u8; 32], KeyEntry>>>,
    /// Compiled flows of older versions, for queued executions made before a change.
    versions: Mutex<HashMap<(String, i64), CompiledFlow>>,
    /// Keys used since the last flush of `last_used_at`.
    used: Mutex<HashSet<String>>,
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
        match self.routes.write() {
            Ok(mut g) => *g = Arc::new(map),
            Err(p) => *p.into_inner() = Arc::new(map),
        }
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
}

//! What every outbound HTTP client shares: how it is built (connect timeout, idle pool,
//! user agent), reading a bounded body, and describing a transport error.

use std::sync::Arc;
use std::time::Duration;

use super::guard::{Guard, GuardedResolver, Refused};

/// A client builder with Flowgate's defaults, resolving through the SSRF guard; callers add
/// their redirect policy (built by the guard when they follow redirects) and timeouts.
pub fn builder(user_agent: &'static str, guard: &Guard) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(user_agent)
        .dns_resolver(Arc::new(GuardedResolver::new(guard.clone())))
}

/// The guard's reason when it refused the call (an address, a redirect): such a call is not
/// worth retrying.
pub fn refused(e: &reqwest::Error) -> Option<String> {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    loop {
        if let Some(r) = cur.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        match cur.source() {
            Some(next) => cur = next,
            None => break,
        }
    }
    e.is_redirect().then(|| root_cause(e))
}

/// A transport error in a few words, with its root cause.
pub fn describe(e: &reqwest::Error) -> String {
    if let Some(why) = refused(e) {
        why
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("could not connect ({})", root_cause(e))
    } else {
        root_cause(e)
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The body of an answer, refused past `max` bytes (by `Content-Length` or as it streams).
pub async fn read_limited(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("the response is larger than {max} bytes (max_response_bytes)");
    if resp
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > max))
    {
        return Err(too_large());
    }
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > max {
                    return Err(too_large());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(describe(&e)),
        }
    }
}

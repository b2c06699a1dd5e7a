//! The web UI's files (`[ui] dir`), served for every GET/HEAD path that is not the API, a
//! consumer endpoint or the health check. Paths without a file extension that name no file
//! get `index.html`, so the UI's own routes (`/integrations/foo`) survive a reload.

use std::path::{Path, PathBuf};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;

/// Where the UI's files are (absolute).
pub struct UiFiles {
    root: PathBuf,
}

impl UiFiles {
    /// A relative directory is taken from the working directory.
    pub fn new(dir: &Path) -> UiFiles {
        let root = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        UiFiles { root }
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Flowgate</title></head><body>\n<h1>Flowgate</h1>\n<p>The web UI is not built. Run \
<code>scripts/build-ui</code> (it writes <code>frontend/dist</code>), or point the setting \
<code>[ui] dir</code> (<code>FLOWGATE_UI__DIR</code>) to where it is.</p>\n<p>The admin API \
answers under <code>/api/v1</code>.</p>\n</body></html>\n";

/// Paths that never serve the UI.
fn reserved(path: &str) -> bool {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    under("/api") || under("/t") || path == "/healthz"
}

/// The request path as safe relative segments; `None` for anything that could leave the
/// directory or name a hidden file (`..`, `.x`, backslashes, NUL; on Windows drive letters),
/// encoded or not.
fn segments(raw: &str) -> Option<Vec<String>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let mut out = Vec::new();
    for seg in decoded.split('/').filter(|s| !s.is_empty()) {
        if seg.starts_with('.')
            || seg.contains(['\\', '\0'])
            || (cfg!(windows) && seg.contains(':'))
        {
            return None;
        }
        out.push(seg.to_owned());
    }
    Some(out)
}

fn extension(name: &str) -> Option<&str> {
    name.rsplit_once('.')
        .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
        .map(|(_, ext)| ext)
}

/// `name.<16 lowercase hex>.<ext>`: the content hash makes the file immutable.
pub fn is_hashed(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [stem, .., hash, ext] => {
            !stem.is_empty()
                && !ext.is_empty()
                && hash.len() == 16
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        _ => false,
    }
}

fn content_type(name: &str) -> &'static str {
    match extension(name).map(str::to_ascii_lowercase).as_deref() {
        Some("wasm") => "application/wasm",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

/// A file read from under the root, with a validator for revalidation.
struct Found {
    bytes: Vec<u8>,
    etag: String,
}

/// Reads `root/rel` if it is a regular file that really lies under the root (a symlink
/// leading out of it does not count).
fn read_under(root: &Path, rel: &[String]) -> Option<Found> {
    let mut path = root.to_path_buf();
    path.extend(rel);
    let canonical_root = root.canonicalize().ok()?;
    let canonical = path.canonicalize().ok()?;
    if !canonical.starts_with(&canonical_root) {
        return None;
    }
    let meta = std::fs::metadata(&canonical).ok()?;
    if !meta.is_file() {
        return None;
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let bytes = std::fs::read(&canonical).ok()?;
    Some(Found {
        etag: format!("W/\"{:x}-{modified:x}\"", bytes.len()),
        bytes,
    })
}

fn file_response(req: &HttpRequest, name: &str, found: Found) -> HttpResponse {
    let cache = if is_hashed(name) { IMMUTABLE } else { NO_CACHE };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == found.etag));
    let mut resp = if fresh {
        HttpResponse::build(StatusCode::NOT_MODIFIED)
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let Ok(v) = HeaderValue::from_str(&found.etag) {
        resp.insert_header((header::ETAG, v));
    }
    if fresh {
        return resp.finish();
    }
    resp.insert_header((header::CONTENT_TYPE, content_type(name)))
        .body(found.bytes)
}

/// The default service of the app: the UI, or the JSON 404 for unknown API paths.
pub async fn serve(req: HttpRequest, ui: web::Data<UiFiles>) -> Result<HttpResponse, AppError> {
    let path = req.path();
    if reserved(path) || !(req.method() == Method::GET || req.method() == Method::HEAD) {
        return Err(AppError::NotFound("route"));
    }
    let rel = segments(path).ok_or(AppError::NotFound("file"))?;
    let name = rel.last().cloned().unwrap_or_default();
    let has_extension = extension(&name).is_some();
    let root = ui.root.clone();
    let wanted = rel.clone();
    let (file, index) = web::block(move || {
        let file = if wanted.is_empty() {
            None
        } else {
            read_under(&root, &wanted)
        };
        // The index only when the path names no file and looks like a UI route.
        let index = if file.is_none() && !has_extension {
            read_under(&root, &["index.html".to_owned()])
        } else {
            None
        };
        (file, index)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("reading a UI file: {e}")))?;
    if let Some(found) = file {
        return Ok(file_response(&req, &name, found));
    }
    if has_extension {
        return Err(AppError::NotFound("file"));
    }
    Ok(match index {
        Some(found) => file_response(&req, "index.html", found),
        None => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, NO_CACHE))
            .body(NOT_BUILT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        assert!(is_hashed("flowgate-ui.0123456789abcdef.js"));
        assert!(is_hashed("flowgate-ui_bg.0123456789abcdef.wasm"));
        assert!(is_hashed("a.b.0123456789abcdef.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("app.0123456789ABCDEF.js"));
        assert!(!is_hashed("app.0123456789abcde.js"));
        assert!(!is_hashed(".0123456789abcdef.js"));
        assert!(!is_hashed("0123456789abcdef.js"));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for p in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/a/%2E%2E%2Fb",
            "/a/..%2f..%2fsecret",
            "/.git/config",
            "/a\\b",
            "/a%5cb",
            "/%00x",
            "/%ff",
        ] {
            assert!(segments(p).is_none(), "{p}");
        }
        assert_eq!(
            segments("/pkg//app.js").unwrap(),
            vec!["pkg".to_owned(), "app.js".to_owned()]
        );
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn reserved_prefixes() {
        for p in ["/api", "/api/", "/api/v2/x", "/t", "/t/x", "/healthz"] {
            assert!(reserved(p), "{p}");
        }
        for p in ["/", "/apix", "/tools", "/healthz2", "/integrations/foo"] {
            assert!(!reserved(p), "{p}");
        }
    }

    #[test]
    fn types_and_extensions() {
        assert_eq!(content_type("a.0123456789abcdef.wasm"), "application/wasm");
        assert_eq!(content_type("x.SVG"), "image/svg+xml");
        assert_eq!(extension("integrations"), None);
        assert_eq!(extension("v1.2"), Some("2"));
    }
}

//! `bench-reference`: the JSON work of Flowgate's sync-map benchmark with nothing else around it.
//!
//! `POST /t/bench/sync-map` with an `X-API-Key` header equal to the configured key and the body
//! `{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","email":"jane.doe@example.com",...}`
//! answers `{"ok":true,"entity":"USER:IDNUMBER1234","event":"update","email_domain":"example.com"}`.
//!
//! The body is parsed into a generic `serde_json::Value` (as Flowgate must, not knowing the shape
//! in advance), the four fields are picked out, and the answer is serialised. No database, no
//! flow engine, no logging: this is the ceiling Flowgate's request-response path is measured
//! against.
//!
//! Settings (argument wins over environment):
//! - `--listen ADDR` / `BENCH_REF_LISTEN` (default `127.0.0.1:8090`)
//! - `--api-key KEY` / `BENCH_REF_API_KEY` (required)
//!
//! HTTP workers: one per core (actix-web's default).

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde::Serialize;
use serde_json::Value;

const DEFAULT_LISTEN: &str = "127.0.0.1:8090";
/// The largest body accepted, as Flowgate's default trigger `max_body_bytes`.
const MAX_BODY_BYTES: usize = 1024 * 1024;

const USAGE: &str = "usage: bench-reference [--listen ADDR] --api-key KEY\n\
    environment: BENCH_REF_LISTEN (default 127.0.0.1:8090), BENCH_REF_API_KEY";

struct Settings {
    listen: String,
    api_key: String,
}

fn settings() -> Result<Settings, String> {
    let mut listen = std::env::var("BENCH_REF_LISTEN").ok();
    let mut api_key = std::env::var("BENCH_REF_API_KEY").ok();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "--listen" => &mut listen,
            "--api-key" => &mut api_key,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        };
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| format!("`{name}` needs a value\n{USAGE}"))?,
        };
        *slot = Some(value);
    }
    let listen = listen
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    if listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(format!(
            "listen address `{listen}` is not like 127.0.0.1:8090"
        ));
    }
    let api_key = api_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("an API key is required\n{USAGE}"))?;
    Ok(Settings { listen, api_key })
}

struct AppState {
    api_key: Vec<u8>,
}

#[derive(Serialize)]
struct SyncMapOut {
    ok: bool,
    entity: String,
    event: String,
    email_domain: String,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    error: &'a str,
    message: String,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorOut {
        error: code,
        message: message.into(),
    })
}

fn string_field<'v>(body: &'v Value, name: &str) -> Result<&'v str, Box<HttpResponse>> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("`{name}` must be a string"),
        ))
    })
}

fn sync_map(body: &[u8]) -> Result<SyncMapOut, Box<HttpResponse>> {
    let body: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("body is not JSON: {e}"),
        ))
    })?;
    let id = string_field(&body, "id")?;
    let entity_type = string_field(&body, "entityType")?;
    let event = string_field(&body, "eventType")?;
    let email = string_field(&body, "email")?;
    let email_domain = email.split_once('@').map(|(_, d)| d).unwrap_or("");
    Ok(SyncMapOut {
        ok: true,
        entity: format!("{entity_type}:{id}"),
        event: event.to_lowercase(),
        email_domain: email_domain.to_owned(),
    })
}

async fn sync_map_handler(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let key_ok = req
        .headers()
        .get("x-api-key")
        .is_some_and(|v| v.as_bytes() == state.api_key.as_slice());
    if !key_ok {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong X-API-Key",
        );
    }
    match sync_map(&body) {
        Ok(out) => HttpResponse::Ok().json(out),
        Err(resp) => *resp,
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let settings = match settings() {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let state = web::Data::new(AppState {
        api_key: settings.api_key.into_bytes(),
    });
    eprintln!("bench-reference listening on http://{}", settings.listen);
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route("/t/bench/sync-map", web::post().to(sync_map_handler))
            .route("/healthz", web::get().to(healthz))
    })
    .bind(settings.listen.as_str())?
    .run()
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_sample() {
        let body = br#"{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z","email":"jane.doe@example.com"}"#;
        let out = sync_map(body).expect("maps");
        assert_eq!(
            serde_json::to_string(&out).expect("serialises"),
            r#"{"ok":true,"entity":"USER:IDNUMBER1234","event":"update","email_domain":"example.com"}"#
        );
    }

    #[test]
    fn rejects_bad_bodies() {
        assert!(sync_map(b"not json").is_err());
        assert!(
            sync_map(br#"{"id":1,"entityType":"USER","eventType":"X","email":"a@b"}"#).is_err()
        );
    }
}

//! `/api/v1/tables`: the data store's tables and their records (flows write and read them
//! with `store` and `lookup` steps).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use flowgate_api::tables::{RecordOut, TableIn, TableOut, TablePatch};
use flowgate_api::{ErrorBody, Page};
use serde::Deserialize;

use crate::domain::tables::{self, RecordsQuery};
use crate::domain::users::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_tables,
    create_table,
    get_table,
    update_table,
    delete_table,
    list_records,
    export_records,
    get_record,
    delete_record
))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Tables {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tables", web::get().to(list_tables))
        .route("/tables", web::post().to(create_table))
        .route("/tables/{name}", web::get().to(get_table))
        .route("/tables/{name}", web::patch().to(update_table))
        .route("/tables/{name}", web::delete().to(delete_table))
        .route("/tables/{name}/records", web::get().to(list_records))
        .route("/tables/{name}/export", web::get().to(export_records))
        .route("/tables/{name}/records/{id}", web::get().to(get_record))
        .route(
            "/tables/{name}/records/{id}",
            web::delete().to(delete_record),
        );
}

/// List the tables
///
/// By name, with their number of records.
#[utoipa::path(
    get,
    path = "/api/v1/tables",
    tag = "tables",
    responses(
        (status = 200, description = "The tables", body = Page<TableOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list_tables(state: State, _user: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page {
        items: tables::list(&state).await?,
        next_cursor: None,
    }))
}

/// Create a table
///
/// Its name, an optional key field (unique; for upserts and look-ups by key) and the fields
/// records can be found by.
#[utoipa::path(
    post,
    path = "/api/v1/tables",
    tag = "tables",
    request_body = TableIn,
    responses(
        (status = 201, description = "Created", body = TableOut),
        (status = 400, description = "A bad name, key field or indexed field (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 409, description = "A table with this name exists, or there are 100 tables \
         (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn create_table(
    state: State,
    user: CurrentUser,
    body: web::Json<TableIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Created().json(tables::create(&state, body.into_inner()).await?))
}

/// Get a table
#[utoipa::path(
    get,
    path = "/api/v1/tables/{name}",
    tag = "tables",
    params(("name" = String, Path, description = "The table's name")),
    responses(
        (status = 200, description = "The table", body = TableOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No table with this name (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn get_table(
    state: State,
    _user: CurrentUser,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tables::get(&state, &name).await?))
}

/// Change a table
///
/// Its description (the name, key and indexed fields stay as created).
#[utoipa::path(
    patch,
    path = "/api/v1/tables/{name}",
    tag = "tables",
    params(("name" = String, Path, description = "The table's name")),
    request_body = TablePatch,
    responses(
        (status = 200, description = "The table as it is now", body = TableOut),
        (status = 400, description = "A bad description (`bad_request`)", body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No table with this name (`not_found`)", body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn update_table(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
    body: web::Json<TablePatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(tables::update(&state, &name, body.into_inner()).await?))
}

/// Delete a table
///
/// With all its records. Flows that write or read it fail from then on.
#[utoipa::path(
    delete,
    path = "/api/v1/tables/{name}",
    tag = "tables",
    params(("name" = String, Path, description = "The table's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No table with this name (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn delete_table(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    tables::delete(&state, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RecordsParams {
    /// Only the record with this key.
    key: Option<String>,
    /// With `value`: only records whose field (the key field or an indexed one) equals it.
    field: Option<String>,
    value: Option<String>,
    /// At most this many (default 50; 1 to 500; exports: up to 100,000).
    limit: Option<u64>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// `newest` (default; exports: `oldest`) or `oldest`.
    order: Option<String>,
    /// Exports: `json` (default) or `csv`.
    format: Option<String>,
}

impl RecordsParams {
    fn query(self) -> RecordsQuery {
        RecordsQuery {
            key: self.key,
            field: self.field,
            value: self.value,
            limit: self.limit,
            cursor: self.cursor,
            order: self.order,
        }
    }
}

/// List a table's records
///
/// Newest first; pass `next_cursor` back as `cursor` for the next page.
#[utoipa::path(
    get,
    path = "/api/v1/tables/{name}/records",
    tag = "tables",
    params(("name" = String, Path, description = "The table's name"), RecordsParams),
    responses(
        (status = 200, description = "A page of records", body = Page<RecordOut>),
        (status = 400, description = "A bad filter, limit, order or cursor (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No table with this name (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list_records(
    state: State,
    _user: CurrentUser,
    name: web::Path<String>,
    q: web::Query<RecordsParams>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tables::records(&state, &name, q.into_inner().query()).await?))
}

/// Export a table's records
///
/// As a JSON array of records or as CSV (`_id`, `_key`, `_created_at`, `_updated_at`, then
/// every top-level field), oldest first, at most 100,000; the same filters as the list.
#[utoipa::path(
    get,
    path = "/api/v1/tables/{name}/export",
    tag = "tables",
    params(("name" = String, Path, description = "The table's name"), RecordsParams),
    responses(
        (status = 200, description = "The records, as a file to download",
         content((Vec<RecordOut> = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A bad format, filter, limit or order (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No table with this name (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn export_records(
    state: State,
    _user: CurrentUser,
    name: web::Path<String>,
    q: web::Query<RecordsParams>,
) -> AppResult<HttpResponse> {
    let params = q.into_inner();
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::BadRequest("format must be json or csv".into())),
    };
    let rows = tables::export_rows(&state, &name, params.query()).await?;
    let (body, content_type, ext) = if csv {
        (tables::to_csv(&rows)?, "text/csv; charset=utf-8", "csv")
    } else {
        let out: Vec<RecordOut> = rows.into_iter().map(tables::record_out).collect();
        (
            serde_json::to_vec(&out).map_err(anyhow::Error::from)?,
            "application/json",
            "json",
        )
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .body(body))
}

/// Get a record
#[utoipa::path(
    get,
    path = "/api/v1/tables/{name}/records/{id}",
    tag = "tables",
    params(
        ("name" = String, Path, description = "The table's name"),
        ("id" = String, Path, description = "The record's id"),
    ),
    responses(
        (status = 200, description = "The record", body = RecordOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No such table or record (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn get_record(
    state: State,
    _user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (name, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(tables::record(&state, &name, &id).await?))
}

/// Delete a record
#[utoipa::path(
    delete,
    path = "/api/v1/tables/{name}/records/{id}",
    tag = "tables",
    params(
        ("name" = String, Path, description = "The table's name"),
        ("id" = String, Path, description = "The record's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No such table or record (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn delete_record(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let (name, id) = path.into_inner();
    tables::delete_record(&state, &name, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

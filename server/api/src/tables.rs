//! The data store: named tables of JSON records that flows write and read.

use serde::{Deserialize, Serialize};

/// Most tables one Flowgate keeps.
pub const MAX_TABLES: usize = 100;
/// Most indexed fields of one table.
pub const MAX_INDEXED_FIELDS: usize = 8;

/// `POST /api/v1/tables`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TableIn {
    /// Lower-case letters, digits and `_`, starting with a letter; at most 64. Flows name the
    /// table by it.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_]{0,63}$"))]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The field whose value identifies a record (unique in the table; upserts and
    /// look-ups by key use it). Without one, records are only inserted and found by fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_field: Option<String>,
    /// Fields records can be found by (equality), at most 8.
    #[serde(default)]
    pub indexed_fields: Vec<String>,
}

/// `PATCH /api/v1/tables/{name}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TablePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableOut {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_field: Option<String>,
    pub indexed_fields: Vec<String>,
    /// How many records it holds.
    pub records: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A record of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordOut {
    pub id: String,
    /// The value of the table's key field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The record as written.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
    /// The execution that last wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

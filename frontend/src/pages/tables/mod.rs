//! The data store's tables: the list (create, delete) and one table's records (filter by the
//! key or an indexed field, export as CSV or JSON, delete a record). Flows write the records
//! with `store` steps and read them with `lookup` steps; viewers read, designers change.

mod delete;
mod list;
mod page;
mod query;
mod records;

pub use list::TablesPage;
pub use page::TablePage;

//! The data store: named tables of JSON records that flows write (`store`) and read
//! (`lookup`), kept in Flowgate's own database. A record may have a key (the value of its
//! table's key field: unique, for upserts and look-ups); the table's indexed fields are
//! copied into `data_record_fields` so that equality queries on them use an index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataTables {
    Table,
    Id,
    /// Lower-case letters, digits and `_`; unique.
    Name,
    Description,
    /// The field whose value is a record's key, if the table has keys.
    KeyField,
    /// JSON array of the field names queryable by equality.
    IndexedFields,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DataRecords {
    Table,
    Id,
    TableId,
    /// The value of the table's key field (text), if it has one.
    RecordKey,
    /// The record: a JSON object.
    Data,
    CreatedAt,
    UpdatedAt,
    /// The execution that last wrote it (none for records written through the API).
    ExecutionId,
}

#[derive(DeriveIden)]
enum DataRecordFields {
    Table,
    TableId,
    Field,
    /// The field's value as text.
    Value,
    RecordId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DataTables::Table)
                .col(string(DataTables::Id).primary_key())
                .col(string(DataTables::Name).unique_key())
                .col(string(DataTables::Description).default(""))
                .col(string_null(DataTables::KeyField))
                .col(string(DataTables::IndexedFields).default("[]"))
                .col(big_integer(DataTables::CreatedAt))
                .col(big_integer(DataTables::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DataRecords::Table)
                .col(string(DataRecords::Id).primary_key())
                .col(string(DataRecords::TableId))
                .col(string_null(DataRecords::RecordKey))
                .col(text(DataRecords::Data))
                .col(big_integer(DataRecords::CreatedAt))
                .col(big_integer(DataRecords::UpdatedAt))
                .col(string_null(DataRecords::ExecutionId))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DataRecordFields::Table)
                .col(string(DataRecordFields::TableId))
                .col(string(DataRecordFields::Field))
                .col(string(DataRecordFields::Value))
                .col(string(DataRecordFields::RecordId))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for sql in [
            // One record per key and table (records without a key are not in it).
            "CREATE UNIQUE INDEX idx_data_records_key ON data_records (table_id, record_key) \
             WHERE record_key IS NOT NULL",
            // A table's records in the order they were created (lists, pages, `lookup`).
            "CREATE INDEX idx_data_records_created ON data_records (table_id, created_at, id)",
            "CREATE INDEX idx_data_record_fields_value ON data_record_fields \
             (table_id, field, value, record_id)",
            "CREATE INDEX idx_data_record_fields_record ON data_record_fields (record_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DataRecordFields::Table.into_iden(),
            DataRecords::Table.into_iden(),
            DataTables::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

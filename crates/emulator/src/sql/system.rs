//! The `system` schema of InfluxDB 3 Core: `system.queries`, `system.last_caches` and
//! `system.parquet_files`, with the server's column names and types.
//!
//! The emulator keeps no query log, creates no last-value caches and writes no Parquet
//! files, so every table is empty; queries over them plan and run as on the server.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionContext;

/// The name of the schema.
const SYSTEM_SCHEMA: &str = "system";

fn queries() -> SchemaRef {
    let duration = || DataType::Duration(TimeUnit::Nanosecond);
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("phase", DataType::Utf8, false),
        Field::new(
            "issue_time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new("query_type", DataType::Utf8, false),
        Field::new("query_text", DataType::Utf8, false),
        Field::new("partitions", DataType::Int64, true),
        Field::new("parquet_files", DataType::Int64, true),
        Field::new("plan_duration", duration(), true),
        Field::new("permit_duration", duration(), true),
        Field::new("execute_duration", duration(), true),
        Field::new("end2end_duration", duration(), true),
        Field::new("compute_duration", duration(), true),
        Field::new("max_memory", DataType::Int64, true),
        Field::new("success", DataType::Boolean, false),
        Field::new("running", DataType::Boolean, false),
        Field::new("cancelled", DataType::Boolean, false),
        Field::new("trace_id", DataType::Utf8, true),
    ]))
}

fn last_caches() -> SchemaRef {
    let list = |item: DataType| DataType::List(Arc::new(Field::new("item", item, true)));
    Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8View, false),
        Field::new("name", DataType::Utf8View, false),
        Field::new("key_column_ids", list(DataType::UInt16), false),
        Field::new("key_column_names", list(DataType::Utf8View), false),
        Field::new("value_column_ids", list(DataType::UInt16), true),
        Field::new("value_column_names", list(DataType::Utf8View), true),
        Field::new("count", DataType::UInt64, false),
        Field::new("ttl", DataType::UInt64, false),
    ]))
}

fn parquet_files() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("size_bytes", DataType::UInt64, false),
        Field::new("row_count", DataType::UInt64, false),
        Field::new("min_time", DataType::Int64, false),
        Field::new("max_time", DataType::Int64, false),
    ]))
}

/// Registers the `system` schema with its (empty) tables in `catalog` of `ctx`.
pub(crate) fn register(ctx: &SessionContext, catalog: &str) -> Result<(), DataFusionError> {
    let Some(catalog) = ctx.catalog(catalog) else {
        return Err(DataFusionError::Internal(
            "the emulator's session has no default catalog".to_owned(),
        ));
    };
    let schema = Arc::new(MemorySchemaProvider::new());
    for (name, table_schema) in [
        ("queries", queries()),
        ("last_caches", last_caches()),
        ("parquet_files", parquet_files()),
    ] {
        let table = MemTable::try_new(table_schema, vec![Vec::new()])?;
        schema.register_table(name.to_owned(), Arc::new(table))?;
    }
    catalog.register_schema(SYSTEM_SCHEMA, schema)?;
    Ok(())
}

//! The server's view of a [`DatabaseSnapshot`]: what a query plans against.
//!
//! InfluxDB 3 presents every table with its columns sorted by name (`time` included, so
//! `SELECT *` and `information_schema.columns` list them that way), tag columns as
//! `Dictionary(Int32, Utf8)` (Flight hydrates them back to plain strings; Parquet output and
//! `information_schema` show the dictionary), and schema metadata naming the measurement
//! (`iox::measurement::name`) and its series key (`iox::series::key::v2`: each tag name in
//! the order the table first saw it, as a little-endian `u32` length and the UTF-8 bytes,
//! base64-encoded).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use base64::Engine as _;
use datafusion::catalog::Session;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use crate::state::{DatabaseSnapshot, TableSnapshot};
use crate::store::COLUMN_TYPE_KEY;

/// Schema metadata key naming the measurement of a table.
pub(crate) const MEASUREMENT_NAME_KEY: &str = "iox::measurement::name";
/// Schema metadata key holding the encoded series key of a table.
pub(crate) const SERIES_KEY_KEY: &str = "iox::series::key::v2";

/// The type tag columns have in queries.
pub(crate) fn tag_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// Whether `field` is a tag column (by its `iox::column::type` metadata).
pub(crate) fn is_tag(field: &Field) -> bool {
    field
        .metadata()
        .get(COLUMN_TYPE_KEY)
        .is_some_and(|kind| kind == "iox::column_type::tag")
}

/// The `iox::series::key::v2` value for tags named `tags`, in order.
pub(crate) fn series_key<'a>(tags: impl IntoIterator<Item = &'a str>) -> String {
    let mut bytes = Vec::new();
    for tag in tags {
        let len = u32::try_from(tag.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(tag.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The schema metadata of table `name` whose tags are `tags`, in series-key order.
pub(crate) fn table_metadata<'a>(
    name: &str,
    tags: impl IntoIterator<Item = &'a str>,
) -> HashMap<String, String> {
    HashMap::from([
        (MEASUREMENT_NAME_KEY.to_owned(), name.to_owned()),
        (SERIES_KEY_KEY.to_owned(), series_key(tags)),
    ])
}

/// The schemas of `snapshot` as the server presents them (see the module docs); the
/// tables carry no batches: [`ViewTable`] converts the data of the tables a query scans.
pub(crate) fn server_view(snapshot: &DatabaseSnapshot) -> DatabaseSnapshot {
    DatabaseSnapshot {
        name: snapshot.name.clone(),
        tables: snapshot
            .tables
            .iter()
            .map(|table| TableSnapshot {
                name: table.name.clone(),
                schema: view_schema(table).0,
                batches: Vec::new(),
            })
            .collect(),
    }
}

/// The view schema of `table`, and for each of its columns the index of the stored column.
fn view_schema(table: &TableSnapshot) -> (SchemaRef, Vec<usize>) {
    let fields = table.schema.fields();
    let tags = fields
        .iter()
        .filter(|f| is_tag(f))
        .map(|f| f.name().as_str());
    let metadata = table_metadata(&table.name, tags);
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by(|a, b| fields[*a].name().cmp(fields[*b].name()));
    let view_fields: Vec<Field> = order
        .iter()
        .map(|i| {
            let field = fields[*i].as_ref().clone();
            if is_tag(&field) {
                field.with_data_type(tag_type())
            } else {
                field
            }
        })
        .collect();
    (
        Arc::new(Schema::new_with_metadata(view_fields, metadata)),
        order,
    )
}

/// A table of a snapshot as the server presents it. Its data is converted (columns
/// reordered, tags cast to dictionaries) when a query scans it, and only the columns the
/// query reads, so a query pays only for the tables and columns it touches.
#[derive(Debug)]
pub(crate) struct ViewTable {
    schema: SchemaRef,
    /// For each column of `schema`, the index of the stored column.
    order: Vec<usize>,
    source: TableSnapshot,
}

impl ViewTable {
    /// The view of `table`.
    pub(crate) fn new(table: &TableSnapshot) -> Self {
        let (schema, order) = view_schema(table);
        Self {
            schema,
            order,
            source: table.clone(),
        }
    }
}

#[tonic::async_trait]
impl TableProvider for ViewTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
        let indices: Vec<usize> = match projection {
            Some(projection) => projection.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&indices)?);
        let mut batches = Vec::with_capacity(self.source.batches.len());
        for batch in &self.source.batches {
            let columns = indices
                .iter()
                .zip(schema.fields())
                .map(|(i, field)| {
                    let stored = self.order.get(*i).and_then(|j| batch.columns().get(*j));
                    let Some(column) = stored else {
                        return Err(DataFusionError::Internal(format!(
                            "table '{}' has no column {i}",
                            self.source.name
                        )));
                    };
                    if column.data_type() == field.data_type() {
                        Ok(Arc::clone(column))
                    } else {
                        arrow_cast::cast(column, field.data_type())
                            .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
                    }
                })
                .collect::<Result<Vec<ArrayRef>, _>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            batches.push(RecordBatch::try_new_with_options(
                Arc::clone(&schema),
                columns,
                &options,
            )?);
        }
        MemTable::try_new(schema, vec![batches])?
            .scan(state, None, filters, limit)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_key_matches_the_server() {
        assert_eq!(series_key(["host", "region"]), "BAAAAGhvc3QGAAAAcmVnaW9u");
        assert_eq!(series_key([]), "");
    }
}

//! In-memory storage: databases, tables and their Arrow data, with schema-on-write, a
//! simulated write-ahead log and the server's one-row-per-series-and-time rule.
//!
//! A write is validated and its schema changes (databases, tables, columns) take effect at
//! once, as in the server's catalog; its rows wait in the table's WAL buffer until the next
//! [`Store::flush`] (the emulator's WAL flush tick), and only then become visible to queries.
//!
//! Flushed rows are appended to per-column Arrow builders and frozen into `RecordBatch`es
//! every [`FREEZE_ROWS`] rows or when a snapshot is taken, so a million single-line writes
//! cost a million builder appends, not a million record batches.
//!
//! Like the server, a table keeps one row per series (its tag set) and timestamp: a row
//! written again for the same series and time is merged into the existing one, field by
//! field, the later write winning. Each table keeps a hash of every (tag set, time) it holds;
//! a write that repeats one marks the table for deduplication, done on the next snapshot.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use tokio::sync::watch;

/// Rows kept in the open builders of a table before they are frozen into a batch.
const FREEZE_ROWS: usize = 64 * 1024;

/// The field metadata key carrying the InfluxDB column type (PROTOCOL.md §3.3).
pub(crate) const COLUMN_TYPE_KEY: &str = "iox::column::type";

/// The name of the timestamp column.
const TIME: &str = "time";

/// The database that the real server always lists (and never counts against the limit).
const INTERNAL_DB: &str = "_internal";

/// The kind of an InfluxDB column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Tag,
    Float,
    Integer,
    UInteger,
    String,
    Boolean,
    Time,
}

impl ColumnKind {
    /// The `iox::column_type::…` name used in metadata and error messages.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            ColumnKind::Tag => "iox::column_type::tag",
            ColumnKind::Float => "iox::column_type::field::float",
            ColumnKind::Integer => "iox::column_type::field::integer",
            ColumnKind::UInteger => "iox::column_type::field::uinteger",
            ColumnKind::String => "iox::column_type::field::string",
            ColumnKind::Boolean => "iox::column_type::field::boolean",
            ColumnKind::Time => "iox::column_type::timestamp",
        }
    }

    fn data_type(self) -> DataType {
        match self {
            ColumnKind::Tag | ColumnKind::String => DataType::Utf8,
            ColumnKind::Float => DataType::Float64,
            ColumnKind::Integer => DataType::Int64,
            ColumnKind::UInteger => DataType::UInt64,
            ColumnKind::Boolean => DataType::Boolean,
            ColumnKind::Time => DataType::Timestamp(TimeUnit::Nanosecond, None),
        }
    }

    fn field(self, name: &str) -> Field {
        let nullable = self != ColumnKind::Time;
        Field::new(name, self.data_type(), nullable).with_metadata(HashMap::from([(
            COLUMN_TYPE_KEY.to_owned(),
            self.type_name().to_owned(),
        )]))
    }

    /// Sort rank in the schema: tags, then fields, then time.
    fn rank(self) -> u8 {
        match self {
            ColumnKind::Tag => 0,
            ColumnKind::Time => 2,
            _ => 1,
        }
    }
}

/// One value of a row, already owned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Tag(String),
    Float(f64),
    Integer(i64),
    UInteger(u64),
    String(String),
    Boolean(bool),
}

impl Value {
    fn kind(&self) -> ColumnKind {
        match self {
            Value::Tag(_) => ColumnKind::Tag,
            Value::Float(_) => ColumnKind::Float,
            Value::Integer(_) => ColumnKind::Integer,
            Value::UInteger(_) => ColumnKind::UInteger,
            Value::String(_) => ColumnKind::String,
            Value::Boolean(_) => ColumnKind::Boolean,
        }
    }
}

/// One line to store: a table, its tag and field values, and a time in nanoseconds.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The measurement.
    pub(crate) table: String,
    /// Tags (`Value::Tag`) first, then fields, in line order.
    pub(crate) columns: Vec<(String, Value)>,
    /// Nanoseconds since the epoch.
    pub(crate) time: i64,
}

/// Why one line was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    /// The message, in the server's words.
    pub(crate) message: String,
    /// 1-based line number as the server counts it (PROTOCOL.md §2.5).
    pub(crate) line_number: usize,
    /// The line (not yet cut to 20 bytes).
    pub(crate) original_line: String,
}

/// A line handed to [`Store::write`]: a row, or the error already found for it.
pub(crate) type LineInput = Result<(Row, usize, String), LineError>;

/// The result of a write that reached the database.
#[derive(Debug, Default)]
pub(crate) struct WriteSummary {
    /// How many lines were stored.
    pub(crate) lines_stored: u64,
    /// The WAL sequence number of this write: its rows are visible once
    /// [`Store::wait_flushed`] with it returns. 0 when nothing was stored.
    pub(crate) seq: u64,
    /// The failed lines, in input order (at most one when partial writes are off).
    pub(crate) errors: Vec<LineError>,
}

/// Request-level write failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// Creating the database would exceed the database limit.
    TooManyDatabases(usize),
    /// `POST /api/v3/configure/database` (or `/table`) for one that exists.
    AlreadyExists,
    /// A table or column limit, with the server's message.
    Limit(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::TooManyDatabases(n) => {
                write!(
                    f,
                    "Adding a new database would exceed limit of {n} databases"
                )
            }
            StoreError::AlreadyExists => {
                f.write_str("attempted to create a resource that already exists")
            }
            StoreError::Limit(message) => f.write_str(message),
        }
    }
}

/// The limits of InfluxDB 3 Core.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Databases (not counting `_internal` and deleted ones).
    pub(crate) databases: usize,
    /// Tables over all databases.
    pub(crate) tables: usize,
    /// Tag plus field columns per table (`time` not counted).
    pub(crate) columns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            databases: 5,
            tables: 2000,
            columns: 500,
        }
    }
}

/// The in-memory storage: databases -> tables -> Arrow data.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Catalog>,
    limits: Limits,
    /// Every write is flushed as it is stored (a WAL flush interval of zero).
    immediate: bool,
    /// The sequence number of the last write made visible by a flush.
    flushed: watch::Sender<u64>,
}

impl Default for Store {
    /// Core's limits, every write visible at once.
    fn default() -> Self {
        Store::new(Limits::default(), true)
    }
}

#[derive(Debug, Default)]
struct Catalog {
    databases: BTreeMap<String, Database>,
    /// Names of deleted databases, as renamed by the soft delete.
    deleted: Vec<String>,
    /// The sequence number of the last write stored (flushed or not).
    seq: u64,
    /// Whether any table holds rows waiting for the flush.
    pending: bool,
}

impl Catalog {
    /// Makes every buffered row visible. Returns the sequence number now flushed.
    fn flush(&mut self) -> u64 {
        if self.pending {
            for db in self.databases.values_mut() {
                for table in db.tables.values_mut() {
                    table.flush();
                }
            }
            self.pending = false;
        }
        self.seq
    }
}

impl Catalog {
    fn table_count(&self) -> usize {
        self.databases.values().map(|db| db.tables.len()).sum()
    }
}

#[derive(Debug, Default)]
struct Database {
    tables: BTreeMap<String, Table>,
}

/// A consistent copy of one database, cheap to make (Arrow buffers are shared).
#[derive(Debug, Clone)]
pub(crate) struct DatabaseSnapshot {
    /// Database name.
    pub(crate) name: String,
    /// Its tables, sorted by name.
    pub(crate) tables: Vec<TableSnapshot>,
}

/// One table of a [`DatabaseSnapshot`].
#[derive(Debug, Clone)]
pub(crate) struct TableSnapshot {
    /// Table (measurement) name.
    pub(crate) name: String,
    /// Schema of every batch, with `iox::column::type` field metadata.
    pub(crate) schema: SchemaRef,
    /// The rows, all with `schema` (columns missing in old rows are null-filled).
    pub(crate) batches: Vec<RecordBatch>,
}

impl Store {
    /// A store with these limits. With `immediate`, every write is visible as soon as it is
    /// stored; otherwise at the next [`flush`](Self::flush).
    pub(crate) fn new(limits: Limits, immediate: bool) -> Self {
        Store {
            inner: Mutex::default(),
            limits,
            immediate,
            flushed: watch::Sender::new(0),
        }
    }

    /// The WAL flush: makes every buffered write visible and answers the writes waiting in
    /// [`wait_flushed`](Self::wait_flushed), all at once (group commit).
    pub(crate) fn flush(&self) {
        let seq = self.lock().flush();
        self.flushed.send_if_modified(|flushed| {
            let changed = *flushed < seq;
            *flushed = (*flushed).max(seq);
            changed
        });
    }

    /// Flushes and releases every waiting write for good (the emulator is shutting down).
    pub(crate) fn close(&self) {
        self.lock().flush();
        self.flushed.send_replace(u64::MAX);
    }

    /// Waits until the write with sequence number `seq` has been flushed.
    pub(crate) async fn wait_flushed(&self, seq: u64) {
        let mut flushed = self.flushed.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _ = flushed.wait_for(|f| *f >= seq).await;
    }

    fn lock(&self) -> MutexGuard<'_, Catalog> {
        // A panic while holding the lock cannot leave the catalog half-updated in a way
        // that matters more than losing the emulator, so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Contract: a consistent copy of one database's tables, or `None` if the database
    /// does not exist. Each table's schema has tag columns as `Utf8`, fields as
    /// Float64/Int64/UInt64/Utf8/Boolean, `time` as `Timestamp(Nanosecond, None)` (not null),
    /// every field carrying the `iox::column::type` metadata (PROTOCOL.md §3.3).
    /// Column order: tags sorted by name, then fields sorted by name, then `time`.
    pub(crate) fn snapshot(&self, database: &str) -> Option<DatabaseSnapshot> {
        let mut catalog = self.lock();
        let db = catalog.databases.get_mut(database)?;
        let mut tables = Vec::with_capacity(db.tables.len());
        for (name, table) in &mut db.tables {
            match table.snapshot() {
                Ok((schema, batches)) => tables.push(TableSnapshot {
                    name: name.clone(),
                    schema,
                    batches,
                }),
                Err(e) => {
                    tracing::error!(table = %name, error = %e, "emulator storage invariant broken");
                    return None;
                }
            }
        }
        Some(DatabaseSnapshot {
            name: database.to_owned(),
            tables,
        })
    }

    /// Whether the database exists.
    pub(crate) fn contains(&self, database: &str) -> bool {
        self.lock().databases.contains_key(database)
    }

    /// Creates an empty database (`POST /api/v3/configure/database`).
    pub(crate) fn create_database(&self, name: &str) -> Result<(), StoreError> {
        let mut catalog = self.lock();
        if catalog.databases.contains_key(name) || name == INTERNAL_DB {
            return Err(StoreError::AlreadyExists);
        }
        if catalog.databases.len() >= self.limits.databases {
            return Err(StoreError::TooManyDatabases(self.limits.databases));
        }
        catalog
            .databases
            .insert(name.to_owned(), Database::default());
        Ok(())
    }

    /// Deletes a database and its data. The real server soft-deletes by renaming to
    /// `<name>-<YYYYMMDDTHHMMSS>`; the emulator drops the data and remembers only that name.
    /// Returns `false` when there is no such database.
    pub(crate) fn delete_database(&self, name: &str, deleted_name: String) -> bool {
        let mut catalog = self.lock();
        if catalog.databases.remove(name).is_none() {
            return false;
        }
        let mut unique = deleted_name.clone();
        let mut n = 1;
        while catalog.deleted.contains(&unique) {
            unique = format!("{deleted_name}-{n}");
            n += 1;
        }
        catalog.deleted.push(unique);
        true
    }

    /// Creates a table with these tag columns and (name, kind) field columns
    /// (`POST /api/v3/configure/table`), creating the database when needed.
    pub(crate) fn create_table(
        &self,
        database: &str,
        table: &str,
        tags: &[String],
        fields: &[(String, ColumnKind)],
    ) -> Result<(), StoreError> {
        let mut catalog = self.lock();
        let db_exists = catalog.databases.contains_key(database);
        if !db_exists && catalog.databases.len() >= self.limits.databases {
            return Err(StoreError::TooManyDatabases(self.limits.databases));
        }
        if catalog
            .databases
            .get(database)
            .is_some_and(|db| db.tables.contains_key(table))
        {
            return Err(StoreError::AlreadyExists);
        }
        let tables = catalog.table_count();
        if tables >= self.limits.tables {
            return Err(StoreError::Limit(tables_limit(self.limits.tables)));
        }
        if tags.len() + fields.len() > self.limits.columns {
            return Err(StoreError::Limit(format!(
                "Update to schema would exceed number of columns per table limit of {} columns",
                self.limits.columns
            )));
        }
        let mut staged = StagedTable::default();
        let columns = tags
            .iter()
            .map(|t| (t.clone(), ColumnKind::Tag))
            .chain(fields.iter().cloned());
        for (name, kind) in columns {
            if name == TIME || staged.new_index.contains_key(&name) {
                continue;
            }
            staged
                .new_index
                .insert(name.clone(), staged.new_columns.len());
            staged.new_columns.push((name, kind));
        }
        let db = catalog.databases.entry(database.to_owned()).or_default();
        db.tables.entry(table.to_owned()).or_default().apply(staged);
        Ok(())
    }

    /// Deletes a table and its data. Returns `false` when there is no such table.
    pub(crate) fn delete_table(&self, database: &str, table: &str) -> bool {
        self.lock()
            .databases
            .get_mut(database)
            .is_some_and(|db| db.tables.remove(table).is_some())
    }

    /// Every database name with whether it is deleted; `_internal` first, as the server does.
    pub(crate) fn list_databases(&self, show_deleted: bool) -> Vec<(String, bool)> {
        let catalog = self.lock();
        let mut out = vec![(INTERNAL_DB.to_owned(), false)];
        out.extend(catalog.databases.keys().map(|k| (k.clone(), false)));
        if show_deleted {
            out.extend(catalog.deleted.iter().map(|k| (k.clone(), true)));
        }
        out
    }

    /// Writes lines to `database`, creating it when needed.
    ///
    /// Lines are validated one at a time against the schema as it stands with the earlier
    /// lines of this request applied. With `accept_partial == false` the first failing line
    /// aborts the request: nothing is stored and no schema or database is created. Otherwise
    /// the good lines are stored and every failure is reported. Either way the request is
    /// atomic with respect to queries (one lock covers validation and storage).
    pub(crate) fn write(
        &self,
        database: &str,
        lines: impl IntoIterator<Item = LineInput>,
        accept_partial: bool,
    ) -> Result<WriteSummary, StoreError> {
        let mut catalog = self.lock();
        let db_exists = catalog.databases.contains_key(database);
        if !db_exists && catalog.databases.len() >= self.limits.databases {
            return Err(StoreError::TooManyDatabases(self.limits.databases));
        }
        let existing_tables = catalog.table_count();
        let empty = Database::default();
        let db = catalog.databases.get(database).unwrap_or(&empty);

        let mut staged: BTreeMap<String, StagedTable> = BTreeMap::new();
        let mut summary = WriteSummary::default();
        let mut seen: HashSet<String> = HashSet::new();
        for line in lines {
            let result = line.and_then(|(row, line_number, text)| {
                stage_row(
                    db,
                    &mut staged,
                    existing_tables,
                    self.limits,
                    row,
                    &mut seen,
                )
                .map_err(|message| LineError {
                    message,
                    line_number,
                    original_line: text,
                })
            });
            match result {
                Ok(()) => summary.lines_stored += 1,
                Err(e) => {
                    summary.errors.push(e);
                    if !accept_partial {
                        summary.lines_stored = 0;
                        return Ok(summary);
                    }
                }
            }
        }

        let db = catalog.databases.entry(database.to_owned()).or_default();
        for (name, staged) in staged {
            db.tables.entry(name).or_default().apply(staged);
        }
        if summary.lines_stored > 0 {
            catalog.seq += 1;
            catalog.pending = true;
            summary.seq = catalog.seq;
            if self.immediate {
                let seq = catalog.flush();
                drop(catalog);
                self.flushed.send_replace(seq);
            }
        }
        Ok(summary)
    }
}

/// A table's pending changes within one write request.
#[derive(Debug, Default)]
struct StagedTable {
    /// Columns the table gets from this request, after the existing ones.
    new_columns: Vec<(String, ColumnKind)>,
    new_index: HashMap<String, usize>,
    /// Rows as (column position in existing ++ new, value).
    rows: Vec<(Vec<(usize, Value)>, i64)>,
}

/// Validates one row against the table's schema plus what this request staged, and stages it.
/// On error nothing is staged. Returns the server's message on error.
fn stage_row(
    db: &Database,
    staged: &mut BTreeMap<String, StagedTable>,
    existing_tables: usize,
    limits: Limits,
    row: Row,
    seen: &mut HashSet<String>,
) -> Result<(), String> {
    let table = db.tables.get(&row.table);
    let is_staged = staged.contains_key(&row.table);
    if table.is_none() && !is_staged {
        let new_tables = staged
            .keys()
            .filter(|k| !db.tables.contains_key(*k))
            .count();
        let current = existing_tables + new_tables;
        if current >= limits.tables {
            return Err(tables_limit(limits.tables));
        }
    }
    let table_exists = table.is_some() || is_staged;
    let base_len = table.map_or(0, |t| t.columns.len());
    let stage = staged.get(&row.table);

    check_repeats(&row.columns, seen)?;
    let mut line_new: Vec<(String, ColumnKind)> = Vec::new();
    let mut values: Vec<(usize, Value)> = Vec::with_capacity(row.columns.len());
    let mut row_tags: Vec<String> = Vec::new();
    let mut tag_slots: Vec<usize> = Vec::new();
    for (name, value) in row.columns {
        let kind = value.kind();
        let name_for_tags = if kind == ColumnKind::Tag {
            name.clone()
        } else {
            String::new()
        };
        if name == TIME || name == "__chunk_order" {
            if name == TIME && table_exists {
                return Err(type_error(&name, ColumnKind::Time, kind));
            }
            return Err(format!("'{name}' is a reserved column"));
        }
        if kind == ColumnKind::Tag
            && let Some(earlier) = row_tags.iter().position(|n| *n == name)
        {
            // A repeated tag key: the server accepts the line; the emulator keeps the last
            // value (the server's table breaks instead, see the crate docs).
            if let Some(slot) = values.get_mut(tag_slots[earlier]) {
                slot.1 = value;
            }
            continue;
        }
        let position = if let Some(i) = table.and_then(|t| t.index.get(&name)) {
            check_kind(&name, table.map(|t| t.columns[*i].kind), kind)?;
            *i
        } else if let Some(i) = stage.and_then(|s| s.new_index.get(&name)) {
            check_kind(&name, stage.map(|s| s.new_columns[*i].1), kind)?;
            base_len + *i
        } else if let Some(i) = line_new.iter().position(|(n, _)| *n == name) {
            check_kind(&name, Some(line_new[i].1), kind)?;
            // A clash with an earlier column of this very line that passed the kind check
            // is a repeat, handled above.
            base_len + stage.map_or(0, |s| s.new_columns.len()) + i
        } else {
            line_new.push((name, kind));
            base_len + stage.map_or(0, |s| s.new_columns.len()) + line_new.len() - 1
        };
        if kind == ColumnKind::Tag {
            row_tags.push(name_for_tags);
            tag_slots.push(values.len());
        }
        values.push((position, value));
    }
    let total = base_len + stage.map_or(0, |s| s.new_columns.len()) + line_new.len();
    if total > limits.columns {
        return Err(format!(
            "Update to schema would exceed number of columns per table limit of {} columns",
            limits.columns
        ));
    }

    let stage = staged.entry(row.table).or_default();
    for (name, kind) in line_new {
        stage
            .new_index
            .insert(name.clone(), stage.new_columns.len());
        stage.new_columns.push((name, kind));
    }
    stage.rows.push((values, row.time));
    Ok(())
}

/// 3.6.0's message for the table limit (worded like its column-limit message).
fn tables_limit(limit: usize) -> String {
    format!("Update to schema would exceed number of tables limit of {limit} tables")
}

/// Rejects a field key that appears twice in one line, in the server's words. A repeated tag
/// key is accepted (as the server does; [`stage_row`] keeps the last value), and a name used
/// once as a tag and once as a field is left to the type check, which reports it as the
/// server does.
fn check_repeats(columns: &[(String, Value)], seen: &mut HashSet<String>) -> Result<(), String> {
    let is_field = |c: &(String, Value)| c.1.kind() != ColumnKind::Tag;
    let report = |name: &str| {
        Err(format!(
            "invalid line protocol - multiple instances of '{name}' field found"
        ))
    };
    if columns.len() <= 32 {
        for (i, b) in columns.iter().enumerate() {
            if is_field(b) && columns[..i].iter().any(|a| is_field(a) && a.0 == b.0) {
                return report(&b.0);
            }
        }
        return Ok(());
    }
    seen.clear();
    for column in columns.iter().filter(|c| is_field(c)) {
        if !seen.insert(column.0.clone()) {
            return report(&column.0);
        }
    }
    Ok(())
}

fn check_kind(name: &str, existing: Option<ColumnKind>, new: ColumnKind) -> Result<(), String> {
    match existing {
        Some(existing) if existing != new => Err(type_error(name, existing, new)),
        _ => Ok(()),
    }
}

fn type_error(name: &str, expected: ColumnKind, got: ColumnKind) -> String {
    format!(
        "invalid column type for column '{name}', expected {}, got {}",
        expected.type_name(),
        got.type_name()
    )
}

/// The Arrow builder of one column.
#[derive(Debug)]
enum ColumnBuilder {
    Utf8(StringBuilder),
    Float(Float64Builder),
    Integer(Int64Builder),
    UInteger(UInt64Builder),
    Boolean(BooleanBuilder),
}

impl ColumnBuilder {
    fn new(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Tag | ColumnKind::String | ColumnKind::Time => {
                ColumnBuilder::Utf8(StringBuilder::new())
            }
            ColumnKind::Float => ColumnBuilder::Float(Float64Builder::new()),
            ColumnKind::Integer => ColumnBuilder::Integer(Int64Builder::new()),
            ColumnKind::UInteger => ColumnBuilder::UInteger(UInt64Builder::new()),
            ColumnKind::Boolean => ColumnBuilder::Boolean(BooleanBuilder::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            ColumnBuilder::Utf8(b) => b.len(),
            ColumnBuilder::Float(b) => b.len(),
            ColumnBuilder::Integer(b) => b.len(),
            ColumnBuilder::UInteger(b) => b.len(),
            ColumnBuilder::Boolean(b) => b.len(),
        }
    }

    fn append_nulls(&mut self, n: usize) {
        match self {
            ColumnBuilder::Utf8(b) => b.append_nulls(n),
            ColumnBuilder::Float(b) => b.append_nulls(n),
            ColumnBuilder::Integer(b) => b.append_nulls(n),
            ColumnBuilder::UInteger(b) => b.append_nulls(n),
            ColumnBuilder::Boolean(b) => b.append_nulls(n),
        }
    }

    /// Appends a value whose kind was validated against this column.
    fn append(&mut self, value: Value) {
        match (self, value) {
            (ColumnBuilder::Utf8(b), Value::Tag(s) | Value::String(s)) => b.append_value(s),
            (ColumnBuilder::Float(b), Value::Float(v)) => b.append_value(v),
            (ColumnBuilder::Integer(b), Value::Integer(v)) => b.append_value(v),
            (ColumnBuilder::UInteger(b), Value::UInteger(v)) => b.append_value(v),
            (ColumnBuilder::Boolean(b), Value::Boolean(v)) => b.append_value(v),
            // Validation guarantees matching kinds; a mismatch stores a null rather than
            // corrupting the column lengths.
            (b, _) => b.append_nulls(1),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Integer(b) => Arc::new(b.finish()),
            ColumnBuilder::UInteger(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
        }
    }
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: ColumnKind,
    builder: ColumnBuilder,
}

/// A row waiting in the WAL buffer: (column position, value) pairs and the time.
type PendingRow = (Vec<(usize, Value)>, i64);

/// One table: its columns in creation order, open builders and frozen batches, rows waiting
/// for the WAL flush, and what deduplication needs.
#[derive(Debug, Default)]
struct Table {
    columns: Vec<Column>,
    index: HashMap<String, usize>,
    time: TimestampNanosecondBuilder,
    open_rows: usize,
    /// Frozen batches, each with the schema of the table when it was frozen.
    frozen: Vec<RecordBatch>,
    /// Rows written but not flushed yet, in write order.
    pending: Vec<PendingRow>,
    /// A hash of the (tag set, time) of every row held, flushed or not.
    keys: HashSet<u64>,
    /// A row repeated a (tag set, time) already held: merge on the next snapshot.
    needs_dedup: bool,
}

impl Table {
    /// Takes a write's schema changes now and buffers its rows for the flush.
    fn apply(&mut self, staged: StagedTable) {
        for (name, kind) in staged.new_columns {
            let mut builder = ColumnBuilder::new(kind);
            builder.append_nulls(self.open_rows);
            self.index.insert(name.clone(), self.columns.len());
            self.columns.push(Column {
                name,
                kind,
                builder,
            });
        }
        for (values, time) in &staged.rows {
            let key = self.series_time_hash(values, *time);
            if !self.keys.insert(key) {
                self.needs_dedup = true;
            }
        }
        self.pending.extend(staged.rows);
    }

    /// A hash of a row's tag set and time: tags by column position, so order in the line
    /// does not matter.
    fn series_time_hash(&self, values: &[(usize, Value)], time: i64) -> u64 {
        let mut tags: Vec<(usize, &str)> = values
            .iter()
            .filter_map(|(position, value)| match value {
                Value::Tag(v) => Some((*position, v.as_str())),
                _ => None,
            })
            .collect();
        tags.sort_unstable();
        let mut hasher = DefaultHasher::new();
        tags.hash(&mut hasher);
        time.hash(&mut hasher);
        hasher.finish()
    }

    /// Moves the buffered rows into the builders: the WAL flush.
    fn flush(&mut self) {
        for (values, time) in std::mem::take(&mut self.pending) {
            for (position, value) in values {
                if let Some(column) = self.columns.get_mut(position) {
                    column.builder.append(value);
                }
            }
            self.time.append_value(time);
            self.open_rows += 1;
            for column in &mut self.columns {
                let missing = self.open_rows.saturating_sub(column.builder.len());
                if missing > 0 {
                    column.builder.append_nulls(missing);
                }
            }
            if self.open_rows >= FREEZE_ROWS
                && let Err(e) = self.freeze()
            {
                tracing::error!(error = %e, "emulator storage invariant broken");
            }
        }
    }

    /// The current schema: tags sorted by name, then fields sorted by name, then `time`.
    /// Also returns, for each schema column but `time`, its index in `self.columns`.
    fn schema(&self) -> (SchemaRef, Vec<usize>) {
        let mut order: Vec<usize> = (0..self.columns.len()).collect();
        order.sort_by(|a, b| {
            let (a, b) = (&self.columns[*a], &self.columns[*b]);
            (a.kind.rank(), &a.name).cmp(&(b.kind.rank(), &b.name))
        });
        let mut fields: Vec<Field> = order
            .iter()
            .map(|i| self.columns[*i].kind.field(&self.columns[*i].name))
            .collect();
        fields.push(ColumnKind::Time.field(TIME));
        (Arc::new(Schema::new(fields)), order)
    }

    /// Moves the open rows into a frozen batch.
    fn freeze(&mut self) -> Result<(), ArrowError> {
        if self.open_rows == 0 {
            return Ok(());
        }
        let (schema, order) = self.schema();
        let mut arrays: Vec<ArrayRef> = order
            .iter()
            .map(|i| self.columns[*i].builder.finish())
            .collect();
        arrays.push(Arc::new(self.time.finish()));
        self.open_rows = 0;
        self.frozen.push(RecordBatch::try_new(schema, arrays)?);
        Ok(())
    }

    /// Freezes the open rows, brings every frozen batch to the current schema and merges
    /// rows of the same series and time.
    fn snapshot(&mut self) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
        self.freeze()?;
        let (schema, _) = self.schema();
        for batch in &mut self.frozen {
            if batch.schema() != schema {
                *batch = conform(batch, &schema)?;
            }
        }
        if self.needs_dedup {
            self.frozen = dedup(&self.frozen, &schema)?;
            self.needs_dedup = false;
        }
        Ok((schema, self.frozen.clone()))
    }
}

/// Merges the rows of `batches` (all with `schema`) that share a tag set and time into one
/// row, in first-appearance order: each field takes the value of the last row that set it.
fn dedup(batches: &[RecordBatch], schema: &SchemaRef) -> Result<Vec<RecordBatch>, ArrowError> {
    let fields = schema.fields();
    let Some(time_index) = fields.len().checked_sub(1) else {
        return Ok(batches.to_vec());
    };
    let tag_indices: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.metadata().get(COLUMN_TYPE_KEY).map(String::as_str)
                == Some(ColumnKind::Tag.type_name())
        })
        .map(|(i, _)| i)
        .collect();
    // (batch, row) of every row of each group, in order.
    let mut groups: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
    let same_key = |a: (usize, usize), b: (usize, usize)| {
        let time = |(batch, row): (usize, usize)| {
            batches[batch]
                .column(time_index)
                .as_primitive::<TimestampNanosecondType>()
                .value(row)
        };
        time(a) == time(b)
            && tag_indices
                .iter()
                .all(|c| tag_at(batches, *c, a) == tag_at(batches, *c, b))
    };
    for (b, batch) in batches.iter().enumerate() {
        let times = batch
            .column(time_index)
            .as_primitive::<TimestampNanosecondType>();
        for r in 0..batch.num_rows() {
            let mut hasher = DefaultHasher::new();
            for c in &tag_indices {
                tag_at(batches, *c, (b, r)).hash(&mut hasher);
            }
            times.value(r).hash(&mut hasher);
            let candidates = by_hash.entry(hasher.finish()).or_default();
            match candidates
                .iter()
                .copied()
                .find(|g| same_key(groups[*g][0], (b, r)))
            {
                Some(g) => groups[g].push((b, r)),
                None => {
                    candidates.push(groups.len());
                    groups.push(vec![(b, r)]);
                }
            }
        }
    }
    let mut columns = Vec::with_capacity(fields.len());
    for c in 0..fields.len() {
        let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
        let indices: Vec<(usize, usize)> = groups
            .iter()
            .map(|rows| {
                rows.iter()
                    .rev()
                    .find(|(b, r)| arrays[*b].is_valid(*r))
                    .or(rows.last())
                    .copied()
                    .unwrap_or((0, 0))
            })
            .collect();
        columns.push(datafusion::arrow::compute::interleave(&arrays, &indices)?);
    }
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![RecordBatch::try_new(Arc::clone(schema), columns)?])
}

/// The tag value of column `column` at (batch, row), `None` when null.
fn tag_at(batches: &[RecordBatch], column: usize, (batch, row): (usize, usize)) -> Option<&str> {
    let array = batches.get(batch)?.column(column).as_string_opt::<i32>()?;
    array.is_valid(row).then(|| array.value(row))
}

/// Re-orders `batch`'s columns to `schema`, adding all-null columns for the missing ones.
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let old = batch.schema();
    let arrays = schema
        .fields()
        .iter()
        .map(|field| match old.index_of(field.name()) {
            Ok(i) => Arc::clone(batch.column(i)),
            Err(_) => new_null_array(field.data_type(), batch.num_rows()),
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), arrays)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};

    fn row(table: &str, columns: Vec<(&str, Value)>, time: i64) -> LineInput {
        Ok((
            Row {
                table: table.to_owned(),
                columns: columns
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v))
                    .collect(),
                time,
            },
            1,
            String::new(),
        ))
    }

    #[test]
    fn later_columns_are_null_filled_and_schema_sorted() {
        let store = Store::default();
        let s = store
            .write("db", [row("cpu", vec![("v", Value::Float(1.0))], 1)], true)
            .unwrap();
        assert_eq!(s.lines_stored, 1);
        let first = store.snapshot("db").unwrap();
        assert_eq!(first.tables[0].batches[0].num_rows(), 1);
        store
            .write(
                "db",
                [row(
                    "cpu",
                    vec![("host", Value::Tag("a".into())), ("n", Value::Integer(7))],
                    2,
                )],
                true,
            )
            .unwrap();
        let snap = store.snapshot("db").unwrap();
        let table = &snap.tables[0];
        let names: Vec<_> = table
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["host", "n", "v", "time"]);
        assert_eq!(
            table
                .schema
                .field(0)
                .metadata()
                .get(COLUMN_TYPE_KEY)
                .map(String::as_str),
            Some("iox::column_type::tag")
        );
        assert!(!table.schema.field(3).is_nullable());
        let rows: usize = table.batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 2);
        let b0 = &table.batches[0];
        assert_eq!(b0.schema(), table.schema);
        assert!(b0.column(0).is_null(0));
        assert_eq!(b0.column(2).as_primitive::<Float64Type>().value(0), 1.0);
        let b1 = &table.batches[1];
        assert_eq!(b1.column(1).as_primitive::<Int64Type>().value(0), 7);
        assert!(b1.column(2).is_null(0));
    }

    #[test]
    fn atomic_without_partial_and_type_conflicts() {
        let store = Store::default();
        let s = store
            .write(
                "db",
                [
                    row("cpu", vec![("v", Value::Float(1.0))], 1),
                    row("cpu", vec![("v", Value::Integer(1))], 1),
                ],
                false,
            )
            .unwrap();
        assert_eq!(s.lines_stored, 0);
        assert_eq!(
            s.errors[0].message,
            "invalid column type for column 'v', expected iox::column_type::field::float, got iox::column_type::field::integer"
        );
        assert!(
            store.snapshot("db").is_none(),
            "nothing stored, no database created"
        );
        let s = store
            .write(
                "db",
                [
                    row(
                        "cpu",
                        vec![("t", Value::Tag("a".into())), ("t", Value::Float(1.0))],
                        1,
                    ),
                    row(
                        "cpu",
                        vec![("f", Value::Float(1.0)), ("f", Value::Float(2.0))],
                        1,
                    ),
                    row("cpu", vec![("time", Value::Float(1.0))], 1),
                    row("cpu", vec![("ok", Value::Boolean(true))], 1),
                ],
                true,
            )
            .unwrap();
        assert_eq!(s.lines_stored, 1);
        let msgs: Vec<_> = s.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "invalid column type for column 't', expected iox::column_type::tag, got iox::column_type::field::float",
                "invalid line protocol - multiple instances of 'f' field found",
                "'time' is a reserved column",
            ]
        );
    }

    #[test]
    fn limits() {
        let store = Store::new(
            Limits {
                databases: 1,
                tables: 2,
                columns: 2,
            },
            true,
        );
        store.create_database("a").unwrap();
        assert_eq!(
            store.write("b", [], true).unwrap_err(),
            StoreError::TooManyDatabases(1)
        );
        let s = store
            .write(
                "a",
                [
                    row("t1", vec![("x", Value::Float(1.0))], 1),
                    row("t2", vec![("x", Value::Float(1.0))], 1),
                    row("t3", vec![("x", Value::Float(1.0))], 1),
                    row(
                        "t1",
                        vec![("y", Value::Float(1.0)), ("z", Value::Float(1.0))],
                        1,
                    ),
                ],
                true,
            )
            .unwrap();
        assert_eq!(s.lines_stored, 2);
        assert_eq!(
            s.errors[0].message,
            "Update to schema would exceed number of tables limit of 2 tables"
        );
        assert_eq!(
            s.errors[1].message,
            "Update to schema would exceed number of columns per table limit of 2 columns"
        );
    }

    /// (t, f, g, time) of one row.
    type FloatRow = (Option<String>, Option<f64>, Option<f64>, i64);

    fn float_rows(store: &Store, db: &str) -> Vec<FloatRow> {
        let snap = store.snapshot(db).unwrap();
        let table = &snap.tables[0];
        let col = |name: &str| table.schema.index_of(name).unwrap();
        let mut out = Vec::new();
        for batch in &table.batches {
            let t = batch.column(col("t")).as_string::<i32>();
            let f = batch.column(col("f")).as_primitive::<Float64Type>();
            let g = batch.column(col("g")).as_primitive::<Float64Type>();
            let time = batch
                .column(col("time"))
                .as_primitive::<TimestampNanosecondType>();
            for r in 0..batch.num_rows() {
                out.push((
                    t.is_valid(r).then(|| t.value(r).to_owned()),
                    f.is_valid(r).then(|| f.value(r)),
                    g.is_valid(r).then(|| g.value(r)),
                    time.value(r),
                ));
            }
        }
        out.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
        out
    }

    #[test]
    fn one_row_per_series_and_time() {
        let store = Store::default();
        let tag = |v: &str| Value::Tag(v.into());
        store
            .write(
                "db",
                [
                    row(
                        "m",
                        vec![
                            ("t", tag("a")),
                            ("f", Value::Float(1.0)),
                            ("g", Value::Float(1.0)),
                        ],
                        10,
                    ),
                    row("m", vec![("t", tag("a")), ("g", Value::Float(2.0))], 10),
                    row("m", vec![("t", tag("b")), ("f", Value::Float(5.0))], 10),
                    row("m", vec![("f", Value::Float(7.0))], 10),
                    row("m", vec![("t", tag("a")), ("f", Value::Float(3.0))], 20),
                ],
                true,
            )
            .unwrap();
        assert_eq!(
            float_rows(&store, "db"),
            [
                (None, Some(7.0), None, 10),
                (Some("a".into()), Some(1.0), Some(2.0), 10),
                (Some("b".into()), Some(5.0), None, 10),
                (Some("a".into()), Some(3.0), None, 20),
            ]
        );
        // Across requests, after a snapshot has compacted the table.
        store
            .write(
                "db",
                [
                    row("m", vec![("t", tag("a")), ("f", Value::Float(9.0))], 10),
                    row("m", vec![("f", Value::Float(8.0))], 10),
                ],
                true,
            )
            .unwrap();
        assert_eq!(
            float_rows(&store, "db"),
            [
                (None, Some(8.0), None, 10),
                (Some("a".into()), Some(9.0), Some(2.0), 10),
                (Some("b".into()), Some(5.0), None, 10),
                (Some("a".into()), Some(3.0), None, 20),
            ]
        );
    }

    #[test]
    fn tag_order_and_repeated_tag_keys() {
        let store = Store::default();
        let tag = |v: &str| Value::Tag(v.into());
        let s = store
            .write(
                "db",
                [
                    row(
                        "m",
                        vec![("a", tag("1")), ("b", tag("2")), ("f", Value::Float(1.0))],
                        1,
                    ),
                    row(
                        "m",
                        vec![("b", tag("2")), ("a", tag("1")), ("f", Value::Float(2.0))],
                        1,
                    ),
                    row(
                        "m",
                        vec![
                            ("a", tag("x")),
                            ("a", tag("1")),
                            ("b", tag("2")),
                            ("f", Value::Float(3.0)),
                        ],
                        1,
                    ),
                ],
                true,
            )
            .unwrap();
        assert_eq!((s.lines_stored, s.errors.len()), (3, 0));
        let snap = store.snapshot("db").unwrap();
        let batches = &snap.tables[0].batches;
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
        let f = batches[0].column(2).as_primitive::<Float64Type>();
        assert_eq!(f.value(0), 3.0);
    }

    #[test]
    fn rows_wait_for_the_flush_but_schema_does_not() {
        let store = Store::new(Limits::default(), false);
        let s = store
            .write("db", [row("m", vec![("f", Value::Float(1.0))], 1)], true)
            .unwrap();
        assert_eq!(s.seq, 1);
        let snap = store.snapshot("db").unwrap();
        assert_eq!(snap.tables[0].name, "m");
        assert_eq!(snap.tables[0].schema.fields().len(), 2);
        assert!(snap.tables[0].batches.is_empty());
        store.flush();
        let snap = store.snapshot("db").unwrap();
        assert_eq!(snap.tables[0].batches[0].num_rows(), 1);
        assert_eq!(*store.flushed.borrow(), 1);
    }

    #[test]
    fn freezes_large_writes_in_chunks() {
        let store = Store::default();
        let lines =
            (0..(FREEZE_ROWS + 10) as i64).map(|i| row("m", vec![("v", Value::Integer(i))], i));
        let s = store.write("db", lines, true).unwrap();
        assert_eq!(s.lines_stored as usize, FREEZE_ROWS + 10);
        let snap = store.snapshot("db").unwrap();
        let batches = &snap.tables[0].batches;
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].num_rows(), FREEZE_ROWS);
        assert_eq!(batches[1].num_rows(), 10);
    }
}

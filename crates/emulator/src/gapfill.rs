//! Gap filling for InfluxQL `GROUP BY time(…) fill(…)`.
//!
//! OWNERSHIP: Flight/SQL side.
//!
//! DataFusion computes the aggregate of every interval that has data, one row per series
//! and interval, ordered by series and time. [`GapFill::apply`] then adds a row for every
//! interval of the query's time range that has none, in each series that has at least one
//! row, and fills its values as `fill(…)` says; last come `ORDER BY time DESC` and the
//! per-series `LIMIT`/`OFFSET`, which count the added rows too.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt64Type};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, TimestampNanosecondArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{ArrowError, DataType, SchemaRef, TimeUnit};
use datafusion::arrow::compute::{concat_batches, take};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::error::DataFusionError;

use crate::sql::QueryError;

/// The most rows gap filling may produce, so that a query over years in one-second
/// intervals fails clearly instead of exhausting memory.
const MAX_ROWS: usize = 10_000_000;

/// What gap filling needs to know about a translated `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GapFill {
    /// The `GROUP BY time` interval and offset, in nanoseconds.
    pub(crate) interval: i64,
    pub(crate) offset: i64,
    /// How to fill.
    pub(crate) fill: Fill,
    /// The number of tag columns, which follow the measurement and `time` columns; the
    /// value columns come after them.
    pub(crate) tags: usize,
    /// For each value column, whether it is a bare `COUNT(…)`, which `fill(null)` fills
    /// with 0.
    pub(crate) counts: Vec<bool>,
    pub(crate) order_desc: bool,
    pub(crate) limit: Option<u64>,
    pub(crate) offset_rows: Option<u64>,
}

/// What `fill(…)` puts in the intervals of `GROUP BY time(…)` without data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fill {
    /// `fill(null)`, the default: nulls (zero for `COUNT`).
    Null,
    /// `fill(none)`: no row (no gap filling at all).
    None,
    /// `fill(<number>)`: the number, cast to each column's type (integers truncated); it
    /// also replaces the nulls of rows with data.
    Value(f64),
    /// `fill(previous)`: the series' last non-null value.
    Previous,
    /// `fill(linear)`: on the straight line between the values around the gap.
    Linear,
}

/// One output row, before ordering: its series (index of its first source row), its
/// interval start, and the source row holding its values (`None` for an added row).
struct OutputRow {
    series: usize,
    time: i64,
    source: Option<u32>,
}

impl GapFill {
    /// The start of the interval holding `t`.
    fn bucket(&self, t: i64) -> i64 {
        let from_origin = t.saturating_sub(self.offset);
        self.offset
            .saturating_add(from_origin.div_euclid(self.interval) * self.interval)
    }

    /// Fills the gaps of `batches` (ordered by series, then time) from the interval holding
    /// `lower` to the one holding `upper` (ns, both included). Without `lower`, each series
    /// starts at its first interval with data.
    pub(crate) fn apply(
        &self,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        lower: Option<i64>,
        upper: i64,
    ) -> Result<Vec<RecordBatch>, QueryError> {
        let batch = concat_batches(schema, batches).map_err(arrow)?;
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let time_column = batch.column(1);
        let DataType::Timestamp(TimeUnit::Nanosecond, timezone) = time_column.data_type() else {
            return Err(failed(format!(
                "gap filling expected a nanosecond time column, got {}",
                time_column.data_type()
            )));
        };
        let times = time_column.as_primitive::<TimestampNanosecondType>();
        let series_starts = self.series_starts(&batch)?;

        let last = self.bucket(upper);
        let intervals: u128 = series_starts
            .iter()
            .map(|&start| {
                let first = self.bucket(lower.unwrap_or(times.value(start)));
                let span = i128::from(last) - i128::from(first);
                u128::try_from(span / i128::from(self.interval) + 1).unwrap_or(0)
            })
            .sum();
        if intervals > MAX_ROWS as u128 {
            return Err(failed(format!(
                "fill() would produce {intervals} rows, more than the emulator's limit of {MAX_ROWS}; narrow the time range, widen the GROUP BY time interval or use fill(none)"
            )));
        }
        let mut rows: Vec<OutputRow> = Vec::new();
        for (n, &start) in series_starts.iter().enumerate() {
            let end = series_starts
                .get(n + 1)
                .copied()
                .unwrap_or(batch.num_rows());
            let mut next = start;
            // The next interval to emit, `None` once past `last` (or past the end of time).
            let step = |b: i64| b.checked_add(self.interval).filter(|&b| b <= last);
            let first = self.bucket(lower.unwrap_or(times.value(start)));
            let mut bucket = (first <= last).then_some(first);
            loop {
                let row_time = (next < end).then(|| times.value(next));
                match (row_time, bucket) {
                    (Some(t), b) if b.is_none_or(|b| t <= b) => {
                        if b == Some(t) {
                            bucket = step(t);
                        }
                        rows.push(OutputRow {
                            series: start,
                            time: t,
                            source: Some(index(next)?),
                        });
                        next += 1;
                    }
                    (_, Some(b)) => {
                        rows.push(OutputRow {
                            series: start,
                            time: b,
                            source: None,
                        });
                        bucket = step(b);
                    }
                    (_, None) => break,
                }
            }
        }

        let series_rows: Vec<u32> = rows
            .iter()
            .map(|r| index(r.series))
            .collect::<Result<_, _>>()?;
        let series_rows = UInt32Array::from(series_rows);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        columns.push(take(batch.column(0), &series_rows, None).map_err(arrow)?);
        columns.push(Arc::new(
            TimestampNanosecondArray::from(rows.iter().map(|r| r.time).collect::<Vec<_>>())
                .with_timezone_opt(timezone.clone()),
        ));
        for tag in 0..self.tags {
            columns.push(take(batch.column(2 + tag), &series_rows, None).map_err(arrow)?);
        }
        for (n, column) in batch.columns().iter().skip(2 + self.tags).enumerate() {
            let count = self.counts.get(n).copied().unwrap_or(false);
            columns.push(self.fill_column(column, &rows, count)?);
        }
        let filled = RecordBatch::try_new(Arc::clone(schema), columns).map_err(arrow)?;

        // ORDER BY time DESC and LIMIT/OFFSET, per series.
        let mut order: Vec<u32> = Vec::with_capacity(rows.len());
        let mut at = 0;
        while at < rows.len() {
            let series = rows[at].series;
            let end = rows[at..]
                .iter()
                .position(|r| r.series != series)
                .map_or(rows.len(), |n| at + n);
            let mut positions: Vec<usize> = (at..end).collect();
            if self.order_desc {
                positions.reverse();
            }
            let skip = usize::try_from(self.offset_rows.unwrap_or(0)).unwrap_or(usize::MAX);
            let keep = self
                .limit
                .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
            for position in positions.into_iter().skip(skip).take(keep) {
                order.push(index(position)?);
            }
            at = end;
        }
        let order = UInt32Array::from(order);
        let columns = filled
            .columns()
            .iter()
            .map(|c| take(c, &order, None))
            .collect::<Result<Vec<_>, _>>()
            .map_err(arrow)?;
        let result = RecordBatch::try_new(Arc::clone(schema), columns).map_err(arrow)?;
        Ok(vec![result])
    }

    /// The first row of each series (rows whose tag values differ from the row before).
    fn series_starts(&self, batch: &RecordBatch) -> Result<Vec<usize>, QueryError> {
        if self.tags == 0 {
            return Ok(vec![0]);
        }
        let tags: Vec<ArrayRef> = batch.columns()[2..2 + self.tags].to_vec();
        let converter = RowConverter::new(
            tags.iter()
                .map(|c| SortField::new(c.data_type().clone()))
                .collect(),
        )
        .map_err(arrow)?;
        let keys = converter.convert_columns(&tags).map_err(arrow)?;
        Ok((0..batch.num_rows())
            .filter(|&i| i == 0 || keys.row(i) != keys.row(i - 1))
            .collect())
    }

    /// One value column of the output: the source values, and for the added rows what
    /// `fill` says.
    fn fill_column(
        &self,
        column: &ArrayRef,
        rows: &[OutputRow],
        count: bool,
    ) -> Result<ArrayRef, QueryError> {
        let sources: Vec<Option<u32>> = match self.fill {
            // The series' last value (at an added row, or a null of a row with data).
            Fill::Previous => {
                let mut last: Option<(usize, u32)> = None;
                rows.iter()
                    .map(|r| match r.source {
                        Some(s) if column.is_valid(s as usize) => {
                            last = Some((r.series, s));
                            Some(s)
                        }
                        source => match last {
                            Some((series, s)) if series == r.series => Some(s),
                            _ => source,
                        },
                    })
                    .collect()
            }
            _ => rows.iter().map(|r| r.source).collect(),
        };
        let taken = take(column, &UInt32Array::from(sources), None).map_err(arrow)?;
        Ok(match self.fill {
            Fill::Null | Fill::None if count => fill_nulls(&taken, 0.0),
            Fill::Null | Fill::None | Fill::Previous => taken,
            Fill::Value(v) => fill_nulls(&taken, v),
            Fill::Linear => interpolate(&taken, rows),
        })
    }
}

/// `column` with its nulls replaced by `v`, cast to the column's type (truncated towards
/// zero for integers). Columns that are not numbers keep their nulls.
fn fill_nulls(column: &ArrayRef, v: f64) -> ArrayRef {
    match column.data_type() {
        DataType::Float64 => Arc::new(Float64Array::from_iter(
            column
                .as_primitive::<Float64Type>()
                .iter()
                .map(|x| x.or(Some(v))),
        )),
        DataType::Int64 => Arc::new(Int64Array::from_iter(
            column
                .as_primitive::<Int64Type>()
                .iter()
                .map(|x| x.or(Some(v as i64))),
        )),
        DataType::UInt64 => Arc::new(UInt64Array::from_iter(
            column
                .as_primitive::<UInt64Type>()
                .iter()
                .map(|x| x.or(Some(v as u64))),
        )),
        _ => Arc::clone(column),
    }
}

/// `column` with each null between two values of the same series replaced by the value
/// on the straight line between them (by time; truncated for integers). Nulls before a
/// series' first value or after its last stay null, as do columns that are not numbers.
fn interpolate(column: &ArrayRef, rows: &[OutputRow]) -> ArrayRef {
    let values: Vec<Option<f64>> = match column.data_type() {
        DataType::Float64 => column.as_primitive::<Float64Type>().iter().collect(),
        DataType::Int64 => column
            .as_primitive::<Int64Type>()
            .iter()
            .map(|x| x.map(|x| x as f64))
            .collect(),
        DataType::UInt64 => column
            .as_primitive::<UInt64Type>()
            .iter()
            .map(|x| x.map(|x| x as f64))
            .collect(),
        _ => return Arc::clone(column),
    };
    let mut out = values.clone();
    let mut previous: Option<usize> = None;
    for (i, value) in values.iter().enumerate() {
        if previous.is_some_and(|p| rows[p].series != rows[i].series) {
            previous = None;
        }
        if value.is_none() {
            continue;
        }
        if let Some(p) = previous
            && p + 1 < i
            && let (Some(v0), Some(v1)) = (values[p], values[i])
        {
            let (t0, t1) = (rows[p].time as f64, rows[i].time as f64);
            for (j, slot) in out.iter_mut().enumerate().take(i).skip(p + 1) {
                let t = rows[j].time as f64;
                *slot = Some(v0 + (v1 - v0) * (t - t0) / (t1 - t0));
            }
        }
        previous = Some(i);
    }
    match column.data_type() {
        DataType::Int64 => Arc::new(Int64Array::from_iter(
            out.iter().map(|x| x.map(|x| x as i64)),
        )),
        DataType::UInt64 => Arc::new(UInt64Array::from_iter(
            out.iter().map(|x| x.map(|x| x as u64)),
        )),
        _ => Arc::new(Float64Array::from_iter(out)),
    }
}

fn index(i: usize) -> Result<u32, QueryError> {
    u32::try_from(i).map_err(|_| failed("too many rows to fill gaps in".to_owned()))
}

fn arrow(e: ArrowError) -> QueryError {
    QueryError::execution(e.into())
}

fn failed(message: String) -> QueryError {
    QueryError::execution(DataFusionError::Execution(message))
}

#[cfg(test)]
mod tests {
    use arrow_array::StringArray;
    use arrow_schema::{Field, Schema};

    use super::*;

    /// Intervals at the end of time stop there instead of wrapping or looping.
    #[test]
    fn the_last_interval_before_the_end_of_time_ends_the_series() -> Result<(), QueryError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("iox::measurement", DataType::Utf8, false),
            Field::new(
                "time",
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                false,
            ),
            Field::new("v", DataType::Float64, true),
        ]));
        let start = i64::MAX - 35;
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec!["m"])),
                Arc::new(TimestampNanosecondArray::from(vec![start])),
                Arc::new(Float64Array::from(vec![1.5])),
            ],
        )
        .map_err(arrow)?;
        let plan = GapFill {
            interval: 10,
            offset: start,
            fill: Fill::Previous,
            tags: 0,
            counts: vec![false],
            order_desc: false,
            limit: None,
            offset_rows: None,
        };
        let out = plan.apply(&schema, &[batch], Some(start), i64::MAX)?;
        let times: Vec<i64> = out[0]
            .column(1)
            .as_primitive::<TimestampNanosecondType>()
            .values()
            .to_vec();
        assert_eq!(times, [start, start + 10, start + 20, start + 30]);
        let values: Vec<Option<f64>> = out[0]
            .column(2)
            .as_primitive::<Float64Type>()
            .iter()
            .collect();
        assert_eq!(values, [Some(1.5); 4]);
        Ok(())
    }
}

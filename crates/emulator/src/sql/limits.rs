//! The per-query memory limit: no query can make the emulator abort on a failed allocation.
//!
//! Two guards, because DataFusion accounts only part of what a query allocates:
//! - operators that buffer rows (sorts, aggregations, joins, windows) reserve memory from a
//!   [`GreedyMemoryPool`] of [`QUERY_MEMORY_LIMIT`] bytes per query and fail with
//!   `Resources exhausted` past it;
//! - scalar functions allocate their results outside the pool, and a few can be asked for
//!   any size (`repeat('x', 1500000000)`, `lpad`, `rpad`, `array_repeat`, `range`,
//!   `generate_series`): they are replaced by wrappers that compute the size of the result
//!   from their arguments first and answer the same error when it exceeds the limit.

use std::sync::Arc;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_schema::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// The memory one query may use, in bytes: for the rows its operators buffer, and for the
/// result of any one call of a function that can produce arbitrarily large values.
pub(crate) const QUERY_MEMORY_LIMIT: usize = 512 * 1024 * 1024;

/// A runtime whose memory pool holds [`QUERY_MEMORY_LIMIT`] bytes.
pub(crate) fn runtime() -> Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(QUERY_MEMORY_LIMIT)))
        .build_arc()
}

/// How the size of a function's result follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    /// `repeat(s, n)`: the bytes of `s`, `n` times.
    Repeat,
    /// `lpad(s, n[, fill])`, `rpad(…)`: `n` characters of up to four bytes.
    Pad,
    /// `array_repeat(v, n)`: `n` elements.
    Elements,
    /// `range(start, stop[, step])`, `generate_series(…)` over integers.
    Range,
}

/// Replaces the functions of [`Size`] in `ctx` by size-checked wrappers.
pub(crate) fn register(ctx: &SessionContext) {
    let functions = ctx.state().scalar_functions().clone();
    for (name, size) in [
        ("repeat", Size::Repeat),
        ("lpad", Size::Pad),
        ("rpad", Size::Pad),
        ("array_repeat", Size::Elements),
        ("range", Size::Range),
        ("generate_series", Size::Range),
    ] {
        if let Some(inner) = functions.get(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(Bounded {
                inner: Arc::clone(inner),
                size,
            }));
        }
    }
}

/// A function whose result is refused when it would exceed [`QUERY_MEMORY_LIMIT`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    size: Size,
}

/// The `i`-th argument as an array of `rows` 64-bit integers (nulls count as zero).
fn integers(args: &ScalarFunctionArgs, i: usize) -> Option<Vec<i64>> {
    let array = args.args.get(i)?.to_array(args.number_rows).ok()?;
    let array = arrow_cast::cast(&array, &DataType::Int64).ok()?;
    let array = array.as_primitive_opt::<Int64Type>()?;
    Some(
        (0..array.len())
            .map(|row| {
                if array.is_null(row) {
                    0
                } else {
                    array.value(row)
                }
            })
            .collect(),
    )
}

impl Bounded {
    /// The bytes the call would produce, when they can be told from the arguments.
    fn estimate(&self, args: &ScalarFunctionArgs) -> Option<u128> {
        let rows = |values: Vec<i64>| {
            values
                .into_iter()
                .map(|v| u128::from(v.max(0).unsigned_abs()))
        };
        match self.size {
            Size::Repeat => {
                let strings = args.args.first()?.to_array(args.number_rows).ok()?;
                let lengths = arrow_cast::cast(
                    &datafusion::arrow::compute::kernels::length::length(&strings).ok()?,
                    &DataType::Int64,
                )
                .ok()?;
                let lengths = lengths.as_primitive_opt::<Int64Type>()?;
                let counts = integers(args, 1)?;
                Some(
                    lengths
                        .iter()
                        .zip(rows(counts))
                        .map(|(len, n)| u128::from(len.unwrap_or(0).unsigned_abs()) * n)
                        .sum(),
                )
            }
            Size::Pad => Some(rows(integers(args, 1)?).map(|n| n * 4).sum()),
            Size::Elements => Some(rows(integers(args, 1)?).map(|n| n * 8).sum()),
            Size::Range => {
                if !args
                    .arg_fields
                    .iter()
                    .all(|f| f.data_type().is_integer() || f.data_type() == &DataType::Null)
                {
                    return None;
                }
                let (start, stop) = match args.args.len() {
                    1 => (vec![0; args.number_rows], integers(args, 0)?),
                    _ => (integers(args, 0)?, integers(args, 1)?),
                };
                let step = match args.args.len() {
                    3 => integers(args, 2)?,
                    _ => vec![1; args.number_rows],
                };
                Some(
                    start
                        .iter()
                        .zip(&stop)
                        .zip(&step)
                        .map(|((a, b), s)| {
                            let span = (i128::from(*b) - i128::from(*a)).unsigned_abs();
                            let step = i128::from(*s).unsigned_abs().max(1);
                            (span / step + 1) * 8
                        })
                        .sum(),
                )
            }
        }
    }
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs<'_>) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let Some(bytes) = self.estimate(&args)
            && bytes > QUERY_MEMORY_LIMIT as u128
        {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{}() would allocate {bytes} bytes, more than the emulator's per-query memory \
                 limit of {QUERY_MEMORY_LIMIT} bytes",
                self.inner.name()
            )));
        }
        self.inner.invoke_with_args(args)
    }
}

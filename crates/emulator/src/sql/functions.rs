//! SQL functions as InfluxDB 3 Core 3.6.0 has them where our DataFusion differs:
//! - `date_trunc` and `date_part` (`extract`) results are nullable, as in the server's
//!   DataFusion (ours derives their nullability from the arguments);
//! - `concat` returns `Utf8View`, as the server's (its arguments were coerced to views);
//! - the InfluxDB selector aggregates `selector_first`, `selector_last`, `selector_min` and
//!   `selector_max` (`selector_last(value, time)` is a struct of `value` and `time`, read
//!   with `['value']` and `['time']`, which the [`Planner`] plans as `get_field`).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, FieldRef, Fields, TimeUnit};
use datafusion::common::DFSchema;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawFieldAccessExpr};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Expr, GetFieldAccess,
    ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers the functions of this module in `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    let functions = ctx.state().scalar_functions().clone();
    for name in ["date_trunc", "date_part"] {
        if let Some(inner) = functions.get(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(NullableResult {
                inner: Arc::clone(inner),
            }));
        }
    }
    if let Some(inner) = functions.get("concat") {
        ctx.register_udf(ScalarUDF::new_from_impl(ViewResult {
            inner: Arc::clone(inner),
        }));
    }
    for kind in [
        Selector::First,
        Selector::Last,
        Selector::Min,
        Selector::Max,
    ] {
        ctx.register_udaf(AggregateUDF::new_from_impl(SelectorUdaf::new(kind)));
    }
}

/// Plans `EXTRACT(… FROM …)` with the nullable `date_part` and `struct['name']` field access
/// (DataFusion's own planner for it comes with the nested functions, not built here).
/// Put first among the session's planners.
#[derive(Debug, Default)]
pub(crate) struct Planner;

impl ExprPlanner for Planner {
    fn plan_extract(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        let date_part = ScalarUDF::new_from_impl(NullableResult {
            inner: datafusion::functions::datetime::date_part(),
        });
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::new(date_part), args),
        )))
    }

    fn plan_field_access(
        &self,
        expr: RawFieldAccessExpr,
        _schema: &DFSchema,
    ) -> Result<PlannerResult<RawFieldAccessExpr>> {
        match expr.field_access {
            GetFieldAccess::NamedStructField { name } => Ok(PlannerResult::Planned(
                Expr::ScalarFunction(ScalarFunction::new_udf(
                    datafusion::functions::core::get_field(),
                    vec![expr.expr, Expr::Literal(name, None)],
                )),
            )),
            field_access => Ok(PlannerResult::Original(RawFieldAccessExpr {
                field_access,
                expr: expr.expr,
            })),
        }
    }
}

/// A scalar function whose result is always nullable.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NullableResult {
    inner: Arc<ScalarUDF>,
}

impl ScalarUDFImpl for NullableResult {
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
        let field = self.inner.return_field_from_args(args)?;
        Ok(Arc::new(field.as_ref().clone().with_nullable(true)))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }
}

/// A string function whose `Utf8` result is returned as `Utf8View`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ViewResult {
    inner: Arc<ScalarUDF>,
}

/// `Utf8View` for `Utf8`, other types unchanged.
fn as_view(data_type: DataType) -> DataType {
    match data_type {
        DataType::Utf8 => DataType::Utf8View,
        other => other,
    }
}

impl ScalarUDFImpl for ViewResult {
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
        self.inner.return_type(arg_types).map(as_view)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs<'_>) -> Result<FieldRef> {
        let field = self.inner.return_field_from_args(args)?;
        let data_type = as_view(field.data_type().clone());
        Ok(Arc::new(field.as_ref().clone().with_data_type(data_type)))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let field = args.return_field.as_ref().clone();
        let inner_type = match field.data_type() {
            DataType::Utf8View => DataType::Utf8,
            other => other.clone(),
        };
        args.return_field = Arc::new(field.with_data_type(inner_type));
        let result = self.inner.invoke_with_args(args)?;
        result.cast_to(&as_view(result.data_type()), None)
    }
}

/// Which point a selector keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Selector {
    /// The earliest (the first seen among equal times).
    First,
    /// The latest (the first seen among equal times).
    Last,
    /// The smallest value (the earliest among equal values).
    Min,
    /// The largest value (the earliest among equal values).
    Max,
}

impl Selector {
    fn name(self) -> &'static str {
        match self {
            Selector::First => "selector_first",
            Selector::Last => "selector_last",
            Selector::Min => "selector_min",
            Selector::Max => "selector_max",
        }
    }
}

/// `selector_*(value, time)`: the aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SelectorUdaf {
    kind: Selector,
    signature: Signature,
}

impl SelectorUdaf {
    fn new(kind: Selector) -> Self {
        Self {
            kind,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, None)
}

/// The struct a selector returns for values of `value_type`.
fn struct_fields(value_type: &DataType) -> Fields {
    Fields::from(vec![
        Field::new("value", value_type.clone(), true),
        Field::new("time", time_type(), true),
    ])
}

impl AggregateUDFImpl for SelectorUdaf {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [value, DataType::Timestamp(..)] => Ok(DataType::Struct(struct_fields(value))),
            _ => Err(DataFusionError::Plan(format!(
                "{} takes a value and a timestamp, got {arg_types:?}",
                self.kind.name()
            ))),
        }
    }

    fn accumulator(&self, args: AccumulatorArgs<'_>) -> Result<Box<dyn Accumulator>> {
        let value_type = args
            .exprs
            .first()
            .map(|e| e.data_type(args.schema))
            .transpose()?
            .unwrap_or(DataType::Null);
        Ok(Box::new(SelectorAccumulator {
            kind: self.kind,
            value: ScalarValue::try_from(&value_type)?,
            time: None,
            value_type,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs<'_>) -> Result<Vec<FieldRef>> {
        let value_type = args
            .input_fields
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Null);
        Ok(vec![
            Arc::new(Field::new("value", value_type, true)),
            Arc::new(Field::new("time", time_type(), true)),
        ])
    }
}

/// The point selected so far.
#[derive(Debug)]
struct SelectorAccumulator {
    kind: Selector,
    value_type: DataType,
    value: ScalarValue,
    /// `None` until a non-null value is seen.
    time: Option<i64>,
}

impl SelectorAccumulator {
    /// Offers the non-null `value` at `time`.
    fn offer(&mut self, value: ScalarValue, time: i64) -> Result<()> {
        let better = match self.time {
            None => true,
            Some(current) => match self.kind {
                Selector::First => time < current,
                Selector::Last => time > current,
                Selector::Min | Selector::Max => {
                    let order = value.partial_cmp(&self.value);
                    match (self.kind, order) {
                        (Selector::Min, Some(std::cmp::Ordering::Less))
                        | (Selector::Max, Some(std::cmp::Ordering::Greater)) => true,
                        (_, Some(std::cmp::Ordering::Equal)) => time < current,
                        _ => false,
                    }
                }
            },
        };
        if better {
            self.value = value;
            self.time = Some(time);
        }
        Ok(())
    }

    fn consume(&mut self, values: &ArrayRef, times: &ArrayRef) -> Result<()> {
        let times = arrow_cast::cast(times, &time_type())?;
        let times = times.as_primitive::<TimestampNanosecondType>();
        for row in 0..values.len().min(times.len()) {
            if values.is_null(row) || times.is_null(row) {
                continue;
            }
            self.offer(ScalarValue::try_from_array(values, row)?, times.value(row))?;
        }
        Ok(())
    }
}

impl Accumulator for SelectorAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values {
            [value, time] => self.consume(value, time),
            _ => Err(DataFusionError::Internal(
                "a selector takes two arguments".to_owned(),
            )),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            self.value.clone(),
            ScalarValue::TimestampNanosecond(self.time, None),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = self.value.to_array_of_size(1)?;
        let time = ScalarValue::TimestampNanosecond(self.time, None).to_array_of_size(1)?;
        let array = arrow_array::StructArray::try_new(
            struct_fields(&self.value_type),
            vec![value, time],
            None,
        )?;
        Ok(ScalarValue::Struct(Arc::new(array)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.size()
    }
}

//! The InfluxQL subset, translated to SQL for DataFusion.
//!
//! OWNERSHIP: Flight/SQL side.
//!
//! A tokenizer ([`tokenize`]) and a recursive-descent parser ([`Parser`]) turn one statement
//! into a small AST, which [`translate`] turns either into SQL text over the same tables as
//! SQL queries, or (for `SHOW …`) straight into record batches built from the snapshot.
//!
//! Supported:
//! - `SELECT` of fields, tags, `*` (also `*::field`, `*::tag`), `::integer`/`::float`/
//!   `::unsigned` casts, arithmetic, and the aggregates `MEAN`, `MEDIAN`, `SUM`, `COUNT`
//!   (also `COUNT(DISTINCT(f))`), `MIN`, `MAX`, `FIRST`, `LAST`, `SPREAD`, `STDDEV`,
//!   `DISTINCT`, also over `*` (`count(*)` is `count_<field>` per field), with `AS`
//!   aliases; `FROM` one or several measurements (one result ordered by measurement, columns
//!   a measurement lacks are null);
//! - `WHERE` with `AND`/`OR`, comparisons, `=~`/`!~` regexes, time conditions against
//!   RFC 3339 strings, epoch-nanosecond integers, `now()` arithmetic with duration literals
//!   and bare durations (`time >= 2s` is two seconds after the epoch, as on the server),
//!   `$name` parameters;
//! - `GROUP BY` tags, `*` and `time(interval[, offset])` with `fill(null|none|<number>|
//!   previous|linear)`: empty intervals of each series are filled over the `WHERE` time range
//!   (up to now without an upper bound) by [`crate::gapfill`], as the server does; a fill
//!   number replaces output values, not values inside an expression of aggregates;
//!   `ORDER BY time [ASC|DESC]`, `LIMIT`/`OFFSET` (per series, as in InfluxDB);
//! - `SHOW MEASUREMENTS [WITH MEASUREMENT = m | =~ /re/] [LIMIT n] [OFFSET n]`,
//!   `SHOW TAG KEYS [FROM m]`, `SHOW FIELD KEYS [FROM m]`,
//!   `SHOW TAG VALUES [FROM m] WITH KEY = k | IN (…) | =~ /re/ [WHERE …]`,
//!   `SHOW RETENTION POLICIES` (`SHOW DATABASES` is answered by the HTTP endpoints).
//!
//! Results carry the server's schema metadata (see [`translate`]); syntax errors use the
//! server parser's words where the emulator knows them (`invalid SELECT statement, expected
//! field at pos 7`).
//!
//! Anything else fails with `the emulator does not support …`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::compute::kernels::regexp as arrow_string_regexp;

use crate::gapfill::{Fill, GapFill};
use crate::sql::QueryError;
use crate::state::{DatabaseSnapshot, TableSnapshot};

/// Name of the first column of every InfluxQL result.
const MEASUREMENT_COLUMN: &str = "iox::measurement";
/// Field metadata key holding the InfluxDB column type.
const COLUMN_TYPE_KEY: &str = "iox::column::type";

/// What an InfluxQL statement becomes.
#[derive(Debug)]
pub(crate) enum Translation {
    /// SQL text to plan on the snapshot's session.
    Sql(String),
    /// A result computed directly from the snapshot (metadata queries).
    Batches(SchemaRef, Vec<RecordBatch>),
    /// `GROUP BY time(…)` with gap filling: `sql` gives the intervals with data, ordered by
    /// series and time; `bounds` is one row of the time range's candidate bounds in
    /// nanoseconds (the first `lower` columns are lower bounds, the narrowest wins; the
    /// others upper bounds, likewise), for [`GapFill::apply`].
    GapFill {
        sql: String,
        bounds: String,
        lower: usize,
        plan: GapFill,
    },
}

/// Schema metadata of an InfluxQL result.
pub(crate) type Metadata = HashMap<String, String>;

/// Schema metadata key describing the `GROUP BY` tag columns of an InfluxQL result.
const GROUP_KEY_METADATA: &str = "iox::influxql::group_key::metadata";

/// Parses one InfluxQL statement and translates it for `snapshot` (as seen by queries, see
/// [`crate::sql::view`]). The metadata is the result's schema metadata, as the server sets
/// it: the `GROUP BY` tag columns, and the measurement and its series key when the statement
/// reads exactly one existing measurement.
pub(crate) fn translate(
    snapshot: &DatabaseSnapshot,
    text: &str,
) -> Result<(Translation, Metadata, FieldMetadata), QueryError> {
    let mut field_metadata = FieldMetadata::Keep;
    let statement = parse(text)?;
    let mut metadata = Metadata::from([(GROUP_KEY_METADATA.to_owned(), "{}".to_owned())]);
    let one_table = |name: Option<&str>| {
        name.and_then(|name| snapshot.tables.iter().find(|t| t.name == name))
            .map(|t| t.schema.metadata().clone())
            .unwrap_or_default()
    };
    let translation = match statement {
        Statement::Select(select) => {
            let (translation, group_key) = select_sql(snapshot, &select)?;
            metadata.insert(GROUP_KEY_METADATA.to_owned(), group_key);
            if select.fields.iter().any(|f| contains_aggregate(&f.expr)) {
                field_metadata = FieldMetadata::TagsOnly;
            }
            if let [from] = select.from.as_slice() {
                metadata.extend(one_table(Some(from)));
            }
            translation
        }
        Statement::ShowMeasurements {
            filter,
            limit,
            offset,
        } => show_measurements(snapshot, filter.as_ref(), limit, offset)?,
        Statement::ShowTagKeys { from } => show_keys(snapshot, from.as_deref(), KeyKind::Tag)?,
        Statement::ShowFieldKeys { from } => show_keys(snapshot, from.as_deref(), KeyKind::Field)?,
        Statement::ShowTagValues {
            from,
            key,
            condition,
        } => {
            metadata.extend(one_table(from.as_deref()));
            show_tag_values(snapshot, from.as_deref(), &key, condition.as_ref())?
        }
        Statement::ShowDatabases => return Err(QueryError::not_implemented("SHOW DATABASES")),
        Statement::ShowRetentionPolicies => show_retention_policies()?,
    };
    Ok((translation, metadata, field_metadata))
}

/// Which columns of an InfluxQL result keep their `iox::column::type` field metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldMetadata {
    /// All (raw `SELECT`s and `SHOW`s).
    Keep,
    /// Only tags (aggregates: computed values and bucket times carry none).
    TagsOnly,
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// One token of InfluxQL text.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An identifier or keyword; `quoted` identifiers (`"…"`) are never keywords.
    Ident { name: String, quoted: bool },
    /// A single-quoted string.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A decimal literal.
    Float(f64),
    /// A duration literal such as `10m` or `1h30m`, in nanoseconds.
    Duration(i64),
    /// A `/…/` regular expression (only lexed after `=~` or `!~`).
    Regex(String),
    /// A `$name` bind parameter.
    Param(String),
    /// An operator or punctuation.
    Sym(Sym),
    /// End of input.
    Eof,
}

/// Operators and punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sym {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    RegexMatch,
    RegexNotMatch,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    LParen,
    RParen,
    Comma,
    Dot,
    Semicolon,
    DoubleColon,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident {
                name,
                quoted: false,
            } => write!(f, "{name}"),
            Token::Ident { name, quoted: true } => write!(f, "\"{name}\""),
            Token::Str(s) => write!(f, "'{s}'"),
            Token::Int(i) => write!(f, "{i}"),
            Token::Float(x) => write!(f, "{x}"),
            Token::Duration(ns) => write!(f, "{ns}ns"),
            Token::Regex(r) => write!(f, "/{r}/"),
            Token::Param(p) => write!(f, "${p}"),
            Token::Sym(s) => f.write_str(match s {
                Sym::Eq => "=",
                Sym::NotEq => "!=",
                Sym::Lt => "<",
                Sym::LtEq => "<=",
                Sym::Gt => ">",
                Sym::GtEq => ">=",
                Sym::RegexMatch => "=~",
                Sym::RegexNotMatch => "!~",
                Sym::Plus => "+",
                Sym::Minus => "-",
                Sym::Star => "*",
                Sym::Slash => "/",
                Sym::Percent => "%",
                Sym::LParen => "(",
                Sym::RParen => ")",
                Sym::Comma => ",",
                Sym::Dot => ".",
                Sym::Semicolon => ";",
                Sym::DoubleColon => "::",
            }),
            Token::Eof => f.write_str("end of statement"),
        }
    }
}

/// Splits `text` into tokens, each with its byte offset.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, QueryError> {
    let bytes = text.as_bytes();
    let mut tokens: Vec<(Token, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if text[i..].starts_with("--") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if text[i..].starts_with("/*") {
            let end = text[i + 2..].find("*/").ok_or_else(|| {
                QueryError::influxql(format!("unterminated comment at position {start}"))
            })?;
            i += 2 + end + 2;
            continue;
        }
        let token = if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Token::Ident {
                name: text[start..i].to_owned(),
                quoted: false,
            }
        } else if c == b'"' || c == b'\'' {
            let (value, end) = quoted(text, i, c as char)?;
            i = end;
            if c == b'"' {
                Token::Ident {
                    name: value,
                    quoted: true,
                }
            } else {
                Token::Str(value)
            }
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (token, end) = number(text, i)?;
            i = end;
            token
        } else if c == b'$' {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if i == start + 1 {
                return Err(QueryError::influxql(format!(
                    "expected a parameter name after '$' at position {start}"
                )));
            }
            Token::Param(text[start + 1..i].to_owned())
        } else if c == b'/'
            && matches!(
                tokens.last(),
                Some((Token::Sym(Sym::RegexMatch | Sym::RegexNotMatch), _))
            )
        {
            let (regex, end) = regex(text, i)?;
            i = end;
            Token::Regex(regex)
        } else {
            let two = text.get(i..i + 2).unwrap_or("");
            let (sym, len) = match two {
                "=~" => (Sym::RegexMatch, 2),
                "!~" => (Sym::RegexNotMatch, 2),
                "!=" | "<>" => (Sym::NotEq, 2),
                "<=" => (Sym::LtEq, 2),
                ">=" => (Sym::GtEq, 2),
                "::" => (Sym::DoubleColon, 2),
                _ => match c {
                    b'=' => (Sym::Eq, 1),
                    b'<' => (Sym::Lt, 1),
                    b'>' => (Sym::Gt, 1),
                    b'+' => (Sym::Plus, 1),
                    b'-' => (Sym::Minus, 1),
                    b'*' => (Sym::Star, 1),
                    b'/' => (Sym::Slash, 1),
                    b'%' => (Sym::Percent, 1),
                    b'(' => (Sym::LParen, 1),
                    b')' => (Sym::RParen, 1),
                    b',' => (Sym::Comma, 1),
                    b'.' => (Sym::Dot, 1),
                    b';' => (Sym::Semicolon, 1),
                    _ => {
                        let ch = text[i..].chars().next().unwrap_or('?');
                        return Err(QueryError::influxql(format!(
                            "unexpected character '{ch}' at position {start}"
                        )));
                    }
                },
            };
            i += len;
            Token::Sym(sym)
        };
        tokens.push((token, start));
    }
    tokens.push((Token::Eof, text.len()));
    Ok(tokens)
}

/// Reads a `quote`-delimited literal starting at `start`; returns the unescaped text and
/// the offset after the closing quote.
fn quoted(text: &str, start: usize, quote: char) -> Result<(String, usize), QueryError> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            ch if ch == quote => return Ok((out, start + 1 + offset + 1)),
            ch => out.push(ch),
        }
    }
    Err(QueryError::influxql(format!(
        "unterminated {} at position {start}",
        if quote == '"' {
            "quoted identifier"
        } else {
            "string"
        }
    )))
}

/// Reads a `/…/` regex starting at `start` (`\/` is an escaped slash).
fn regex(text: &str, start: usize) -> Result<(String, usize), QueryError> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, '/')) => out.push('/'),
                Some((_, escaped)) => {
                    out.push('\\');
                    out.push(escaped);
                }
                None => break,
            },
            '/' => return Ok((out, start + 1 + offset + 1)),
            ch => out.push(ch),
        }
    }
    Err(QueryError::influxql(format!(
        "unterminated regular expression at position {start}"
    )))
}

/// Nanoseconds per duration unit, longest unit names first so `ms` wins over `m`.
const DURATION_UNITS: [(&str, i64); 9] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("u", 1_000),
    ("µ", 1_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Reads a number or duration literal starting at `start`.
fn number(text: &str, start: usize) -> Result<(Token, usize), QueryError> {
    let bytes = text.as_bytes();
    let digits_end = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits_end(start);
    let is_float = i < bytes.len() && bytes[i] == b'.';
    if is_float {
        i = digits_end(i + 1);
        let literal = &text[start..i];
        let value = literal.parse::<f64>().map_err(|_| {
            QueryError::influxql(format!("invalid number '{literal}' at position {start}"))
        })?;
        return Ok((Token::Float(value), i));
    }
    let starts_unit = |i: usize| {
        text[i..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == 'µ')
    };
    if i >= bytes.len() || !starts_unit(i) {
        let literal = &text[start..i];
        let value = literal.parse::<i64>().map_err(|_| {
            QueryError::influxql(format!(
                "integer '{literal}' out of range at position {start}"
            ))
        })?;
        return Ok((Token::Int(value), i));
    }
    // A duration, possibly compound (`1h30m`).
    let mut total: i64 = 0;
    let mut part_start = start;
    loop {
        let part_end = digits_end(part_start);
        let amount: i64 = text[part_start..part_end]
            .parse()
            .map_err(|_| QueryError::influxql(format!("invalid duration at position {start}")))?;
        let rest = &text[part_end..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphabetic() || *c == 'µ'))
            .map_or(rest.len(), |(n, _)| n);
        let unit = &rest[..unit_len];
        let per = match unit {
            "d" => 86_400_000_000_000,
            "w" => 604_800_000_000_000,
            _ => DURATION_UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, ns)| *ns)
                .ok_or_else(|| {
                    QueryError::influxql(format!(
                        "invalid duration unit '{unit}' at position {part_end}"
                    ))
                })?,
        };
        total = amount
            .checked_mul(per)
            .and_then(|ns| total.checked_add(ns))
            .ok_or_else(|| {
                QueryError::influxql(format!("duration out of range at position {start}"))
            })?;
        let after = part_end + unit_len;
        if after < bytes.len() && bytes[after].is_ascii_digit() {
            part_start = after;
        } else {
            return Ok((Token::Duration(total), after));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AST and parser
// ---------------------------------------------------------------------------------------------

/// One parsed statement.
#[derive(Debug, Clone, PartialEq)]
enum Statement {
    Select(Select),
    ShowMeasurements {
        /// `WITH MEASUREMENT …`, a filter on the measurement name.
        filter: Option<KeyFilter>,
        limit: Option<u64>,
        offset: Option<u64>,
    },
    ShowTagKeys {
        from: Option<String>,
    },
    ShowFieldKeys {
        from: Option<String>,
    },
    ShowTagValues {
        from: Option<String>,
        key: KeyFilter,
        condition: Option<Expr>,
    },
    ShowDatabases,
    ShowRetentionPolicies,
}

/// The `WITH KEY` clause of `SHOW TAG VALUES`.
#[derive(Debug, Clone, PartialEq)]
enum KeyFilter {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    Regex { pattern: String, negated: bool },
}

/// A `SELECT` statement.
#[derive(Debug, Clone, PartialEq)]
struct Select {
    fields: Vec<SelectField>,
    /// The measurements, in the order named (at least one).
    from: Vec<String>,
    condition: Option<Expr>,
    group_by_time: Option<TimeBucket>,
    group_by_tags: GroupTags,
    fill: Fill,
    order_desc: bool,
    limit: Option<u64>,
    offset: Option<u64>,
}

/// One projection of a `SELECT`.
#[derive(Debug, Clone, PartialEq)]
struct SelectField {
    expr: Expr,
    alias: Option<String>,
}

/// `GROUP BY time(interval, offset)`, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeBucket {
    interval: i64,
    offset: i64,
}

/// The tag dimensions of `GROUP BY`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupTags {
    Listed(Vec<String>),
    All,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// A column reference, with an optional `::type` cast.
    Ident {
        name: String,
        cast: Option<String>,
    },
    /// `*`, with an optional `::field` / `::tag` filter.
    Wildcard {
        cast: Option<String>,
    },
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Duration(i64),
    Regex(String),
    Param(String),
    /// A function call; `name` is lower case.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    RegexMatch,
    RegexNotMatch,
    And,
    Or,
}

impl BinOp {
    fn sql(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::NotEq => "!=",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::RegexMatch => "~",
            BinOp::RegexNotMatch => "!~",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }

    /// The precedence level of the operators that chain left to right without parentheses
    /// (`OR`; `AND`; `+ -`; `* / %`); comparisons do not chain.
    fn chain_level(self) -> Option<u8> {
        match self {
            BinOp::Or => Some(1),
            BinOp::And => Some(2),
            BinOp::Add | BinOp::Sub => Some(3),
            BinOp::Mul | BinOp::Div | BinOp::Mod => Some(4),
            _ => None,
        }
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
        )
    }
}

/// Parses exactly one statement (a trailing `;` is allowed).
fn parse(text: &str) -> Result<Statement, QueryError> {
    let tokens = tokenize(text)?;
    // Bounds both the parser's recursion (parentheses, unary minus, calls) and the depth of
    // the trees it builds (chains of operators), as for SQL.
    let operators = tokens
        .iter()
        .filter(|(token, _)| match token {
            Token::Sym(Sym::Comma | Sym::RParen | Sym::Dot | Sym::Semicolon) => false,
            Token::Sym(_) => true,
            Token::Ident {
                name,
                quoted: false,
            } => is_reserved(name),
            _ => false,
        })
        .count();
    QueryError::check_operators("InfluxQL", operators)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        text: text.to_owned(),
    };
    let statement = parser.statement()?;
    parser.accept_sym(Sym::Semicolon);
    if parser.peek() != &Token::Eof {
        if parser.at > 0 && parser.tokens[parser.at - 1].0 == Token::Sym(Sym::Semicolon) {
            return Err(QueryError::influxql_statements());
        }
        return Err(QueryError::influxql_invalid_statement(
            text,
            parser.position(),
        ));
    }
    Ok(statement)
}

/// A recursive-descent parser over the token list.
#[derive(Debug)]
struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    /// The statement text, for the server's "invalid InfluxQL statement" message.
    text: String,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.at).map_or(&Token::Eof, |(t, _)| t)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        self.tokens
            .get(self.at + ahead)
            .map_or(&Token::Eof, |(t, _)| t)
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or(self.text.len(), |(_, p)| *p)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn unexpected(&self, expected: &str) -> QueryError {
        QueryError::influxql_syntax(
            format!("expected {expected}, found {}", self.peek()),
            self.position(),
        )
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Token::Ident { name, quoted: false } if name.eq_ignore_ascii_case(keyword))
    }

    fn accept_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), QueryError> {
        if self.accept_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected(keyword))
        }
    }

    fn accept_sym(&mut self, sym: Sym) -> bool {
        let found = self.peek() == &Token::Sym(sym);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_sym(&mut self, sym: Sym) -> Result<(), QueryError> {
        if self.accept_sym(sym) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", Token::Sym(sym))))
        }
    }

    fn identifier(&mut self) -> Result<String, QueryError> {
        match self.peek() {
            Token::Ident { name, quoted } if *quoted || !is_reserved(name) => {
                let name = name.clone();
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.unexpected("identifier")),
        }
    }

    /// The unsigned integer of a `LIMIT`-like `clause`, with the server's error.
    fn unsigned_clause(&mut self, clause: &str) -> Result<u64, QueryError> {
        match self.peek() {
            Token::Int(n) if *n >= 0 => {
                let n = n.unsigned_abs();
                self.at += 1;
                Ok(n)
            }
            _ => Err(QueryError::influxql_syntax(
                format!("invalid {clause} clause, expected unsigned integer"),
                self.position(),
            )),
        }
    }

    fn statement(&mut self) -> Result<Statement, QueryError> {
        if self.accept_keyword("SELECT") {
            return self.select().map(Statement::Select);
        }
        if self.accept_keyword("SHOW") {
            return self.show();
        }
        for keyword in [
            "EXPLAIN", "DELETE", "DROP", "CREATE", "ALTER", "GRANT", "REVOKE", "KILL", "SET",
        ] {
            if self.is_keyword(keyword) {
                return Err(QueryError::unsupported(format!(
                    "{keyword} statements in InfluxQL"
                )));
            }
        }
        Err(QueryError::influxql_invalid_statement(
            &self.text,
            self.position(),
        ))
    }

    fn show(&mut self) -> Result<Statement, QueryError> {
        if self.accept_keyword("DATABASES") {
            return Ok(Statement::ShowDatabases);
        }
        if self.accept_keyword("RETENTION") {
            self.expect_keyword("POLICIES")?;
            return Ok(Statement::ShowRetentionPolicies);
        }
        if self.accept_keyword("MEASUREMENTS") {
            let filter = if self.accept_keyword("WITH") {
                self.expect_keyword("MEASUREMENT")?;
                Some(self.key_filter()?)
            } else {
                None
            };
            let limit = if self.accept_keyword("LIMIT") {
                Some(self.unsigned_clause("LIMIT")?)
            } else {
                None
            };
            let offset = if self.accept_keyword("OFFSET") {
                Some(self.unsigned_clause("OFFSET")?)
            } else {
                None
            };
            self.reject_show_clauses("SHOW MEASUREMENTS")?;
            return Ok(Statement::ShowMeasurements {
                filter,
                limit,
                offset,
            });
        }
        if self.accept_keyword("FIELD") {
            self.expect_keyword("KEYS")?;
            let from = self.show_from()?;
            self.reject_show_clauses("SHOW FIELD KEYS")?;
            return Ok(Statement::ShowFieldKeys { from });
        }
        if self.accept_keyword("TAG") {
            if self.accept_keyword("KEYS") {
                let from = self.show_from()?;
                self.reject_show_clauses("SHOW TAG KEYS")?;
                return Ok(Statement::ShowTagKeys { from });
            }
            self.expect_keyword("VALUES")?;
            let from = self.show_from()?;
            self.expect_keyword("WITH")?;
            self.expect_keyword("KEY")?;
            let key = self.key_filter()?;
            let condition = if self.accept_keyword("WHERE") {
                Some(self.expr()?)
            } else {
                None
            };
            self.reject_show_clauses("SHOW TAG VALUES")?;
            return Ok(Statement::ShowTagValues {
                from,
                key,
                condition,
            });
        }
        Err(QueryError::influxql_syntax(
            "invalid SHOW statement, expected DATABASES, FIELD KEYS, MEASUREMENTS, TAG KEYS, \
             TAG VALUES, or RETENTION POLICIES following SHOW",
            self.position(),
        ))
    }

    /// `= name`, `!= name`, `IN (names)`, `=~ /re/` or `!~ /re/` (after `WITH KEY` or
    /// `WITH MEASUREMENT`).
    fn key_filter(&mut self) -> Result<KeyFilter, QueryError> {
        Ok(if self.accept_sym(Sym::Eq) {
            KeyFilter::Eq(self.identifier()?)
        } else if self.accept_sym(Sym::NotEq) {
            KeyFilter::NotEq(self.identifier()?)
        } else if self.accept_keyword("IN") {
            self.expect_sym(Sym::LParen)?;
            let mut keys = vec![self.identifier()?];
            while self.accept_sym(Sym::Comma) {
                keys.push(self.identifier()?);
            }
            self.expect_sym(Sym::RParen)?;
            KeyFilter::In(keys)
        } else if self.peek() == &Token::Sym(Sym::RegexMatch)
            || self.peek() == &Token::Sym(Sym::RegexNotMatch)
        {
            let negated = self.next() == Token::Sym(Sym::RegexNotMatch);
            match self.next() {
                Token::Regex(pattern) => KeyFilter::Regex { pattern, negated },
                _ => return Err(self.unexpected("regular expression")),
            }
        } else {
            return Err(self.unexpected("'=', '!=', '=~', '!~' or IN"));
        })
    }

    fn show_from(&mut self) -> Result<Option<String>, QueryError> {
        if self.accept_keyword("ON") {
            return Err(QueryError::unsupported("ON <database> in SHOW statements"));
        }
        if self.accept_keyword("FROM") {
            return self.measurement().map(Some);
        }
        Ok(None)
    }

    fn reject_show_clauses(&mut self, statement: &str) -> Result<(), QueryError> {
        for clause in ["WHERE", "WITH", "LIMIT", "OFFSET", "ON", "FROM"] {
            if self.is_keyword(clause) {
                return Err(QueryError::unsupported(format!("{clause} in {statement}")));
            }
        }
        Ok(())
    }

    fn measurement(&mut self) -> Result<String, QueryError> {
        match self.peek() {
            Token::Ident { .. } => {}
            Token::Sym(Sym::Slash) => {
                return Err(QueryError::unsupported(
                    "regular expressions in FROM (name one measurement)",
                ));
            }
            Token::Sym(Sym::LParen) => {
                return Err(QueryError::unsupported("subqueries in FROM"));
            }
            _ => {
                return Err(QueryError::influxql_syntax(
                    "invalid FROM clause, expected identifier, regular expression or subquery",
                    self.position(),
                ));
            }
        }
        let name = self.identifier()?;
        if self.peek() == &Token::Sym(Sym::Dot) {
            return Err(QueryError::influxql_not_implemented(
                "database prefix in qualified measurement syntax",
            ));
        }
        Ok(name)
    }

    fn select(&mut self) -> Result<Select, QueryError> {
        if self.is_keyword("FROM") || self.peek() == &Token::Eof {
            return Err(QueryError::influxql_syntax(
                "invalid SELECT statement, expected field",
                self.position(),
            ));
        }
        let mut fields = vec![self.select_field()?];
        while self.accept_sym(Sym::Comma) {
            fields.push(self.select_field()?);
        }
        if self.is_keyword("INTO") {
            return Err(QueryError::unsupported("SELECT … INTO"));
        }
        if !self.accept_keyword("FROM") {
            return Err(QueryError::influxql_syntax(
                "invalid SELECT statement, expected FROM clause",
                self.position(),
            ));
        }
        let mut from = vec![self.measurement()?];
        while self.accept_sym(Sym::Comma) {
            let name = self.measurement()?;
            if !from.contains(&name) {
                from.push(name);
            }
        }
        let condition = if self.accept_keyword("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut group_by_time = None;
        let mut group_by_tags = GroupTags::Listed(Vec::new());
        if self.accept_keyword("GROUP") {
            self.expect_keyword("BY")?;
            loop {
                if self.is_keyword("time") && self.peek_at(1) == &Token::Sym(Sym::LParen) {
                    self.at += 2;
                    let interval = self.duration("a duration (the GROUP BY time interval)")?;
                    if interval <= 0 {
                        return Err(QueryError::influxql(
                            "GROUP BY time interval must be positive",
                        ));
                    }
                    let offset = if self.accept_sym(Sym::Comma) {
                        self.duration("a duration (the GROUP BY time offset)")?
                    } else {
                        0
                    };
                    self.expect_sym(Sym::RParen)?;
                    group_by_time = Some(TimeBucket { interval, offset });
                } else if self.accept_sym(Sym::Star) {
                    group_by_tags = GroupTags::All;
                } else if matches!(self.peek(), Token::Sym(Sym::Slash)) {
                    return Err(QueryError::unsupported("regular expressions in GROUP BY"));
                } else {
                    let tag = self.identifier()?;
                    if let GroupTags::Listed(tags) = &mut group_by_tags {
                        tags.push(tag);
                    }
                }
                if !self.accept_sym(Sym::Comma) {
                    break;
                }
            }
        }
        let mut fill = Fill::Null;
        if self.is_keyword("fill") && self.peek_at(1) == &Token::Sym(Sym::LParen) {
            self.at += 2;
            let invalid_fill = QueryError::influxql_syntax(
                "invalid FILL option, expected NULL, NONE, PREVIOUS, LINEAR, or a number",
                self.position(),
            );
            let negative = self.accept_sym(Sym::Minus);
            let sign = if negative { -1.0 } else { 1.0 };
            fill = match self.peek() {
                Token::Int(n) => Fill::Value(sign * *n as f64),
                Token::Float(f) => Fill::Value(sign * *f),
                Token::Ident {
                    name,
                    quoted: false,
                } if !negative => match name.to_ascii_lowercase().as_str() {
                    "null" => Fill::Null,
                    "none" => Fill::None,
                    "previous" => Fill::Previous,
                    "linear" => Fill::Linear,
                    _ => return Err(invalid_fill),
                },
                _ => return Err(invalid_fill),
            };
            self.at += 1;
            self.expect_sym(Sym::RParen)?;
        }
        let mut order_desc = false;
        if self.accept_keyword("ORDER") {
            self.expect_keyword("BY")?;
            if !self.accept_keyword("time") {
                return Err(QueryError::unsupported("ORDER BY anything but time"));
            }
            if self.accept_keyword("DESC") {
                order_desc = true;
            } else {
                self.accept_keyword("ASC");
            }
        }
        let limit = if self.accept_keyword("LIMIT") {
            Some(self.unsigned_clause("LIMIT")?)
        } else {
            None
        };
        let offset = if self.accept_keyword("OFFSET") {
            Some(self.unsigned_clause("OFFSET")?)
        } else {
            None
        };
        for clause in ["SLIMIT", "SOFFSET", "tz"] {
            if self.is_keyword(clause) {
                return Err(QueryError::unsupported(clause.to_uppercase()));
            }
        }
        Ok(Select {
            fields,
            from,
            condition,
            group_by_time,
            group_by_tags,
            fill,
            order_desc,
            limit,
            offset,
        })
    }

    fn duration(&mut self, what: &str) -> Result<i64, QueryError> {
        match self.peek() {
            Token::Duration(ns) => {
                let ns = *ns;
                self.at += 1;
                Ok(ns)
            }
            Token::Sym(Sym::Minus) => {
                if let Token::Duration(ns) = self.peek_at(1) {
                    let ns = -*ns;
                    self.at += 2;
                    Ok(ns)
                } else {
                    Err(self.unexpected(what))
                }
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn select_field(&mut self) -> Result<SelectField, QueryError> {
        let expr = self.additive()?;
        let alias = if self.accept_keyword("AS") {
            Some(self.identifier()?)
        } else {
            None
        };
        Ok(SelectField { expr, alias })
    }

    /// `expr := or`
    fn expr(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.and()?;
        while self.accept_keyword("OR") {
            let rhs = self.and()?;
            lhs = binary(BinOp::Or, lhs, rhs);
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.comparison()?;
        while self.accept_keyword("AND") {
            let rhs = self.comparison()?;
            lhs = binary(BinOp::And, lhs, rhs);
        }
        Ok(lhs)
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let lhs = self.additive()?;
        let op = match self.peek() {
            Token::Sym(Sym::Eq) => BinOp::Eq,
            Token::Sym(Sym::NotEq) => BinOp::NotEq,
            Token::Sym(Sym::Lt) => BinOp::Lt,
            Token::Sym(Sym::LtEq) => BinOp::LtEq,
            Token::Sym(Sym::Gt) => BinOp::Gt,
            Token::Sym(Sym::GtEq) => BinOp::GtEq,
            Token::Sym(Sym::RegexMatch) => BinOp::RegexMatch,
            Token::Sym(Sym::RegexNotMatch) => BinOp::RegexNotMatch,
            _ => return Ok(lhs),
        };
        self.at += 1;
        let rhs = self.additive()?;
        Ok(binary(op, lhs, rhs))
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Token::Sym(Sym::Plus) => BinOp::Add,
                Token::Sym(Sym::Minus) => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.at += 1;
            let rhs = self.multiplicative()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Token::Sym(Sym::Star) => BinOp::Mul,
                Token::Sym(Sym::Slash) => BinOp::Div,
                Token::Sym(Sym::Percent) => BinOp::Mod,
                _ => return Ok(lhs),
            };
            self.at += 1;
            let rhs = self.unary()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.accept_sym(Sym::Minus) {
            return Ok(match self.unary()? {
                Expr::Int(n) => Expr::Int(-n),
                Expr::Float(x) => Expr::Float(-x),
                Expr::Duration(ns) => Expr::Duration(-ns),
                other => binary(BinOp::Sub, Expr::Int(0), other),
            });
        }
        self.accept_sym(Sym::Plus);
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let expr = match self.next() {
            Token::Sym(Sym::LParen) => {
                let inner = self.expr()?;
                self.expect_sym(Sym::RParen)?;
                return Ok(inner);
            }
            Token::Sym(Sym::Star) => Expr::Wildcard { cast: self.cast()? },
            Token::Str(s) => Expr::Str(s),
            Token::Int(n) => Expr::Int(n),
            Token::Float(x) => Expr::Float(x),
            Token::Duration(ns) => Expr::Duration(ns),
            Token::Regex(r) => Expr::Regex(r),
            Token::Param(p) => Expr::Param(p),
            Token::Ident { name, quoted } if quoted || !is_reserved(&name) => {
                if !quoted && self.peek() == &Token::Sym(Sym::LParen) {
                    self.at += 1;
                    let mut args = Vec::new();
                    if !self.accept_sym(Sym::RParen) {
                        args.push(self.expr()?);
                        while self.accept_sym(Sym::Comma) {
                            args.push(self.expr()?);
                        }
                        self.expect_sym(Sym::RParen)?;
                    }
                    return Ok(Expr::Call {
                        name: name.to_ascii_lowercase(),
                        args,
                    });
                }
                if !quoted && name.eq_ignore_ascii_case("true") {
                    Expr::Bool(true)
                } else if !quoted && name.eq_ignore_ascii_case("false") {
                    Expr::Bool(false)
                } else {
                    let cast = self.cast()?;
                    Expr::Ident { name, cast }
                }
            }
            _ => {
                self.at = self.at.saturating_sub(1);
                return Err(self.unexpected("an expression"));
            }
        };
        Ok(expr)
    }

    fn cast(&mut self) -> Result<Option<String>, QueryError> {
        if self.accept_sym(Sym::DoubleColon) {
            let ty = self.identifier()?.to_ascii_lowercase();
            match ty.as_str() {
                "field" | "tag" | "float" | "integer" | "unsigned" | "string" | "boolean" => {
                    Ok(Some(ty))
                }
                _ => Err(QueryError::influxql(format!("invalid type cast '::{ty}'"))),
            }
        } else {
            Ok(None)
        }
    }
}

/// Keywords that cannot be used as unquoted identifiers.
fn is_reserved(word: &str) -> bool {
    const RESERVED: [&str; 16] = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "OFFSET", "SLIMIT", "SOFFSET",
        "AS", "AND", "OR", "INTO", "SHOW", "WITH",
    ];
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// `lhs op rhs` as a left-deep chain of operators of `op`'s precedence: `a - b + c` gives
/// `(a, [(-, b), (+, c)])`. Written out without inner parentheses, a chain of any length
/// stays within DataFusion's parser nesting limit (50), which `((a OR b) OR c)…` does not.
fn chain<'e>(op: BinOp, lhs: &'e Expr, rhs: &'e Expr) -> (&'e Expr, Vec<(BinOp, &'e Expr)>) {
    let mut rest = vec![(op, rhs)];
    let mut first = lhs;
    while let Expr::Binary {
        op: inner,
        lhs,
        rhs,
    } = first
        && let Some(level) = op.chain_level()
        && inner.chain_level() == Some(level)
    {
        rest.push((*inner, rhs.as_ref()));
        first = lhs;
    }
    rest.reverse();
    (first, rest)
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

// ---------------------------------------------------------------------------------------------
// SELECT -> SQL
// ---------------------------------------------------------------------------------------------

/// What a column of a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Tag,
    Field,
    Time,
}

/// The columns of the measurement a `SELECT` reads (`table`), among all the measurements of
/// its `FROM` (`all`).
#[derive(Debug)]
struct Columns<'a> {
    table: Option<&'a TableSnapshot>,
    all: &'a [&'a TableSnapshot],
}

impl Columns<'_> {
    fn kind(&self, name: &str) -> Option<ColumnKind> {
        let table = self.table?;
        let field = table.schema.field_with_name(name).ok()?;
        Some(column_kind(field))
    }

    /// Tag and field names of every measurement of the `FROM`, sorted by name (the
    /// expansion of `*`).
    fn all(&self) -> Vec<(String, ColumnKind)> {
        let mut columns: Vec<(String, ColumnKind)> = Vec::new();
        for table in self.all {
            for field in table.schema.fields() {
                let kind = column_kind(field);
                if kind != ColumnKind::Time && !columns.iter().any(|(n, _)| n == field.name()) {
                    columns.push((field.name().clone(), kind));
                }
            }
        }
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        columns
    }
}

fn column_kind(field: &Field) -> ColumnKind {
    match field.metadata().get(COLUMN_TYPE_KEY).map(String::as_str) {
        Some("iox::column_type::tag") => ColumnKind::Tag,
        Some("iox::column_type::timestamp") => ColumnKind::Time,
        Some(_) => ColumnKind::Field,
        None if field.name() == "time" => ColumnKind::Time,
        None if matches!(field.data_type(), DataType::Dictionary(..)) => ColumnKind::Tag,
        None => ColumnKind::Field,
    }
}

/// Quotes an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal.
fn string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An SQL interval literal for `ns` nanoseconds, in the largest exact unit.
fn interval(ns: i64) -> String {
    const UNITS: [(i64, &str); 7] = [
        (86_400_000_000_000, "days"),
        (3_600_000_000_000, "hours"),
        (60_000_000_000, "minutes"),
        (1_000_000_000, "seconds"),
        (1_000_000, "milliseconds"),
        (1_000, "microseconds"),
        (1, "nanoseconds"),
    ];
    let (per, unit) = UNITS
        .iter()
        .find(|(per, _)| ns % per == 0)
        .copied()
        .unwrap_or((1, "nanoseconds"));
    format!("INTERVAL '{} {unit}'", ns / per)
}

/// Aggregate function names (InfluxQL) this translator knows.
const AGGREGATES: [&str; 11] = [
    "mean", "median", "sum", "count", "min", "max", "first", "last", "spread", "stddev", "distinct",
];
/// Scalar functions passed through to DataFusion under the same name.
const SCALARS: [&str; 14] = [
    "abs", "ceil", "floor", "round", "sqrt", "exp", "ln", "log2", "log10", "sin", "cos", "tan",
    "pow", "atan",
];
/// Aggregates that select one point (InfluxDB returns that point's time when it is alone).
const SELECTORS: [&str; 4] = ["min", "max", "first", "last"];

fn contains_aggregate(expr: &Expr) -> bool {
    match expr {
        Expr::Call { name, args } => {
            AGGREGATES.contains(&name.as_str()) || args.iter().any(contains_aggregate)
        }
        Expr::Binary { lhs, rhs, .. } => contains_aggregate(lhs) || contains_aggregate(rhs),
        _ => false,
    }
}

/// The default output name InfluxDB gives a projection.
fn default_name(expr: &Expr) -> String {
    match expr {
        Expr::Ident { name, .. } => name.clone(),
        Expr::Call { name, .. } => name.clone(),
        Expr::Binary { lhs, rhs, .. } => {
            let parts: Vec<String> = [lhs, rhs]
                .into_iter()
                .map(|e| default_name(e))
                .filter(|n| !n.is_empty())
                .collect();
            parts.join("_")
        }
        _ => String::new(),
    }
}

/// Translates a `SELECT` into SQL over the snapshot's tables, and gives the value of its
/// `iox::influxql::group_key::metadata`.
///
/// Each measurement of the `FROM` is read by its own `SELECT` (columns it lacks are null),
/// and the results are concatenated, ordered by measurement. Measurements that do not exist
/// are left out; when none exists the result has only the `iox::measurement` column.
fn select_sql(
    snapshot: &DatabaseSnapshot,
    select: &Select,
) -> Result<(Translation, String), QueryError> {
    let tables: Vec<&TableSnapshot> = select
        .from
        .iter()
        .filter_map(|name| snapshot.tables.iter().find(|t| t.name == *name))
        .collect();
    let expanded = expand_wildcard_aggregates(select, &tables);
    let select = &expanded;
    let mut branches = Vec::new();
    for table in &tables {
        let columns = Columns {
            table: Some(table),
            all: &tables,
        };
        branches.push(select_one(&columns, table, select)?);
    }
    let Some((_, names, tags)) = branches.first() else {
        // No measurement exists: no rows, as in InfluxDB.
        let schema = Arc::new(Schema::new(vec![Field::new(
            MEASUREMENT_COLUMN,
            DataType::Utf8,
            false,
        )]));
        return Ok((Translation::Batches(schema, Vec::new()), "{}".to_owned()));
    };
    let group_key = if *tags == 0 {
        "{}".to_owned()
    } else {
        let columns: Vec<String> = names
            .iter()
            .enumerate()
            .skip(2)
            .take(*tags)
            .map(|(i, name)| {
                format!(
                    "{{\"tagKey\":{},\"columnIndex\":{i}}}",
                    serde_json::Value::String(name.clone())
                )
            })
            .collect();
        format!("{{\"tagKeyColumns\":[{}]}}", columns.join(","))
    };
    if branches.len() == 1 {
        let Some((translation, _, _)) = branches.pop() else {
            return Err(QueryError::unsupported("an empty FROM"));
        };
        return Ok((translation, group_key));
    }
    let mut parts = Vec::new();
    for (translation, _, _) in &branches {
        match translation {
            Translation::Sql(sql) => parts.push(format!("SELECT * FROM ({sql})")),
            _ => {
                return Err(QueryError::unsupported(
                    "GROUP BY time() with fill over more than one measurement",
                ));
            }
        }
    }
    let mut order = vec![ident(MEASUREMENT_COLUMN)];
    order.extend(names.iter().skip(2).take(*tags).map(|t| ident(t)));
    order.push(format!(
        "\"time\" {}",
        if select.order_desc { "DESC" } else { "ASC" }
    ));
    let sql = format!(
        "SELECT * FROM ({}) ORDER BY {}",
        parts.join(" UNION ALL "),
        order.join(", ")
    );
    Ok((Translation::Sql(sql), group_key))
}

/// `agg(*)` as one `agg(field) AS agg_field` per field of the measurements it may apply to
/// (numeric fields for `mean`, `median`, `sum`, `spread`, `stddev`, `min`, `max`; every
/// field for `count`, `first`, `last`, `distinct`), sorted by field name, as InfluxQL does.
fn expand_wildcard_aggregates(select: &Select, tables: &[&TableSnapshot]) -> Select {
    let mut fields = Vec::new();
    for field in &select.fields {
        let Expr::Call { name, args } = &field.expr else {
            fields.push(field.clone());
            continue;
        };
        let [Expr::Wildcard { .. }] = args.as_slice() else {
            fields.push(field.clone());
            continue;
        };
        if !AGGREGATES.contains(&name.as_str()) {
            fields.push(field.clone());
            continue;
        }
        let numeric_only = !matches!(name.as_str(), "count" | "first" | "last" | "distinct");
        let mut names: Vec<String> = Vec::new();
        for table in tables {
            for column in table.schema.fields() {
                let numeric = matches!(
                    column.data_type(),
                    DataType::Float64 | DataType::Int64 | DataType::UInt64
                );
                if column_kind(column) == ColumnKind::Field
                    && (numeric || !numeric_only)
                    && !names.contains(column.name())
                {
                    names.push(column.name().clone());
                }
            }
        }
        names.sort();
        for column in names {
            fields.push(SelectField {
                expr: Expr::Call {
                    name: name.clone(),
                    args: vec![Expr::Ident {
                        name: column.clone(),
                        cast: None,
                    }],
                },
                alias: Some(format!("{name}_{column}")),
            });
        }
    }
    Select {
        fields,
        ..select.clone()
    }
}

/// Translates a `SELECT` for one measurement `table`: the translation, its output column
/// names and how many of them (after `iox::measurement` and `time`) are `GROUP BY` tags.
fn select_one(
    columns: &Columns<'_>,
    table: &TableSnapshot,
    select: &Select,
) -> Result<(Translation, Vec<String>, usize), QueryError> {
    let translator = Translator { columns };
    let aggregate = select.fields.iter().any(|f| contains_aggregate(&f.expr));
    if !aggregate && select.group_by_time.is_some() {
        return Err(QueryError::influxql(
            "GROUP BY requires at least one aggregate function",
        ));
    }

    let group_tags: Vec<String> = match &select.group_by_tags {
        GroupTags::All => columns
            .all()
            .into_iter()
            .filter(|(_, k)| *k == ColumnKind::Tag)
            .map(|(n, _)| n)
            .collect(),
        GroupTags::Listed(tags) => tags.iter().filter(|t| *t != "time").cloned().collect(),
    };
    let mut names: Vec<String> = vec![MEASUREMENT_COLUMN.to_owned(), "time".to_owned()];
    let mut select_list = vec![format!(
        "{} AS {}",
        string(&table.name),
        ident(MEASUREMENT_COLUMN)
    )];
    let mut tag_exprs = Vec::new();
    for tag in &group_tags {
        let expr = match columns.kind(tag) {
            Some(ColumnKind::Tag) => ident(tag),
            _ => "CAST(NULL AS VARCHAR)".to_owned(),
        };
        tag_exprs.push(format!("{expr} AS {}", ident(tag)));
        names.push(tag.clone());
    }

    let mut projections: Vec<(String, String)> = Vec::new();
    let mut where_parts: Vec<String> = Vec::new();
    if let Some(condition) = &select.condition {
        where_parts.push(translator.condition(condition)?);
    }
    let time_bucket = select.group_by_time.map(|b| {
        format!(
            "date_bin({}, \"time\", to_timestamp_nanos({}))",
            interval(b.interval),
            b.offset
        )
    });
    let mut group_by: Vec<String> = time_bucket.iter().cloned().collect();
    group_by.extend(
        group_tags
            .iter()
            .filter(|t| columns.kind(t) == Some(ColumnKind::Tag))
            .map(|t| ident(t)),
    );

    let time_expr;
    if aggregate {
        let distinct = select
            .fields
            .iter()
            .any(|f| matches!(&f.expr, Expr::Call { name, .. } if name == "distinct"));
        if distinct && select.fields.len() > 1 {
            return Err(QueryError::influxql(
                "aggregate function distinct() cannot be combined with other functions or fields",
            ));
        }
        for field in &select.fields {
            if !contains_aggregate(&field.expr) || has_bare_column(&field.expr) {
                return Err(QueryError::influxql(
                    "mixing aggregate and non-aggregate queries is not supported",
                ));
            }
        }
        let lone_selector = match select.fields.as_slice() {
            [
                SelectField {
                    expr: Expr::Call { name, args },
                    ..
                },
            ] if SELECTORS.contains(&name.as_str()) => Some((name.as_str(), args.as_slice())),
            _ => None,
        };
        time_expr = if let Some(bucket) = &time_bucket {
            bucket.clone()
        } else if let Some((name, args)) = lone_selector {
            translator.selector_time(name, args)?
        } else {
            lower_time_bound(select.condition.as_ref())
                .map(|bound| {
                    translator
                        .time_value(bound)
                        .map(|v| format!("CAST({v} AS TIMESTAMP)"))
                })
                .transpose()?
                .unwrap_or_else(|| "to_timestamp_nanos(0)".to_owned())
        };
        for field in &select.fields {
            if let Expr::Call { name, args } = &field.expr
                && name == "distinct"
            {
                let column = translator.aggregate_argument(name, args)?;
                where_parts.push(format!("{column} IS NOT NULL"));
                group_by.push(column.clone());
                let alias = field.alias.clone().unwrap_or_else(|| "distinct".to_owned());
                projections.push((column, alias));
            } else {
                let alias = field
                    .alias
                    .clone()
                    .unwrap_or_else(|| default_name(&field.expr));
                projections.push((translator.value(&field.expr, true)?, alias));
            }
        }
    } else {
        let mut referenced_fields = Vec::new();
        let mut unknown = false;
        for field in &select.fields {
            match &field.expr {
                Expr::Wildcard { cast } => {
                    for (name, kind) in columns.all() {
                        let wanted = match cast.as_deref() {
                            Some("field") => kind == ColumnKind::Field,
                            Some("tag") => kind == ColumnKind::Tag,
                            _ => true,
                        };
                        if wanted && !group_tags.contains(&name) {
                            // With several measurements, a column of another one is null.
                            let here = columns.kind(&name).is_some();
                            if kind == ColumnKind::Field && here {
                                referenced_fields.push(ident(&name));
                            }
                            projections.push((translator.column(&name), name));
                        }
                    }
                }
                Expr::Ident { name, .. } if name == "time" => {}
                expr => {
                    collect_columns(expr, columns, &mut referenced_fields, &mut unknown);
                    let alias = field.alias.clone().unwrap_or_else(|| default_name(expr));
                    projections.push((translator.value(expr, false)?, alias));
                }
            }
        }
        if referenced_fields.is_empty() {
            if !unknown && columns.table.is_some() {
                return Err(QueryError::influxql(
                    "statement must have at least one field in select clause",
                ));
            }
            where_parts.push("FALSE".to_owned());
        } else {
            where_parts.push(format!(
                "({})",
                referenced_fields
                    .iter()
                    .map(|f| format!("{f} IS NOT NULL"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ));
        }
        time_expr = "\"time\"".to_owned();
    }

    select_list.push(format!("{time_expr} AS \"time\""));
    select_list.extend(tag_exprs);
    for (expr, name) in projections {
        let mut unique = name.clone();
        let mut n = 1;
        while names.contains(&unique) {
            unique = format!("{name}_{n}");
            n += 1;
        }
        select_list.push(format!("{expr} AS {}", ident(&unique)));
        names.push(unique);
    }

    let mut inner = format!(
        "SELECT {} FROM {}",
        select_list.join(", "),
        ident(&table.name)
    );
    if !where_parts.is_empty() {
        inner.push_str(" WHERE ");
        inner.push_str(&where_parts.join(" AND "));
    }
    if aggregate {
        if group_by.is_empty() {
            inner.push_str(" HAVING COUNT(*) > 0");
        } else {
            inner.push_str(" GROUP BY ");
            inner.push_str(&group_by.join(", "));
        }
    }

    let direction = if select.order_desc { "DESC" } else { "ASC" };
    let series: Vec<String> = group_tags.iter().map(|t| ident(t)).collect();
    let mut order: Vec<String> = series.iter().map(|t| format!("{t} ASC")).collect();
    order.push(format!("\"time\" {direction}"));
    if names.iter().any(|n| n == "distinct") && aggregate {
        order.push("\"distinct\" ASC".to_owned());
    }
    let output: Vec<String> = names.iter().map(|n| ident(n)).collect();
    let distinct = names.iter().any(|n| n == "distinct");
    if let Some(bucket) = select.group_by_time
        && aggregate
        && !distinct
        && select.fill != Fill::None
    {
        let mut ascending: Vec<String> = series.iter().map(|t| format!("{t} ASC")).collect();
        ascending.push("\"time\" ASC".to_owned());
        let sql = format!(
            "SELECT {} FROM ({inner}) ORDER BY {}",
            output.join(", "),
            ascending.join(", ")
        );
        let (lower, upper) = time_bounds(select.condition.as_ref());
        let as_nanos = |(expr, shift): (&Expr, i64)| {
            translator
                .time_value(expr)
                .map(|v| format!("CAST(CAST({v} AS TIMESTAMP) AS BIGINT) + {shift}"))
        };
        let mut bounds = lower
            .iter()
            .copied()
            .map(as_nanos)
            .collect::<Result<Vec<_>, _>>()?;
        let lower = bounds.len();
        for bound in upper {
            bounds.push(as_nanos(bound)?);
        }
        if bounds.len() == lower {
            // No upper bound: up to now, as the server does.
            bounds.push("CAST(CAST(now() AS TIMESTAMP) AS BIGINT)".to_owned());
        }
        let counts = select
            .fields
            .iter()
            .map(|f| matches!(&f.expr, Expr::Call { name, .. } if name == "count"))
            .collect();
        let gap_fill = Translation::GapFill {
            sql,
            bounds: format!("SELECT {}", bounds.join(", ")),
            lower,
            plan: GapFill {
                interval: bucket.interval,
                offset: bucket.offset,
                fill: select.fill,
                tags: series.len(),
                counts,
                order_desc: select.order_desc,
                limit: select.limit,
                offset_rows: select.offset,
            },
        };
        return Ok((gap_fill, names, group_tags.len()));
    }
    let limited = select.limit.is_some() || select.offset.is_some();
    let sql = if limited && !series.is_empty() {
        // LIMIT and OFFSET apply to each series.
        let offset = select.offset.unwrap_or(0);
        let mut filter = format!("\"__row\" > {offset}");
        if let Some(limit) = select.limit {
            filter.push_str(&format!(
                " AND \"__row\" <= {}",
                offset.saturating_add(limit)
            ));
        }
        format!(
            "SELECT {} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY \"time\" {direction}) AS \"__row\" FROM ({inner})) WHERE {filter} ORDER BY {}",
            output.join(", "),
            series.join(", "),
            order.join(", ")
        )
    } else {
        let mut sql = format!(
            "SELECT {} FROM ({inner}) ORDER BY {}",
            output.join(", "),
            order.join(", ")
        );
        if let Some(limit) = select.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        if let Some(offset) = select.offset {
            sql.push_str(&format!(" OFFSET {offset}"));
        }
        sql
    };
    Ok((Translation::Sql(sql), names, group_tags.len()))
}

/// A time bound of a `WHERE` clause: its value, and the nanoseconds to add to it to make it
/// inclusive.
type TimeBound<'a> = (&'a Expr, i64);

/// The time bounds of a `WHERE` clause made of `AND`s, as (value, nanoseconds to add) so
/// that each bound is inclusive: `time > x` is `x + 1`, `time < x` is `x - 1`. Returns the
/// lower bounds and the upper bounds; `OR` hides the bounds below it.
fn time_bounds(condition: Option<&Expr>) -> (Vec<TimeBound<'_>>, Vec<TimeBound<'_>>) {
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    let mut pending: Vec<&Expr> = condition.into_iter().collect();
    let is_time = |e: &Expr| matches!(e, Expr::Ident { name, .. } if name == "time");
    while let Some(expr) = pending.pop() {
        let Expr::Binary { op, lhs, rhs } = expr else {
            continue;
        };
        // Written as `time <op> x`.
        let (op, value) = if is_time(lhs) {
            (*op, rhs.as_ref())
        } else if is_time(rhs) {
            let flipped = match op {
                BinOp::Lt => BinOp::Gt,
                BinOp::LtEq => BinOp::GtEq,
                BinOp::Gt => BinOp::Lt,
                BinOp::GtEq => BinOp::LtEq,
                other => *other,
            };
            (flipped, lhs.as_ref())
        } else {
            if *op == BinOp::And {
                pending.push(lhs);
                pending.push(rhs);
            }
            continue;
        };
        match op {
            BinOp::Gt => lower.push((value, 1)),
            BinOp::GtEq => lower.push((value, 0)),
            BinOp::Lt => upper.push((value, -1)),
            BinOp::LtEq => upper.push((value, 0)),
            BinOp::Eq => {
                lower.push((value, 0));
                upper.push((value, 0));
            }
            _ => {}
        }
    }
    (lower, upper)
}

/// Whether `expr` references a column outside of any aggregate call.
fn has_bare_column(expr: &Expr) -> bool {
    match expr {
        Expr::Ident { .. } | Expr::Wildcard { .. } => true,
        Expr::Call { name, .. } if AGGREGATES.contains(&name.as_str()) => false,
        Expr::Call { args, .. } => args.iter().any(has_bare_column),
        Expr::Binary { lhs, rhs, .. } => has_bare_column(lhs) || has_bare_column(rhs),
        _ => false,
    }
}

/// Collects the field columns a raw projection references.
fn collect_columns(
    expr: &Expr,
    columns: &Columns<'_>,
    fields: &mut Vec<String>,
    unknown: &mut bool,
) {
    match expr {
        Expr::Ident { name, .. } => match columns.kind(name) {
            Some(ColumnKind::Field) => fields.push(ident(name)),
            Some(_) => {}
            None => *unknown = true,
        },
        Expr::Call { args, .. } => {
            for arg in args {
                collect_columns(arg, columns, fields, unknown);
            }
        }
        Expr::Binary { lhs, rhs, .. } => {
            collect_columns(lhs, columns, fields, unknown);
            collect_columns(rhs, columns, fields, unknown);
        }
        _ => {}
    }
}

/// The lower time bound of a condition (`time >= x` / `time > x` in its top-level conjunction).
fn lower_time_bound(condition: Option<&Expr>) -> Option<&Expr> {
    match condition? {
        Expr::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => lower_time_bound(Some(lhs)).or_else(|| lower_time_bound(Some(rhs))),
        Expr::Binary { op, lhs, rhs } => {
            let is_time = |e: &Expr| matches!(e, Expr::Ident { name, .. } if name == "time");
            match op {
                BinOp::GtEq | BinOp::Gt if is_time(lhs) => Some(rhs),
                BinOp::LtEq | BinOp::Lt if is_time(rhs) => Some(lhs),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Translates expressions against one measurement's columns.
#[derive(Debug)]
struct Translator<'a, 'b> {
    columns: &'a Columns<'b>,
}

impl Translator<'_, '_> {
    fn column(&self, name: &str) -> String {
        match self.columns.kind(name) {
            Some(_) => ident(name),
            None => "NULL".to_owned(),
        }
    }

    /// A value expression (projection or operand of a comparison).
    fn value(&self, expr: &Expr, in_aggregate_select: bool) -> Result<String, QueryError> {
        Ok(match expr {
            Expr::Ident { name, cast } => {
                let column = self.column(name);
                // `::integer`, `::float` and `::unsigned` convert numbers (truncating floats);
                // other values become null. `::field` and `::tag` only select.
                match cast.as_deref() {
                    Some("integer") => format!("TRY_CAST({column} AS BIGINT)"),
                    Some("float") => format!("TRY_CAST({column} AS DOUBLE)"),
                    Some("unsigned") => format!("TRY_CAST({column} AS BIGINT UNSIGNED)"),
                    _ => column,
                }
            }
            Expr::Wildcard { .. } => {
                return Err(QueryError::unsupported("'*' inside an expression"));
            }
            Expr::Str(s) => string(s),
            Expr::Int(n) => n.to_string(),
            Expr::Float(x) => format!("{x:?}"),
            Expr::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
            Expr::Duration(ns) => ns.to_string(),
            Expr::Regex(_) => {
                return Err(QueryError::influxql(
                    "a regular expression is only valid after =~ or !~",
                ));
            }
            Expr::Param(p) => format!("${p}"),
            Expr::Call { name, args } if AGGREGATES.contains(&name.as_str()) => {
                if !in_aggregate_select {
                    return Err(QueryError::influxql(format!(
                        "aggregate function {name}() is not allowed here"
                    )));
                }
                self.aggregate(name, args)?
            }
            Expr::Call { name, args } if name == "now" && args.is_empty() => "now()".to_owned(),
            Expr::Call { name, args } if SCALARS.contains(&name.as_str()) => {
                let args = args
                    .iter()
                    .map(|a| self.value(a, in_aggregate_select))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{name}({})", args.join(", "))
            }
            Expr::Call { name, .. } => {
                return Err(QueryError::unsupported(format!(
                    "the InfluxQL function {name}()"
                )));
            }
            Expr::Binary { op, lhs, rhs } => {
                let (first, rest) = chain(*op, lhs, rhs);
                let mut sql = format!("({}", self.value(first, in_aggregate_select)?);
                for (op, operand) in rest {
                    let operand = self.value(operand, in_aggregate_select)?;
                    sql = format!("{sql} {} {operand}", op.sql());
                }
                sql.push(')');
                sql
            }
        })
    }

    /// The column an aggregate reads.
    fn aggregate_argument(&self, name: &str, args: &[Expr]) -> Result<String, QueryError> {
        match args {
            [Expr::Ident { name: column, .. }] => Ok(match self.columns.kind(column) {
                Some(ColumnKind::Field) | Some(ColumnKind::Tag) => ident(column),
                Some(ColumnKind::Time) => {
                    return Err(QueryError::influxql(format!(
                        "{name}() cannot be applied to time"
                    )));
                }
                None => "CAST(NULL AS DOUBLE)".to_owned(),
            }),
            [Expr::Wildcard { .. }] => Err(QueryError::unsupported(format!(
                "{name}(*) (name one field)"
            ))),
            [_] => Err(QueryError::unsupported(format!(
                "{name}() of anything but a field name"
            ))),
            _ => Err(QueryError::influxql(format!(
                "invalid number of arguments for {name}, expected 1, got {}",
                args.len()
            ))),
        }
    }

    fn aggregate(&self, name: &str, args: &[Expr]) -> Result<String, QueryError> {
        if name == "count"
            && let [Expr::Call { name: inner, args }] = args
            && inner == "distinct"
        {
            return Ok(format!(
                "COUNT(DISTINCT {})",
                self.aggregate_argument(inner, args)?
            ));
        }
        let column = self.aggregate_argument(name, args)?;
        Ok(match name {
            "mean" => format!("avg({column})"),
            "median" => format!("median({column})"),
            "sum" => format!("sum({column})"),
            "count" => format!("count({column})"),
            "min" => format!("min({column})"),
            "max" => format!("max({column})"),
            "first" => format!("first_value({column} ORDER BY \"time\" ASC)"),
            "last" => format!("last_value({column} ORDER BY \"time\" ASC)"),
            "spread" => format!("(max({column}) - min({column}))"),
            "stddev" => format!("stddev({column})"),
            _ => {
                return Err(QueryError::unsupported(format!(
                    "{name}() in this position"
                )));
            }
        })
    }

    /// The time of the point a lone selector picks.
    fn selector_time(&self, name: &str, args: &[Expr]) -> Result<String, QueryError> {
        let column = self.aggregate_argument(name, args)?;
        Ok(match name {
            "first" => format!("min(CASE WHEN {column} IS NOT NULL THEN \"time\" END)"),
            "last" => format!("max(CASE WHEN {column} IS NOT NULL THEN \"time\" END)"),
            "min" => format!(
                "first_value(CASE WHEN {column} IS NOT NULL THEN \"time\" END ORDER BY {column} ASC NULLS LAST, \"time\" ASC)"
            ),
            _ => format!(
                "first_value(CASE WHEN {column} IS NOT NULL THEN \"time\" END ORDER BY {column} DESC NULLS LAST, \"time\" ASC)"
            ),
        })
    }

    /// A value compared with `time`.
    fn time_value(&self, expr: &Expr) -> Result<String, QueryError> {
        match expr {
            Expr::Str(s) => Ok(format!("to_timestamp({})", string(s))),
            Expr::Int(n) => Ok(format!("to_timestamp_nanos({n})")),
            // A duration compared with time is an instant that far from the epoch.
            Expr::Duration(ns) => Ok(format!("to_timestamp_nanos({ns})")),
            Expr::Param(p) => Ok(format!("${p}")),
            Expr::Call { name, args } if name == "now" && args.is_empty() => Ok("now()".to_owned()),
            Expr::Binary {
                op: op @ (BinOp::Add | BinOp::Sub),
                lhs,
                rhs,
            } => match rhs.as_ref() {
                Expr::Duration(ns) => Ok(format!(
                    "({} {} {})",
                    self.time_value(lhs)?,
                    op.sql(),
                    interval(*ns)
                )),
                _ => Err(QueryError::unsupported(
                    "time arithmetic other than <time> ± <duration>",
                )),
            },
            other => Err(QueryError::influxql(format!(
                "invalid value compared with time: {}",
                describe(other)
            ))),
        }
    }

    /// A `WHERE` condition.
    fn condition(&self, expr: &Expr) -> Result<String, QueryError> {
        let Expr::Binary { op, lhs, rhs } = expr else {
            return self.value(expr, false);
        };
        let is_time = |e: &Expr| matches!(e, Expr::Ident { name, .. } if name == "time");
        match op {
            BinOp::And | BinOp::Or => {
                let (first, rest) = chain(*op, lhs, rhs);
                let mut sql = format!("({}", self.condition(first)?);
                for (op, operand) in rest {
                    let operand = self.condition(operand)?;
                    sql = format!("{sql} {} {operand}", op.sql());
                }
                sql.push(')');
                Ok(sql)
            }
            op if op.is_comparison() && is_time(lhs) => {
                Ok(format!("(\"time\" {} {})", op.sql(), self.time_value(rhs)?))
            }
            op if op.is_comparison() && is_time(rhs) => {
                Ok(format!("({} {} \"time\")", self.time_value(lhs)?, op.sql()))
            }
            BinOp::RegexMatch | BinOp::RegexNotMatch => {
                let Expr::Regex(pattern) = rhs.as_ref() else {
                    return Err(QueryError::influxql(format!(
                        "expected a regular expression after {}",
                        if *op == BinOp::RegexMatch { "=~" } else { "!~" }
                    )));
                };
                let Expr::Ident { name, .. } = lhs.as_ref() else {
                    return Err(QueryError::unsupported(
                        "a regular expression match on anything but a column",
                    ));
                };
                Ok(format!(
                    "(COALESCE(CAST({} AS VARCHAR), '') {} {})",
                    self.column(name),
                    op.sql(),
                    string(pattern)
                ))
            }
            BinOp::Eq | BinOp::NotEq
                if matches!(rhs.as_ref(), Expr::Str(s) if s.is_empty())
                    && matches!(lhs.as_ref(), Expr::Ident { .. }) =>
            {
                // `tag = ''` matches points without the tag, as in InfluxDB.
                let column = self.value(lhs, false)?;
                Ok(if *op == BinOp::Eq {
                    format!("({column} IS NULL OR {column} = '')")
                } else {
                    format!("({column} IS NOT NULL AND {column} != '')")
                })
            }
            op if op.is_comparison() => Ok(format!(
                "({} {} {})",
                self.value(lhs, false)?,
                op.sql(),
                self.value(rhs, false)?
            )),
            _ => self.value(expr, false),
        }
    }
}

fn describe(expr: &Expr) -> String {
    match expr {
        Expr::Ident { name, .. } => format!("identifier {name}"),
        Expr::Float(x) => format!("number {x}"),
        Expr::Bool(b) => format!("boolean {b}"),
        Expr::Regex(r) => format!("regular expression /{r}/"),
        Expr::Call { name, .. } => format!("function {name}()"),
        _ => "expression".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// SHOW statements
// ---------------------------------------------------------------------------------------------

/// Builds a result of string columns (all non-null).
fn string_batches(names: &[&str], rows: Vec<Vec<String>>) -> Result<Translation, QueryError> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    if rows.is_empty() {
        return Ok(Translation::Batches(schema, Vec::new()));
    }
    let columns: Vec<ArrayRef> = (0..names.len())
        .map(|i| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r[i].as_str()),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| {
        QueryError::execution(datafusion::error::DataFusionError::ArrowError(
            Box::new(e),
            None,
        ))
    })?;
    Ok(Translation::Batches(schema, vec![batch]))
}

fn show_measurements(
    snapshot: &DatabaseSnapshot,
    filter: Option<&KeyFilter>,
    limit: Option<u64>,
    offset: Option<u64>,
) -> Result<Translation, QueryError> {
    let mut names: Vec<&str> = snapshot.tables.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(filter) = filter {
        let wanted = keys_matching(filter, names.iter().copied())?;
        names = names
            .into_iter()
            .zip(wanted)
            .filter_map(|(name, wanted)| wanted.then_some(name))
            .collect();
    }
    let skip = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let take = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let rows = names
        .into_iter()
        .skip(skip)
        .take(take)
        .map(|name| vec!["measurements".to_owned(), name.to_owned()])
        .collect();
    string_batches(&[MEASUREMENT_COLUMN, "name"], rows)
}

/// Tables named by an optional `FROM` (all tables when absent), sorted by name.
fn tables<'a>(snapshot: &'a DatabaseSnapshot, from: Option<&str>) -> Vec<&'a TableSnapshot> {
    let mut tables: Vec<&TableSnapshot> = snapshot
        .tables
        .iter()
        .filter(|t| from.is_none_or(|m| t.name == m))
        .collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    tables
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Tag,
    Field,
}

fn show_keys(
    snapshot: &DatabaseSnapshot,
    from: Option<&str>,
    kind: KeyKind,
) -> Result<Translation, QueryError> {
    let mut rows = Vec::new();
    for table in tables(snapshot, from) {
        let mut keys: Vec<(String, String)> = table
            .schema
            .fields()
            .iter()
            .filter(|f| match kind {
                KeyKind::Tag => column_kind(f) == ColumnKind::Tag,
                KeyKind::Field => column_kind(f) == ColumnKind::Field,
            })
            .map(|f| (f.name().clone(), field_type(f).to_owned()))
            .collect();
        keys.sort();
        for (key, ty) in keys {
            let mut row = vec![table.name.clone(), key];
            if kind == KeyKind::Field {
                row.push(ty);
            }
            rows.push(row);
        }
    }
    match kind {
        KeyKind::Tag => string_batches(&[MEASUREMENT_COLUMN, "tagKey"], rows),
        KeyKind::Field => string_batches(&[MEASUREMENT_COLUMN, "fieldKey", "fieldType"], rows),
    }
}

/// The InfluxQL name of a field's type.
fn field_type(field: &Field) -> &'static str {
    match field.metadata().get(COLUMN_TYPE_KEY).map(String::as_str) {
        Some("iox::column_type::field::float") => "float",
        Some("iox::column_type::field::integer") => "integer",
        Some("iox::column_type::field::uinteger") => "unsigned",
        Some("iox::column_type::field::string") => "string",
        Some("iox::column_type::field::boolean") => "boolean",
        _ => match field.data_type() {
            DataType::Float64 | DataType::Float32 => "float",
            DataType::Int64 | DataType::Int32 => "integer",
            DataType::UInt64 | DataType::UInt32 => "unsigned",
            DataType::Boolean => "boolean",
            _ => "string",
        },
    }
}

/// `SHOW TAG VALUES`: the distinct values of each selected tag key of each measurement, as
/// the server computes them, by a query over the rows (within the `WHERE` condition); a
/// key some rows lack also has a null value, listed last.
fn show_tag_values(
    snapshot: &DatabaseSnapshot,
    from: Option<&str>,
    filter: &KeyFilter,
    condition: Option<&Expr>,
) -> Result<Translation, QueryError> {
    let selected = tables(snapshot, from);
    let mut branches = Vec::new();
    for table in &selected {
        let columns = Columns {
            table: Some(table),
            all: &selected,
        };
        let translator = Translator { columns: &columns };
        let condition = condition
            .map(|c| translator.condition(c).map(|c| format!(" WHERE {c}")))
            .transpose()?
            .unwrap_or_default();
        let tags: Vec<&String> = table
            .schema
            .fields()
            .iter()
            .filter(|f| column_kind(f) == ColumnKind::Tag)
            .map(|f| f.name())
            .collect();
        let wanted = keys_matching(filter, tags.iter().map(|name| name.as_str()))?;
        let mut keys: Vec<&String> = tags
            .into_iter()
            .zip(wanted)
            .filter_map(|(tag, wanted)| wanted.then_some(tag))
            .collect();
        keys.sort();
        for key in keys {
            branches.push(format!(
                "SELECT DISTINCT {} AS {}, {} AS \"key\", {} AS \"value\" FROM {}{condition}",
                string(&table.name),
                ident(MEASUREMENT_COLUMN),
                string(key),
                ident(key),
                ident(&table.name)
            ));
        }
    }
    if branches.is_empty() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(MEASUREMENT_COLUMN, DataType::Utf8, false),
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true).with_metadata(HashMap::from([(
                COLUMN_TYPE_KEY.to_owned(),
                "iox::column_type::tag".to_owned(),
            )])),
        ]));
        return Ok(Translation::Batches(schema, Vec::new()));
    }
    Ok(Translation::Sql(format!(
        "SELECT * FROM ({}) ORDER BY {} ASC, \"key\" ASC, \"value\" ASC NULLS LAST",
        branches.join(" UNION ALL "),
        ident(MEASUREMENT_COLUMN)
    )))
}

/// `SHOW RETENTION POLICIES`: InfluxDB 3 has one, `autogen`, with infinite duration.
fn show_retention_policies() -> Result<Translation, QueryError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new(MEASUREMENT_COLUMN, DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("duration", DataType::Utf8, false),
        Field::new("shardGroupDuration", DataType::Utf8, false),
        Field::new("replicaN", DataType::Int64, false),
        Field::new("default", DataType::Boolean, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["retention_policies"])),
        Arc::new(StringArray::from(vec!["autogen"])),
        Arc::new(StringArray::from(vec!["0s"])),
        Arc::new(StringArray::from(vec!["168h0m0s"])),
        Arc::new(arrow_array::Int64Array::from(vec![1])),
        Arc::new(arrow_array::BooleanArray::from(vec![true])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| {
        QueryError::execution(datafusion::error::DataFusionError::ArrowError(
            Box::new(e),
            None,
        ))
    })?;
    Ok(Translation::Batches(schema, vec![batch]))
}

/// For each tag key, whether `filter` selects it.
fn keys_matching<'a>(
    filter: &KeyFilter,
    keys: impl Iterator<Item = &'a str>,
) -> Result<Vec<bool>, QueryError> {
    match filter {
        KeyFilter::Eq(k) => Ok(keys.map(|key| key == k).collect()),
        KeyFilter::NotEq(k) => Ok(keys.map(|key| key != k).collect()),
        KeyFilter::In(wanted) => Ok(keys.map(|key| wanted.iter().any(|k| k == key)).collect()),
        KeyFilter::Regex { pattern, negated } => {
            let keys = StringArray::from_iter_values(keys);
            let matches = arrow_string_regexp::regexp_is_match_scalar(&keys, pattern, None)
                .map_err(|e| {
                    QueryError::influxql(format!("invalid regular expression /{pattern}/: {e}"))
                })?;
            Ok((0..matches.len())
                .map(|i| matches.value(i) != *negated)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sql::QueryLanguage;
    use crate::sql::tests::run;

    fn tokens(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap_or_else(|e| panic!("tokenize {text:?}: {e}"))
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    fn id(name: &str) -> Token {
        Token::Ident {
            name: name.to_owned(),
            quoted: false,
        }
    }

    #[test]
    fn tokenizer_reads_every_kind_of_token() {
        assert_eq!(
            tokens(
                r#"SELECT "my ""f""" FROM m WHERE t =~ /a\/b/ AND s = 'it\'s' AND $p <> -1.5 -- note"#
            ),
            vec![
                id("SELECT"),
                Token::Ident {
                    name: "my ".to_owned(),
                    quoted: true
                },
                // `""` is not an escape in InfluxQL: it closes and opens a new identifier.
                Token::Ident {
                    name: "f".to_owned(),
                    quoted: true
                },
                Token::Ident {
                    name: String::new(),
                    quoted: true
                },
                id("FROM"),
                id("m"),
                id("WHERE"),
                id("t"),
                Token::Sym(Sym::RegexMatch),
                Token::Regex("a/b".to_owned()),
                id("AND"),
                id("s"),
                Token::Sym(Sym::Eq),
                Token::Str("it's".to_owned()),
                id("AND"),
                Token::Param("p".to_owned()),
                Token::Sym(Sym::NotEq),
                Token::Sym(Sym::Minus),
                Token::Float(1.5),
                Token::Eof,
            ]
        );
        assert_eq!(
            tokens("10m 1h30m 5ms 3u 2µs 7d 1w 42 /* c */ time(10s,-5s)"),
            vec![
                Token::Duration(600_000_000_000),
                Token::Duration(5_400_000_000_000),
                Token::Duration(5_000_000),
                Token::Duration(3_000),
                Token::Duration(2_000),
                Token::Duration(7 * 86_400_000_000_000),
                Token::Duration(604_800_000_000_000),
                Token::Int(42),
                id("time"),
                Token::Sym(Sym::LParen),
                Token::Duration(10_000_000_000),
                Token::Sym(Sym::Comma),
                Token::Sym(Sym::Minus),
                Token::Duration(5_000_000_000),
                Token::Sym(Sym::RParen),
                Token::Eof,
            ]
        );
    }

    #[test]
    fn tokenizer_errors_name_the_position() {
        for (text, expected) in [
            ("SELECT 'open", "unterminated string at position 7"),
            (
                "SELECT \"open",
                "unterminated quoted identifier at position 7",
            ),
            (
                "SELECT a FROM m WHERE a =~ /x",
                "unterminated regular expression at position 27",
            ),
            (
                "SELECT 5x FROM m",
                "invalid duration unit 'x' at position 8",
            ),
            ("SELECT # FROM m", "unexpected character '#' at position 7"),
            (
                "SELECT 99999999999999999999 FROM m",
                "out of range at position 7",
            ),
        ] {
            let err = tokenize(text).expect_err(text).to_string();
            assert!(err.starts_with("Error during planning: "), "{err}");
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn parser_builds_the_select_ast() {
        let statement = parse(
            "select mean(\"temp\") AS t, count(distinct(co)) FROM home WHERE room = 'Kitchen' AND (time >= now() - 1h OR co > 1) GROUP BY time(30m, 5m), room fill(none) ORDER BY time DESC LIMIT 5 OFFSET 1;",
        )
        .expect("parses");
        let ident = |n: &str| Expr::Ident {
            name: n.to_owned(),
            cast: None,
        };
        let call = |n: &str, args: Vec<Expr>| Expr::Call {
            name: n.to_owned(),
            args,
        };
        assert_eq!(
            statement,
            Statement::Select(Select {
                fields: vec![
                    SelectField {
                        expr: call("mean", vec![ident("temp")]),
                        alias: Some("t".to_owned()),
                    },
                    SelectField {
                        expr: call("count", vec![call("distinct", vec![ident("co")])]),
                        alias: None,
                    },
                ],
                from: vec!["home".to_owned()],
                condition: Some(binary(
                    BinOp::And,
                    binary(BinOp::Eq, ident("room"), Expr::Str("Kitchen".to_owned())),
                    binary(
                        BinOp::Or,
                        binary(
                            BinOp::GtEq,
                            ident("time"),
                            binary(
                                BinOp::Sub,
                                call("now", vec![]),
                                Expr::Duration(3_600_000_000_000)
                            ),
                        ),
                        binary(BinOp::Gt, ident("co"), Expr::Int(1)),
                    ),
                )),
                group_by_time: Some(TimeBucket {
                    interval: 1_800_000_000_000,
                    offset: 300_000_000_000,
                }),
                group_by_tags: GroupTags::Listed(vec!["room".to_owned()]),
                fill: Fill::None,
                order_desc: true,
                limit: Some(5),
                offset: Some(1),
            })
        );
        assert_eq!(
            parse("SHOW TAG VALUES FROM \"home\" WITH KEY IN (room, \"b\")").expect("parses"),
            Statement::ShowTagValues {
                from: Some("home".to_owned()),
                key: KeyFilter::In(vec!["room".to_owned(), "b".to_owned()]),
                condition: None,
            }
        );
        assert_eq!(
            parse("show field keys").expect("parses"),
            Statement::ShowFieldKeys { from: None }
        );
        // Operator precedence: * binds tighter than +, AND tighter than OR.
        let Statement::Select(select) =
            parse("SELECT a + b * 2 FROM m WHERE a = 1 OR b = 2 AND c = 3").expect("parses")
        else {
            panic!("not a select");
        };
        assert_eq!(
            select.fields[0].expr,
            binary(
                BinOp::Add,
                ident("a"),
                binary(BinOp::Mul, ident("b"), Expr::Int(2))
            )
        );
        assert!(matches!(
            select.condition,
            Some(Expr::Binary { op: BinOp::Or, .. })
        ));
    }

    #[test]
    fn parser_rejects_what_it_does_not_know() {
        for (text, expected) in [
            (
                "SELECT * FROM /h.*/",
                "the emulator does not support regular expressions in FROM",
            ),
            (
                "SELECT * FROM (SELECT * FROM m)",
                "the emulator does not support subqueries",
            ),
            (
                "SELECT * INTO x FROM m",
                "the emulator does not support SELECT … INTO",
            ),
            (
                "SELECT mean(a) FROM m GROUP BY time(1m) fill(sideways)",
                "invalid FILL option, expected NULL, NONE, PREVIOUS, LINEAR, or a number at pos 45",
            ),
            (
                "SELECT a FROM m ORDER BY a",
                "the emulator does not support ORDER BY anything but time",
            ),
            (
                "SELECT a FROM m SLIMIT 1",
                "the emulator does not support SLIMIT",
            ),
            (
                "SHOW SERIES",
                "invalid SHOW statement, expected DATABASES, FIELD KEYS, MEASUREMENTS, TAG KEYS, \
                 TAG VALUES, or RETENTION POLICIES following SHOW at pos 5",
            ),
            (
                "DELETE FROM m",
                "the emulator does not support DELETE statements",
            ),
            (
                "SELECT * FROM db.rp.m",
                "database prefix in qualified measurement syntax",
            ),
            (
                "SELECT a FROM m; SELECT b FROM m",
                "must provide only one InfluxQl statement per query",
            ),
            (
                "SELECT FROM m",
                "invalid SELECT statement, expected field at pos 7",
            ),
            (
                "SELECT a FROM m WHERE",
                "expected an expression, found end of statement at pos 21",
            ),
            (
                "SELECT a FROM m LIMIT x",
                "invalid LIMIT clause, expected unsigned integer at pos 22",
            ),
            (
                "SELECT a m",
                "invalid SELECT statement, expected FROM clause at pos 9",
            ),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn operator_chains_are_written_without_nested_parentheses() {
        let snapshot = crate::sql::tests::snapshot();
        let query = "SELECT temp - co + 1 - (hum - 1) * 2 AS x FROM home \
                     WHERE room = 'a' OR room = 'b' OR co > 1 AND temp > 2 AND hum > 3";
        let Ok((Translation::Sql(sql), _, _)) = translate(&snapshot, query) else {
            panic!("{query} does not translate to SQL");
        };
        assert!(
            sql.contains(r#"("temp" - "co" + 1 - (("hum" - 1) * 2))"#),
            "{sql}"
        );
        assert!(
            sql.contains(
                r#"(("room" = 'a') OR ("room" = 'b') OR (("co" > 1) AND ("temp" > 2) AND ("hum" > 3)))"#
            ),
            "{sql}"
        );
    }

    async fn influxql(query: &str) -> String {
        match run(QueryLanguage::InfluxQl, query, json!({})).await {
            Ok(text) => text,
            Err(e) => panic!("query {query:?} failed: {e}"),
        }
    }

    async fn influxql_error(query: &str) -> QueryError {
        match run(QueryLanguage::InfluxQl, query, json!({})).await {
            Ok(text) => panic!("query {query:?} should fail, got\n{text}"),
            Err(e) => e,
        }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[tokio::test]
    async fn select_and_show_results_match_influxdb_shapes() {
        // Each expected table was checked by hand against the fixture in `sql::tests`.
        let cases: &[(&str, &str)] = &[
            (
                "SELECT temp, room FROM home WHERE room = 'Kitchen'",
                "+------------------+---------------------+------+---------+\n| iox::measurement | time                | temp | room    |\n+------------------+---------------------+------+---------+\n| home             | 2022-01-01T08:00:00 | 21.0 | Kitchen |\n| home             | 2022-01-01T09:00:00 | 23.0 | Kitchen |\n| home             | 2022-01-01T10:00:00 | 22.7 | Kitchen |\n+------------------+---------------------+------+---------+",
            ),
            (
                "SELECT MEAN(temp) FROM home",
                "+------------------+---------------------+--------------------+\n| iox::measurement | time                | mean               |\n+------------------+---------------------+--------------------+\n| home             | 1970-01-01T00:00:00 | 21.833333333333332 |\n+------------------+---------------------+--------------------+",
            ),
            (
                "SELECT MEAN(temp), MAX(hum) AS h FROM home GROUP BY room",
                "+------------------+---------------------+-------------+--------------------+------+\n| iox::measurement | time                | room        | mean               | h    |\n+------------------+---------------------+-------------+--------------------+------+\n| home             | 1970-01-01T00:00:00 | Kitchen     | 22.233333333333334 | 36.2 |\n| home             | 1970-01-01T00:00:00 | Living Room | 21.433333333333334 | 36.0 |\n+------------------+---------------------+-------------+--------------------+------+",
            ),
            (
                "SELECT MAX(temp) FROM home",
                "+------------------+---------------------+------+\n| iox::measurement | time                | max  |\n+------------------+---------------------+------+\n| home             | 2022-01-01T09:00:00 | 23.0 |\n+------------------+---------------------+------+",
            ),
            (
                "SELECT COUNT(temp) FROM home WHERE time >= '2022-01-01T09:00:00Z' GROUP BY time(1h) fill(none)",
                "+------------------+---------------------+-------+\n| iox::measurement | time                | count |\n+------------------+---------------------+-------+\n| home             | 2022-01-01T09:00:00 | 2     |\n| home             | 2022-01-01T10:00:00 | 2     |\n+------------------+---------------------+-------+",
            ),
            (
                "SELECT FIRST(temp), LAST(temp) FROM home GROUP BY *",
                "+------------------+---------------------+-------------+-------+------+\n| iox::measurement | time                | room        | first | last |\n+------------------+---------------------+-------------+-------+------+\n| home             | 1970-01-01T00:00:00 | Kitchen     | 21.0  | 22.7 |\n| home             | 1970-01-01T00:00:00 | Living Room | 21.1  | 21.8 |\n+------------------+---------------------+-------------+-------+------+",
            ),
            (
                "SELECT DISTINCT(co) FROM home",
                "+------------------+---------------------+----------+\n| iox::measurement | time                | distinct |\n+------------------+---------------------+----------+\n| home             | 1970-01-01T00:00:00 | 0        |\n| home             | 1970-01-01T00:00:00 | 1        |\n| home             | 1970-01-01T00:00:00 | 3        |\n+------------------+---------------------+----------+",
            ),
            (
                "SELECT temp FROM home ORDER BY time DESC LIMIT 2",
                "+------------------+---------------------+------+\n| iox::measurement | time                | temp |\n+------------------+---------------------+------+\n| home             | 2022-01-01T10:00:00 | 21.8 |\n| home             | 2022-01-01T10:00:00 | 22.7 |\n+------------------+---------------------+------+",
            ),
            (
                "SELECT temp FROM home GROUP BY room LIMIT 1 OFFSET 1",
                "+------------------+---------------------+-------------+------+\n| iox::measurement | time                | room        | temp |\n+------------------+---------------------+-------------+------+\n| home             | 2022-01-01T09:00:00 | Kitchen     | 23.0 |\n| home             | 2022-01-01T09:00:00 | Living Room | 21.4 |\n+------------------+---------------------+-------------+------+",
            ),
            ("SELECT * FROM home WHERE time < 90d", "++\n++"),
            (
                "SELECT count(*) FROM home",
                "+------------------+---------------------+----------+-----------+------------+\n| iox::measurement | time                | count_co | count_hum | count_temp |\n+------------------+---------------------+----------+-----------+------------+\n| home             | 1970-01-01T00:00:00 | 6        | 6         | 6          |\n+------------------+---------------------+----------+-----------+------------+",
            ),
            (
                "SELECT * FROM weather WHERE city = ''",
                "+------------------+---------------------+------+-------+------+-------+\n| iox::measurement | time                | city | count | note | sunny |\n+------------------+---------------------+------+-------+------+-------+\n| weather          | 1970-01-01T00:00:03 |      | 3     | odd  |       |\n+------------------+---------------------+------+-------+------+-------+",
            ),
            (
                "SELECT note, city FROM weather WHERE city =~ /^O/ OR city !~ /./",
                "+------------------+---------------------+------+------+\n| iox::measurement | time                | note | city |\n+------------------+---------------------+------+------+\n| weather          | 1970-01-01T00:00:01 | cold | Oslo |\n| weather          | 1970-01-01T00:00:03 | odd  |      |\n+------------------+---------------------+------+------+",
            ),
            ("SELECT * FROM nope", "++\n++"),
            (
                "SELECT temp * 2 AS t2, hum FROM home WHERE time > 1641027600000000000 AND time < '2022-01-01T10:00:00Z' + 1s",
                "+------------------+---------------------+------+------+\n| iox::measurement | time                | t2   | hum  |\n+------------------+---------------------+------+------+\n| home             | 2022-01-01T10:00:00 | 43.6 | 36.0 |\n| home             | 2022-01-01T10:00:00 | 45.4 | 36.1 |\n+------------------+---------------------+------+------+",
            ),
            (
                "SELECT SUM(co), SPREAD(temp), MEDIAN(hum) FROM home WHERE time >= '2022-01-01T09:00:00Z'",
                "+------------------+---------------------+-----+--------------------+--------+\n| iox::measurement | time                | sum | spread             | median |\n+------------------+---------------------+-----+--------------------+--------+\n| home             | 2022-01-01T09:00:00 | 4   | 1.6000000000000014 | 36.05  |\n+------------------+---------------------+-----+--------------------+--------+",
            ),
            (
                "SELECT count(co) FROM home WHERE time <= '2022-01-01T12:00:00Z' GROUP BY time(2h, 30m)",
                "+------------------+---------------------+-------+\n| iox::measurement | time                | count |\n+------------------+---------------------+-------+\n| home             | 2022-01-01T06:30:00 | 2     |\n| home             | 2022-01-01T08:30:00 | 4     |\n| home             | 2022-01-01T10:30:00 | 0     |\n+------------------+---------------------+-------+",
            ),
            (
                "SHOW MEASUREMENTS",
                "+------------------+---------+\n| iox::measurement | name    |\n+------------------+---------+\n| measurements     | home    |\n| measurements     | weather |\n+------------------+---------+",
            ),
            (
                "SHOW MEASUREMENTS WITH MEASUREMENT =~ /^w/",
                "+------------------+---------+\n| iox::measurement | name    |\n+------------------+---------+\n| measurements     | weather |\n+------------------+---------+",
            ),
            (
                "SHOW MEASUREMENTS LIMIT 1 OFFSET 1",
                "+------------------+---------+\n| iox::measurement | name    |\n+------------------+---------+\n| measurements     | weather |\n+------------------+---------+",
            ),
            (
                "SHOW TAG KEYS",
                "+------------------+--------+\n| iox::measurement | tagKey |\n+------------------+--------+\n| home             | room   |\n| weather          | city   |\n+------------------+--------+",
            ),
            (
                "SHOW FIELD KEYS FROM weather",
                "+------------------+----------+-----------+\n| iox::measurement | fieldKey | fieldType |\n+------------------+----------+-----------+\n| weather          | count    | unsigned  |\n| weather          | note     | string    |\n| weather          | sunny    | boolean   |\n+------------------+----------+-----------+",
            ),
            (
                "SHOW TAG VALUES WITH KEY = room",
                "+------------------+------+-------------+\n| iox::measurement | key  | value       |\n+------------------+------+-------------+\n| home             | room | Kitchen     |\n| home             | room | Living Room |\n+------------------+------+-------------+",
            ),
            (
                "SHOW TAG VALUES FROM weather WITH KEY =~ /c.*/",
                "+------------------+------+-------+\n| iox::measurement | key  | value |\n+------------------+------+-------+\n| weather          | city | Oslo  |\n| weather          | city | Rome  |\n| weather          | city |       |\n+------------------+------+-------+",
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(influxql(query).await, *expected, "{query}");
        }
    }

    /// `GROUP BY time(…)` fills the intervals without data of each series with data, over
    /// the `WHERE` time range (both ends included, `<`/`>` moved by 1 ns), as the server
    /// does; LIMIT/OFFSET and ORDER BY DESC apply to the filled rows.
    #[tokio::test]
    async fn gap_filling_follows_the_fill_option() {
        /// The non-empty cells after the measurement of each row, joined by spaces.
        async fn rows(query: &str) -> Vec<String> {
            let table = influxql(query).await;
            table
                .lines()
                .filter(|l| l.starts_with("| home"))
                .map(|l| {
                    l.split('|')
                        .skip(2)
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        }
        const KITCHEN: &str = "FROM home WHERE room = 'Kitchen' AND time >= '2022-01-01T08:00:00Z'";
        let cases: &[(String, &[&str])] = &[
            (
                format!("SELECT mean(temp) {KITCHEN} AND time <= '2022-01-01T10:00:00Z' GROUP BY time(30m)"),
                &[
                    "2022-01-01T08:00:00 21.0",
                    "2022-01-01T08:30:00",
                    "2022-01-01T09:00:00 23.0",
                    "2022-01-01T09:30:00",
                    "2022-01-01T10:00:00 22.7",
                ],
            ),
            // `<` ends at the interval before the bound's.
            (
                format!("SELECT mean(temp) {KITCHEN} AND time < '2022-01-01T10:00:00Z' GROUP BY time(30m) fill(null)"),
                &[
                    "2022-01-01T08:00:00 21.0",
                    "2022-01-01T08:30:00",
                    "2022-01-01T09:00:00 23.0",
                    "2022-01-01T09:30:00",
                ],
            ),
            // COUNT is filled with 0 by fill(null); a number is cast (truncated) per column.
            (
                format!("SELECT count(temp), mean(temp) {KITCHEN} AND time <= '2022-01-01T10:00:00Z' GROUP BY time(30m)"),
                &[
                    "2022-01-01T08:00:00 1 21.0",
                    "2022-01-01T08:30:00 0",
                    "2022-01-01T09:00:00 1 23.0",
                    "2022-01-01T09:30:00 0",
                    "2022-01-01T10:00:00 1 22.7",
                ],
            ),
            (
                format!("SELECT count(temp), mean(temp) {KITCHEN} AND time <= '2022-01-01T10:00:00Z' GROUP BY time(30m) fill(2.5)"),
                &[
                    "2022-01-01T08:00:00 1 21.0",
                    "2022-01-01T08:30:00 2 2.5",
                    "2022-01-01T09:00:00 1 23.0",
                    "2022-01-01T09:30:00 2 2.5",
                    "2022-01-01T10:00:00 1 22.7",
                ],
            ),
            (
                format!("SELECT mean(temp) {KITCHEN} AND time <= '2022-01-01T10:00:00Z' GROUP BY time(30m) fill(-1)"),
                &[
                    "2022-01-01T08:00:00 21.0",
                    "2022-01-01T08:30:00 -1.0",
                    "2022-01-01T09:00:00 23.0",
                    "2022-01-01T09:30:00 -1.0",
                    "2022-01-01T10:00:00 22.7",
                ],
            ),
            (
                format!("SELECT mean(temp) {KITCHEN} AND time <= '2022-01-01T10:00:00Z' GROUP BY time(30m) fill(previous)"),
                &[
                    "2022-01-01T08:00:00 21.0",
                    "2022-01-01T08:30:00 21.0",
                    "2022-01-01T09:00:00 23.0",
                    "2022-01-01T09:30:00 23.0",
                    "2022-01-01T10:00:00 22.7",
                ],
            ),
            // Linear: by time between the values around the gap; integers truncated;
            // nothing after the last value.
            (
                format!("SELECT mean(temp), max(co) {KITCHEN} AND time <= '2022-01-01T10:30:00Z' GROUP BY time(30m) fill(linear)"),
                &[
                    "2022-01-01T08:00:00 21.0 0",
                    "2022-01-01T08:30:00 22.0 0",
                    "2022-01-01T09:00:00 23.0 0",
                    "2022-01-01T09:30:00 22.85 1",
                    "2022-01-01T10:00:00 22.7 3",
                    "2022-01-01T10:30:00",
                ],
            ),
            // `>` starts at the interval holding the bound plus 1 ns; without a lower bound
            // each series starts at its first interval with data.
            (
                "SELECT max(temp) FROM home WHERE room = 'Kitchen' AND time > '2022-01-01T08:00:00Z' AND time <= '2022-01-01T09:00:00Z' GROUP BY time(30m)".to_owned(),
                &[
                    "2022-01-01T08:00:00",
                    "2022-01-01T08:30:00",
                    "2022-01-01T09:00:00 23.0",
                ],
            ),
            (
                "SELECT max(temp) FROM home WHERE room = 'Kitchen' AND time <= '2022-01-01T09:00:00Z' GROUP BY time(30m)".to_owned(),
                &[
                    "2022-01-01T08:00:00 21.0",
                    "2022-01-01T08:30:00",
                    "2022-01-01T09:00:00 23.0",
                ],
            ),
            // Per series, after filling: ORDER BY DESC, then OFFSET and LIMIT.
            (
                "SELECT max(co) FROM home WHERE time >= '2022-01-01T08:00:00Z' AND time <= '2022-01-01T10:00:00Z' GROUP BY time(30m), room ORDER BY time DESC LIMIT 2 OFFSET 1".to_owned(),
                &[
                    "2022-01-01T09:30:00 Kitchen",
                    "2022-01-01T09:00:00 Kitchen 0",
                    "2022-01-01T09:30:00 Living Room",
                    "2022-01-01T09:00:00 Living Room 0",
                ],
            ),
            // A series without data in the range gets no rows.
            (
                "SELECT mean(temp) FROM home WHERE time >= '2023-01-01T00:00:00Z' AND time < '2023-01-01T02:00:00Z' GROUP BY time(30m)".to_owned(),
                &[],
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(rows(query).await, *expected, "{query}");
        }

        // The emulator refuses to fill more rows than it can hold.
        let e = influxql_error(
            "SELECT count(co) FROM home WHERE time >= '2022-01-01T08:00:00Z' GROUP BY time(1ms)",
        )
        .await
        .to_string();
        assert!(e.contains("fill() would produce"), "{e}");
    }

    #[tokio::test]
    async fn parameters_bind_in_influxql() {
        let text = run(
            QueryLanguage::InfluxQl,
            "SELECT temp FROM home WHERE room = $room AND co >= $co",
            json!({"room": "Kitchen", "co": 1}),
        )
        .await
        .expect("runs");
        assert_eq!(
            lines(&text),
            [
                "+------------------+---------------------+------+",
                "| iox::measurement | time                | temp |",
                "+------------------+---------------------+------+",
                "| home             | 2022-01-01T10:00:00 | 22.7 |",
                "+------------------+---------------------+------+",
            ]
        );

        // Parameters in the time range bound the gap filling too.
        let text = run(
            QueryLanguage::InfluxQl,
            "SELECT max(temp) FROM home WHERE room = $room AND time >= $start AND time < $end GROUP BY time(1h) fill(0)",
            json!({"room": "Kitchen", "start": "2022-01-01T09:00:00Z", "end": "2022-01-01T12:00:00Z"}),
        )
        .await
        .expect("runs");
        assert_eq!(
            lines(&text),
            [
                "+------------------+---------------------+------+",
                "| iox::measurement | time                | max  |",
                "+------------------+---------------------+------+",
                "| home             | 2022-01-01T09:00:00 | 23.0 |",
                "| home             | 2022-01-01T10:00:00 | 22.7 |",
                "| home             | 2022-01-01T11:00:00 | 0.0  |",
                "+------------------+---------------------+------+",
            ]
        );
    }

    #[tokio::test]
    async fn semantic_errors_and_unsupported_constructs() {
        let err = influxql_error("SHOW DATABASES").await;
        assert_eq!(
            err.to_string(),
            "This feature is not implemented: SHOW DATABASES"
        );
        assert_eq!(err.grpc_code(), tonic::Code::InvalidArgument);
        for (query, expected) in [
            (
                "SELECT room FROM home",
                "statement must have at least one field in select clause",
            ),
            (
                "SELECT mean(temp), hum FROM home",
                "mixing aggregate and non-aggregate queries is not supported",
            ),
            (
                "SELECT temp FROM home GROUP BY time(1h)",
                "GROUP BY requires at least one aggregate function",
            ),
            (
                "SELECT distinct(co), mean(temp) FROM home",
                "distinct() cannot be combined",
            ),
            (
                "SELECT percentile(temp, 90) FROM home",
                "the emulator does not support the InfluxQL function percentile()",
            ),
            (
                "SELECT temp FROM home WHERE time > 1.5",
                "invalid value compared with time: number 1.5",
            ),
        ] {
            let err = influxql_error(query).await;
            assert!(err.to_string().contains(expected), "{query}: {err}");
            assert!(
                matches!(
                    err.http_status(),
                    http::StatusCode::BAD_REQUEST | http::StatusCode::INTERNAL_SERVER_ERROR
                ),
                "{query}"
            );
        }
    }
}

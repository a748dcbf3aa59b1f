//! A line protocol parser that accepts and rejects exactly what InfluxDB 3 does, with the
//! error messages of InfluxDB 3 Core 3.6.0 (the recorded conformance corpus,
//! `../shared/conformance/`): trailing content and bad numbers quoted with `'…'`, any error
//! in a tag set `Tag Set Malformed`, a missing separator after the measurement
//! `A generic parsing error occurred: TakeWhile1`.
//!
//! It is a hand-written port of the server's nom grammar (`influxdb_line_protocol`, v1
//! grammar, `large-strings` limit of 1 MiB), including its backtracking: which error a bad
//! line gets, and where "trailing content" starts, follow the server.

use std::borrow::Cow;
use std::fmt;

use crate::FieldValue;
use crate::encoder::MAX_COMPONENT_LEN;

/// Parses a body of line protocol, line by line, as the server does.
///
/// Blank, whitespace-only and `#` comment lines are skipped and not counted. After a bad line
/// the iterator goes on with the next one.
///
/// ```
/// use influxdb3_lp::{FieldValue, parse_lines};
///
/// let mut lines = parse_lines("# comment\nhome,room=Kitchen temp=21.5,on=true 1\n\nhome temp=\n");
/// let first = lines.next().unwrap()?;
/// assert_eq!(first.measurement, "home");
/// assert_eq!(first.tags[0], ("room".into(), "Kitchen".into()));
/// assert_eq!(first.fields[1], ("on".into(), FieldValue::Boolean(true)));
/// assert_eq!(first.timestamp, Some(1));
/// let second = lines.next().unwrap().unwrap_err();
/// assert_eq!((second.line_number, second.message.as_str()), (2, "No fields were provided"));
/// assert!(lines.next().is_none());
/// # Ok::<(), influxdb3_lp::ParseError>(())
/// ```
pub fn parse_lines(body: &str) -> LineParser<'_> {
    LineParser {
        body,
        pos: 0,
        line_number: 0,
    }
}

/// The iterator returned by [`parse_lines`].
#[derive(Clone, Debug)]
pub struct LineParser<'a> {
    body: &'a str,
    pos: usize,
    line_number: usize,
}

impl<'a> Iterator for LineParser<'a> {
    type Item = Result<ParsedLine<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos > self.body.len() || self.body.is_empty() {
                return None;
            }
            let rest = &self.body[self.pos..];
            let end = line_end(rest);
            let piece = &rest[..end];
            // Step over the piece and its '\n'; past the end when there was none.
            self.pos += end + 1;
            let text = trim_leading(piece);
            if text.is_empty() {
                continue;
            }
            self.line_number += 1;
            let line_number = self.line_number;
            return Some(match parse_line(text) {
                Ok(line) => Ok(ParsedLine {
                    measurement: line.measurement,
                    tags: line.tags,
                    fields: line.fields,
                    timestamp: line.timestamp,
                    line_number,
                    text,
                }),
                Err(Fail { message, .. }) => Err(ParseError {
                    line_number,
                    message,
                    original_line: text.to_owned(),
                }),
            });
        }
    }
}

/// One line parsed by [`parse_lines`], with names and values unescaped.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLine<'a> {
    /// The measurement (table) name.
    pub measurement: Cow<'a, str>,
    /// The tags in the order written (a repeated key is kept; the server does not reject it).
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The fields in the order written (a repeated key is kept; the server's validator
    /// rejects it later).
    pub fields: Vec<(Cow<'a, str>, FieldValue)>,
    /// The timestamp as written, in the unit of the request's precision.
    pub timestamp: Option<i64>,
    /// The 1-based line number, counting only the lines the server counts (blank, whitespace
    /// and comment lines are skipped; PROTOCOL.md §2.5).
    pub line_number: usize,
    /// The exact source text of this line (leading whitespace removed).
    pub text: &'a str,
}

/// A line the server would reject.
///
/// `original_line` is the text of the bad line itself. (The server's own `original_line` for
/// syntax errors is the N-th *physical* line of the body instead, which differs when blank or
/// comment lines come first; an emulator that wants that quirk can take
/// `body.lines().nth(line_number - 1)`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line number in the server's numbering (§2.5).
    pub line_number: usize,
    /// The server's error message, e.g. `No fields were provided`.
    pub message: String,
    /// The text of the line.
    pub original_line: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line_number, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Splits `input` into lines as the server's `split_lines` (a port of Go's `scanLine`) does:
/// on `\n`, except inside a quoted field string value or right after a backslash.
pub(crate) fn split_lines(input: &str) -> impl Iterator<Item = &str> {
    let mut pos = 0;
    let mut done = input.is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let rest = &input[pos..];
        let end = line_end(rest);
        if end == rest.len() {
            done = true;
        }
        pos += end + 1;
        Some(&rest[..end])
    })
}

/// The byte offset of the `\n` that ends the first line of `input` (or its length).
fn line_end(input: &str) -> usize {
    line_end_state(input.as_bytes()).0
}

/// The byte offset of the `\n` that ends the first line of `input` (or its length), and
/// whether the line is left open at the end of `input`: inside a quoted string or right after
/// a backslash, so that the server would join it with whatever follows.
pub(crate) fn line_end_state(input: &[u8]) -> (usize, bool) {
    // Fast path: a line without quotes or backslashes ends at its first `\n`.
    let nl = memchr::memchr(b'\n', input);
    let upto = nl.unwrap_or(input.len());
    if memchr::memchr2(b'"', b'\\', &input[..upto]).is_none() {
        return (upto, false);
    }
    let mut quoted = false;
    let mut fields = false;
    let mut equals = 0usize;
    let mut commas = 0usize;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\\' => {
                // The escaped byte never ends a line, and a UTF-8 character's other bytes are
                // never ASCII, so skipping one byte skips the whole escaped character.
                if i + 1 >= input.len() {
                    return (input.len(), true);
                }
                i += 2;
                continue;
            }
            b' ' => fields = true,
            b'=' if fields && !quoted => equals += 1,
            b',' if fields && !quoted => commas += 1,
            b'"' if fields && equals > commas => quoted = !quoted,
            b'\n' if !quoted => return (i, false),
            _ => {}
        }
        i += 1;
    }
    (input.len(), quoted)
}

/// The lines of a line protocol body, split exactly as the server splits a write request:
/// a `\n` inside a quoted string field value, or right after a `\`, does not end a line.
///
/// Each item is one line with its `\n` (the last one may have none); blank and comment
/// lines are items too. Works on bytes, so it needs no UTF-8 check.
///
/// ```
/// use influxdb3_lp::lines;
///
/// let body = b"m s=\"a\nb\" 1\nm,t=x\\\ny v=2\nm v=3";
/// let lines: Vec<&[u8]> = lines(body).collect();
/// assert_eq!(lines, [&b"m s=\"a\nb\" 1\n"[..], b"m,t=x\\\ny v=2\n", b"m v=3"]);
/// ```
pub fn lines(body: &[u8]) -> Lines<'_> {
    Lines { rest: body }
}

/// The iterator of [`lines`].
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (end, _) = line_end_state(self.rest);
        let (line, rest) = self.rest.split_at((end + 1).min(self.rest.len()));
        self.rest = rest;
        Some(line)
    }
}

/// Removes leading spaces, tabs and line feeds, and whole `#` comment lines.
pub(crate) fn trim_leading(mut i: &str) -> &str {
    loop {
        i = i.trim_start_matches([' ', '\t', '\n']);
        if i.starts_with('#') {
            i = &i[i.find('\n').unwrap_or(i.len())..];
        } else {
            return i;
        }
    }
}

/// A parse failure: `fatal` is nom's `Failure` (no backtracking), otherwise nom's `Error`.
struct Fail {
    fatal: bool,
    message: String,
}

impl Fail {
    fn error(message: impl Into<String>) -> Self {
        Self {
            fatal: false,
            message: message.into(),
        }
    }

    fn failure(message: impl Into<String>) -> Self {
        Self {
            fatal: true,
            message: message.into(),
        }
    }
}

type PResult<'a, T> = Result<(&'a str, T), Fail>;

struct Line<'a> {
    measurement: Cow<'a, str>,
    tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    fields: Vec<(Cow<'a, str>, FieldValue)>,
    timestamp: Option<i64>,
}

const BACKSLASH: &str =
    "Measurements, tag keys and values, and field keys may not end with a backslash";
const TOO_LARGE: &str = "String is greater than 1MB";
const TAG_SET_MALFORMED: &str = "Tag Set Malformed";

fn parse_line(i: &str) -> Result<Line<'_>, Fail> {
    let (rest, measurement) = measurement(i)?;
    let (rest, tags) = tag_set(rest)?;
    let Some(rest) = spaces(rest) else {
        // nom's `take_while1` for the space after the series failed.
        return Err(Fail::error("A generic parsing error occurred: TakeWhile1"));
    };
    let (rest, fields) = field_set(rest)?;
    let (rest, timestamp) = timestamp(rest)?;
    if !rest.is_empty() {
        return Err(Fail::error(format!(
            "Could not parse entire line. Found trailing content: '{rest}'"
        )));
    }
    Ok(Line {
        measurement,
        tags,
        fields,
        timestamp,
    })
}

/// One or more spaces; the rest after them.
fn spaces(i: &str) -> Option<&str> {
    let rest = i.trim_start_matches(' ');
    (rest.len() < i.len()).then_some(rest)
}

/// The server's `escape_or_fallback`: runs of `normal` bytes, `\` + one of `escapable`
/// (decoded), or `\` + any other character (kept as is). Fails (not fatally) when nothing
/// matches; fatally when the value ends with a backslash or is too long.
fn escaped<'a>(i: &'a str, normal: fn(u8) -> bool, escapable: &[u8]) -> PResult<'a, Cow<'a, str>> {
    let bytes = i.as_bytes();
    let mut pos = 0;
    // While no escape was decoded the value is `i[..pos]`; after that it is owned.
    let mut owned: Option<String> = None;
    loop {
        let start = pos;
        while pos < bytes.len() && normal(bytes[pos]) {
            pos += 1;
        }
        if pos > start {
            if let Some(s) = &mut owned {
                s.push_str(&i[start..pos]);
            }
            continue;
        }
        if bytes.get(pos) == Some(&b'\\') {
            match bytes.get(pos + 1) {
                Some(&b) if escapable.contains(&b) => {
                    owned
                        .get_or_insert_with(|| i[..pos].to_owned())
                        .push(char::from(b));
                    pos += 2;
                }
                _ => {
                    // Unknown escape: the backslash and the next character are kept as is.
                    let next = i[pos + 1..].chars().next().map_or(0, char::len_utf8);
                    if let Some(s) = &mut owned {
                        s.push_str(&i[pos..pos + 1 + next]);
                    }
                    pos += 1 + next;
                    if next == 0 {
                        break;
                    }
                }
            }
            continue;
        }
        if pos == 0 {
            return Err(Fail::error(""));
        }
        break;
    }
    let value = match owned {
        Some(s) => Cow::Owned(s),
        None => Cow::Borrowed(&i[..pos]),
    };
    if value.ends_with('\\') {
        return Err(Fail::failure(BACKSLASH));
    }
    if value.len() > MAX_COMPONENT_LEN {
        return Err(Fail::failure(TOO_LARGE));
    }
    Ok((&i[pos..], value))
}

fn measurement(i: &str) -> PResult<'_, Cow<'_, str>> {
    escaped(
        i,
        |b| !matches!(b, b' ' | b'\t' | b'\n' | 0 | b',' | b'\\'),
        b", \\",
    )
    .map_err(|f| {
        if f.fatal {
            f
        } else {
            Fail::error("Invalid measurement was provided")
        }
    })
}

fn is_key_char(b: u8) -> bool {
    !matches!(b, b' ' | b'\t' | b'\n' | b'=' | b'\\')
}

fn is_tag_value_char(b: u8) -> bool {
    !matches!(b, b' ' | b'\t' | b'\n' | b',' | b'\\')
}

const NAME_ESCAPES: &[u8] = b"\\,= ";

type Tags<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// `,k=v,k=v…` after the measurement, if there is a comma. Every error here is fatal.
fn tag_set(i: &str) -> PResult<'_, Tags<'_>> {
    let mut tags = Vec::new();
    let Some(remainder) = i.strip_prefix(',') else {
        return Ok((i, tags));
    };
    let mut rest = remainder;
    loop {
        let malformed = |f: Fail| {
            if f.fatal {
                f
            } else {
                Fail::failure(TAG_SET_MALFORMED)
            }
        };
        let (r, key) = escaped(rest, is_key_char, NAME_ESCAPES).map_err(malformed)?;
        let Some(r) = r.strip_prefix('=') else {
            return Err(Fail::failure(TAG_SET_MALFORMED));
        };
        let (r, value) = escaped(r, is_tag_value_char, NAME_ESCAPES).map_err(malformed)?;
        tags.push((key, value));
        match r.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok((r, tags)),
        }
    }
}

type Fields<'a> = Vec<(Cow<'a, str>, FieldValue)>;

fn field_set(i: &str) -> PResult<'_, Fields<'_>> {
    let mut fields = Vec::new();
    let (mut rest, first) = field(i).map_err(|f| {
        if f.fatal {
            f
        } else {
            Fail::error("No fields were provided")
        }
    })?;
    fields.push(first);
    let mut second = true;
    while let Some(after) = rest.strip_prefix(',') {
        match field(after) {
            Ok((r, f)) => {
                fields.push(f);
                rest = r;
            }
            Err(f) if f.fatal => return Err(f),
            Err(_) => {
                // The server's separated list backtracks to after the comma for the second
                // field, and to before it for later ones.
                if second {
                    rest = after;
                }
                break;
            }
        }
        second = false;
    }
    Ok((rest, fields))
}

fn field(i: &str) -> PResult<'_, (Cow<'_, str>, FieldValue)> {
    let (rest, key) = escaped(i, is_key_char, NAME_ESCAPES)?;
    let rest = rest.strip_prefix('=').ok_or_else(|| Fail::error(""))?;
    let (rest, value) = field_value(rest)?;
    Ok((rest, (key, value)))
}

/// `-?D`: the matched text.
fn signed_digits(i: &str) -> Option<&str> {
    let sign = usize::from(i.starts_with('-'));
    let digits = digits(&i[sign..]);
    (digits > 0).then(|| &i[..sign + digits])
}

/// The number of leading ASCII digits.
fn digits(i: &str) -> usize {
    i.bytes().take_while(u8::is_ascii_digit).count()
}

/// `D[eE][+-]?D` at the start of `i`: its length.
fn exponential(i: &str) -> Option<usize> {
    let d = digits(i);
    if d == 0 {
        return None;
    }
    let mut pos = d;
    if !matches!(i.as_bytes().get(pos), Some(b'e' | b'E')) {
        return None;
    }
    pos += 1;
    if matches!(i.as_bytes().get(pos), Some(b'+' | b'-')) {
        pos += 1;
    }
    let e = digits(&i[pos..]);
    (e > 0).then_some(pos + e)
}

/// The text of a float at the start of `i`, trying the server's four forms in its order.
fn float_text(i: &str) -> Option<&str> {
    let int = signed_digits(i)?;
    let after_int = &i[int.len()..];
    // -?D.D[eE][+-]?D
    if let Some(frac) = after_int.strip_prefix('.')
        && let Some(len) = exponential(frac)
    {
        return Some(&i[..int.len() + 1 + len]);
    }
    // -?D[eE][+-]?D
    let sign = usize::from(i.starts_with('-'));
    if let Some(len) = exponential(&i[sign..]) {
        return Some(&i[..sign + len]);
    }
    // -?D.D
    if let Some(frac) = after_int.strip_prefix('.') {
        let d = digits(frac);
        if d > 0 {
            return Some(&i[..int.len() + 1 + d]);
        }
    }
    // -?D
    Some(int)
}

fn field_value(i: &str) -> PResult<'_, FieldValue> {
    if let Some(text) = signed_digits(i) {
        let rest = &i[text.len()..];
        // Integer: -?D followed by `i`.
        if let Some(rest) = rest.strip_prefix('i') {
            return text
                .parse()
                .map(|v| (rest, FieldValue::Integer(v)))
                .map_err(|_| Fail::failure(format!("Unable to parse integer value '{text}'")));
        }
        // Unsigned: D followed by `u`.
        if !text.starts_with('-')
            && let Some(rest) = rest.strip_prefix('u')
        {
            return text
                .parse()
                .map(|v| (rest, FieldValue::UInteger(v)))
                .map_err(|_| {
                    Fail::failure(format!("Unable to parse unsigned integer value '{text}'"))
                });
        }
        if let Some(text) = float_text(i) {
            return text
                .parse()
                .map(|v| (&i[text.len()..], FieldValue::Float(v)))
                .map_err(|_| {
                    Fail::failure(format!("Unable to parse floating-point value '{text}'"))
                });
        }
    }
    if i.starts_with('"') {
        return string_value(i);
    }
    for (text, value) in [
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("t", true),
        ("T", true),
        ("false", false),
        ("False", false),
        ("FALSE", false),
        ("f", false),
        ("F", false),
    ] {
        if let Some(rest) = i.strip_prefix(text) {
            return Ok((rest, FieldValue::Boolean(value)));
        }
    }
    Err(Fail::error(""))
}

/// `"…"` with `\"` and `\\` decoded and any other backslash kept.
fn string_value(i: &str) -> PResult<'_, FieldValue> {
    let bytes = i.as_bytes();
    let mut value = String::new();
    let mut pos = 1;
    let mut start = 1;
    loop {
        match bytes.get(pos) {
            None => return Err(Fail::error("")),
            Some(b'"') => {
                value.push_str(&i[start..pos]);
                if value.len() > MAX_COMPONENT_LEN {
                    return Err(Fail::failure(TOO_LARGE));
                }
                return Ok((&i[pos + 1..], FieldValue::String(value)));
            }
            Some(b'\\') => match bytes.get(pos + 1) {
                Some(&c @ (b'"' | b'\\')) => {
                    value.push_str(&i[start..pos]);
                    value.push(char::from(c));
                    pos += 2;
                    start = pos;
                }
                _ => pos += 1,
            },
            Some(_) => pos += 1,
        }
    }
}

/// ` +-?D +` after the fields, if there; the server's `opt(preceded(whitespace, …))`.
fn timestamp(i: &str) -> PResult<'_, Option<i64>> {
    let Some(after) = spaces(i) else {
        return Ok((i, None));
    };
    let Some(text) = signed_digits(after) else {
        return Ok((i, None));
    };
    let value = text
        .parse()
        .map_err(|_| Fail::failure(format!("Unable to parse timestamp value '{text}'")))?;
    let rest = &after[text.len()..];
    Ok((rest.trim_start_matches(' '), Some(value)))
}

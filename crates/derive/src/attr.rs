//! Parsing and checking of `#[influxdb(...)]` attributes.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, PathArguments, Type,
};

/// What the derive needs to know about the struct.
pub(crate) struct Record {
    /// The measurement name.
    pub(crate) measurement: String,
    /// The path under which `influxdb3_lp` is reachable.
    pub(crate) krate: syn::Path,
    /// Tag fields in declaration order.
    pub(crate) tags: Vec<Member>,
    /// Field (value) members in declaration order.
    pub(crate) fields: Vec<Member>,
    /// The timestamp member, if any.
    pub(crate) timestamp: Option<Timestamp>,
}

/// One struct member used as a tag or a field.
pub(crate) struct Member {
    /// The Rust field name.
    pub(crate) ident: Ident,
    /// The name in line protocol.
    pub(crate) name: String,
    /// Whether the type is `Option<..>` (left out when `None`).
    pub(crate) optional: bool,
    /// The span of the member's type (without `Option`), for type errors.
    pub(crate) ty_span: Span,
}

/// The timestamp member.
pub(crate) struct Timestamp {
    /// The Rust field name.
    pub(crate) ident: Ident,
    /// The kind of value it holds.
    pub(crate) kind: TimeKind,
    /// Whether the type is `Option<..>`.
    pub(crate) optional: bool,
    /// The unit of integer timestamps (`precision = ".."`); `None`: the write's precision.
    pub(crate) precision: Option<Unit>,
}

/// The Rust type of the timestamp member.
#[derive(Clone, Copy)]
pub(crate) enum TimeKind {
    /// `i64`.
    I64,
    /// `u64`.
    U64,
    /// `std::time::SystemTime`.
    SystemTime,
}

/// The unit of an integer timestamp.
#[derive(Clone, Copy)]
pub(crate) enum Unit {
    /// Nanoseconds.
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
}

/// The role of one struct member.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Role {
    Tag,
    Field,
    Timestamp,
    Skip,
}

impl Role {
    fn keyword(self) -> &'static str {
        match self {
            Role::Tag => "tag",
            Role::Field => "field",
            Role::Timestamp => "timestamp",
            Role::Skip => "skip",
        }
    }
}

const FIELD_KEYS: &str =
    "`tag`, `field`, `timestamp`, `precision = \"..\"`, `rename = \"..\"`, `skip`";
const STRUCT_KEYS: &str = "`measurement = \"..\"`, `crate = \"..\"`";

/// Collects errors so that one compile reports every mistake.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Reads the whole input and checks it.
pub(crate) fn parse(input: &DeriveInput) -> syn::Result<Record> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(_) => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "`ToLineProtocol` needs a struct with named fields: line protocol names each \
                     tag and field, so a tuple struct cannot be mapped",
                ));
            }
            Fields::Unit => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "`ToLineProtocol` cannot be derived for a unit struct: a line protocol \
                     record needs at least one field",
                ));
            }
        },
        Data::Enum(data) => {
            return Err(syn::Error::new(
                data.enum_token.span,
                "`ToLineProtocol` can only be derived for structs with named fields, not enums",
            ));
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                "`ToLineProtocol` can only be derived for structs with named fields, not unions",
            ));
        }
    };

    let mut errors = Errors::default();
    let mut measurement = None;
    let mut krate = None;
    for attr in influxdb_attrs(&input.attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("measurement") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "the measurement name must not be empty",
                    ));
                }
                measurement = Some(lit.value());
                Ok(())
            } else if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                krate = Some(lit.parse::<syn::Path>()?);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown `influxdb` attribute `{}` on a struct; expected one of: {STRUCT_KEYS}",
                    path_text(&meta.path)
                )))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }

    let mut tags = Vec::new();
    let mut fields = Vec::new();
    let mut timestamp: Option<Timestamp> = None;
    for field in &named.named {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let mut role: Option<(Role, Span)> = None;
        let mut rename: Option<LitStr> = None;
        let mut precision: Option<LitStr> = None;
        for attr in influxdb_attrs(&field.attrs) {
            let result = attr.parse_nested_meta(|meta| {
                let new_role = if meta.path.is_ident("tag") {
                    Some(Role::Tag)
                } else if meta.path.is_ident("field") {
                    Some(Role::Field)
                } else if meta.path.is_ident("timestamp") {
                    Some(Role::Timestamp)
                } else if meta.path.is_ident("skip") {
                    Some(Role::Skip)
                } else {
                    None
                };
                if let Some(new_role) = new_role {
                    if let Some((old, _)) = role {
                        return Err(meta.error(format!(
                            "`{ident}` is already marked `{}`; a member can have only one of \
                             `tag`, `field`, `timestamp`, `skip`",
                            old.keyword()
                        )));
                    }
                    role = Some((new_role, meta.path.span()));
                    Ok(())
                } else if meta.path.is_ident("rename") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "`rename` must not be empty"));
                    }
                    rename = Some(lit);
                    Ok(())
                } else if meta.path.is_ident("precision") {
                    precision = Some(meta.value()?.parse()?);
                    Ok(())
                } else {
                    Err(meta.error(format!(
                        "unknown `influxdb` attribute `{}`; expected one of: {FIELD_KEYS}",
                        path_text(&meta.path)
                    )))
                }
            });
            if let Err(e) = result {
                errors.push(e);
            }
        }
        let role = role.map_or(Role::Field, |(r, _)| r);
        if let Some(lit) = &precision
            && role != Role::Timestamp
        {
            errors.push(syn::Error::new(
                lit.span(),
                "`precision` only applies to the `#[influxdb(timestamp)]` member",
            ));
        }
        if let Some(lit) = &rename
            && matches!(role, Role::Timestamp | Role::Skip)
        {
            errors.push(syn::Error::new(
                lit.span(),
                format!("`rename` has no effect on a `{}` member", role.keyword()),
            ));
        }
        let name = rename
            .as_ref()
            .map_or_else(|| ident.to_string(), LitStr::value);
        let (inner, optional) = unwrap_option(&field.ty);
        match role {
            Role::Skip => {}
            Role::Field => fields.push(Member {
                ident,
                name,
                optional,
                ty_span: inner.span(),
            }),
            Role::Tag => {
                if let Some(primitive) = non_string_primitive(inner) {
                    errors.push(syn::Error::new(
                        inner.span(),
                        format!(
                            "`#[influxdb(tag)]` needs a string type (`String`, `&str`, \
                             `Cow<str>` or an `Option` of one); `{primitive}` is not a string. \
                             Make it a field, or convert it to a `String`"
                        ),
                    ));
                }
                tags.push(Member {
                    ident,
                    name,
                    optional,
                    ty_span: inner.span(),
                });
            }
            Role::Timestamp => {
                let kind = match time_kind(inner) {
                    Some(kind) => kind,
                    None => {
                        errors.push(syn::Error::new(
                            field.ty.span(),
                            "`#[influxdb(timestamp)]` needs `i64`, `u64`, \
                             `std::time::SystemTime`, or an `Option` of one of them",
                        ));
                        continue;
                    }
                };
                let unit = match &precision {
                    None => None,
                    Some(lit) => match parse_unit(&lit.value()) {
                        Some(unit) => {
                            if matches!(kind, TimeKind::SystemTime) {
                                errors.push(syn::Error::new(
                                    lit.span(),
                                    "`precision` applies to integer timestamps; a `SystemTime` \
                                     carries its own unit",
                                ));
                            }
                            Some(unit)
                        }
                        None => {
                            errors.push(syn::Error::new(
                                lit.span(),
                                format!(
                                    "unknown precision `{}`; expected one of `ns`, `us`, `ms`, `s`",
                                    lit.value()
                                ),
                            ));
                            None
                        }
                    },
                };
                if let Some(first) = &timestamp {
                    errors.push(syn::Error::new(
                        ident.span(),
                        format!(
                            "a record has one timestamp, but both `{}` and `{ident}` are marked \
                             `#[influxdb(timestamp)]`",
                            first.ident
                        ),
                    ));
                    continue;
                }
                timestamp = Some(Timestamp {
                    ident,
                    kind,
                    optional,
                    precision: unit,
                });
            }
        }
    }

    if fields.is_empty() {
        errors.push(syn::Error::new(
            input.ident.span(),
            format!(
                "`{}` has no line protocol field: a record needs at least one member that is not \
                 `tag`, `timestamp` or `skip`",
                input.ident
            ),
        ));
    }
    check_duplicates(&tags, &fields, &mut errors);
    errors.finish()?;

    Ok(Record {
        measurement: measurement.unwrap_or_else(|| snake_case(&input.ident.to_string())),
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::influxdb_client_3::lp)),
        tags,
        fields,
        timestamp,
    })
}

fn influxdb_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("influxdb"))
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn check_duplicates(tags: &[Member], fields: &[Member], errors: &mut Errors) {
    let all: Vec<&Member> = tags.iter().chain(fields).collect();
    for (i, m) in all.iter().enumerate() {
        if m.name == "time" {
            errors.push(syn::Error::new(
                m.ident.span(),
                "`time` is a reserved column name in InfluxDB 3; rename this member with \
                 `#[influxdb(rename = \"..\")]`",
            ));
        }
        if let Some(prev) = all[..i].iter().find(|p| p.name == m.name) {
            errors.push(syn::Error::new(
                m.ident.span(),
                format!(
                    "`{}` and `{}` both map to the line protocol name `{}`",
                    prev.ident, m.ident, m.name
                ),
            ));
        }
    }
}

/// `Option<T>` -> (`T`, true); anything else -> (itself, false).
fn unwrap_option(ty: &Type) -> (&Type, bool) {
    if let Type::Path(p) = ty
        && p.qself.is_none()
        && let Some(last) = p.path.segments.last()
        && last.ident == "Option"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(inner)) = args.args.first()
    {
        return (inner, true);
    }
    (ty, false)
}

fn last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => last_ident(&r.elem),
        Type::Paren(p) => last_ident(&p.elem),
        Type::Group(g) => last_ident(&g.elem),
        _ => None,
    }
}

fn non_string_primitive(ty: &Type) -> Option<String> {
    const PRIMITIVES: &[&str] = &[
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "f32",
        "f64",
        "bool",
        "char",
        "SystemTime",
    ];
    let name = last_ident(ty)?;
    PRIMITIVES.contains(&name.as_str()).then_some(name)
}

fn time_kind(ty: &Type) -> Option<TimeKind> {
    match last_ident(ty)?.as_str() {
        "i64" => Some(TimeKind::I64),
        "u64" => Some(TimeKind::U64),
        "SystemTime" => Some(TimeKind::SystemTime),
        _ => None,
    }
}

fn parse_unit(s: &str) -> Option<Unit> {
    match s {
        "ns" | "nanosecond" => Some(Unit::Nanoseconds),
        "us" | "microsecond" => Some(Unit::Microseconds),
        "ms" | "millisecond" => Some(Unit::Milliseconds),
        "s" | "second" => Some(Unit::Seconds),
        _ => None,
    }
}

/// `HomeSensor` -> `home_sensor`, `HTTPRequest` -> `http_request`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

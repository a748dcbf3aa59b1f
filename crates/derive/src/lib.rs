//! `#[derive(ToLineProtocol)]`: write plain Rust structs to InfluxDB 3.
//!
//! The derive implements `ToLineProtocol` (from `influxdb3-lp`) for a struct with named
//! fields, so values of the struct can be handed to `Client::write` like a `Point`. It is the
//! Rust counterpart of the Python client's dict and dataclass records.
//!
//! # Attributes
//!
//! On the struct:
//!
//! | Attribute | Meaning |
//! |---|---|
//! | `#[influxdb(measurement = "home")]` | the measurement (table); default: the struct name in snake_case (`HomeSensor` → `home_sensor`) |
//! | `#[influxdb(crate = "influxdb3_lp")]` | where the line protocol crate is; default `::influxdb_client_3::lp` (see below) |
//!
//! On a member:
//!
//! | Attribute | Meaning |
//! |---|---|
//! | `#[influxdb(tag)]` | a tag; the type must be string-like (`String`, `&str`, `Cow<str>`, or an `Option` of one) |
//! | `#[influxdb(field)]` | a field (the default for every member not marked otherwise); any type with `From<T> for FieldValue`: integers, floats, `bool`, strings |
//! | `#[influxdb(timestamp)]` | the timestamp: `i64` or `u64` in the write's precision (as a bare integer is everywhere), `std::time::SystemTime`, or an `Option` of one |
//! | `#[influxdb(timestamp, precision = "s")]` | an integer timestamp in a stated unit (`ns`, `us`, `ms` or `s`), converted to the write's precision |
//! | `#[influxdb(rename = "x")]` | the tag or field name in line protocol (default: the member's name) |
//! | `#[influxdb(skip)]` | leaves the member out |
//!
//! A member of type `Option<T>` is left out of the line when it is `None`. Mistakes (unknown
//! attributes, two timestamps, a tag of a non-string type, enums, tuple structs, a struct
//! without fields, two members with the same name) are compile errors that say what to change.
//!
//! # Which crate path the generated code uses
//!
//! The generated code names the line protocol types through a path. By default that is
//! `::influxdb_client_3::lp`, the re-export in the facade crate, so users of
//! `influxdb-client-3` need no other dependency. Code that depends on `influxdb3-lp` directly
//! says so with `#[influxdb(crate = "influxdb3_lp")]`.
//!
//! # Example
//!
//! ```
//! use influxdb3_derive::ToLineProtocol;
//! use influxdb3_lp::{LineEncoder, Precision};
//!
//! #[derive(ToLineProtocol)]
//! #[influxdb(crate = "influxdb3_lp", measurement = "home")]
//! struct Reading {
//!     #[influxdb(tag)]
//!     room: String,
//!     temp: f64,
//!     hum: f64,
//!     co: Option<i64>,
//!     #[influxdb(timestamp, precision = "s")]
//!     time: i64,
//! }
//!
//! let mut encoder = LineEncoder::new(Precision::Seconds);
//! encoder.encode(&Reading { room: "Kitchen".into(), temp: 21.0, hum: 35.9, co: None, time: 1_641_024_000 })?;
//! assert_eq!(encoder.as_bytes(), b"home,room=Kitchen temp=21,hum=35.9 1641024000\n");
//! # Ok::<(), influxdb3_lp::Error>(())
//! ```
//!
//! The generated `encode_to` writes the struct straight into the encoder with
//! `LineEncoder::line` (a `LineBuilder`, no `Point` in between), with the tags in sorted
//! order, so default tags are merged, NaN/±Inf floats are dropped and counted, and names are
//! checked and escaped exactly as for a `Point`.

mod attr;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::{DeriveInput, parse_macro_input};

use attr::{Record, TimeKind, Unit};

/// Implements `ToLineProtocol` for a struct with named fields; see the [crate] documentation
/// for the `#[influxdb(...)]` attributes.
#[proc_macro_derive(ToLineProtocol, attributes(influxdb))]
pub fn derive_to_line_protocol(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match attr::parse(&input) {
        Ok(record) => expand(&input, &record).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput, record: &Record) -> TokenStream2 {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let krate = &record.krate;
    let measurement = &record.measurement;

    // The line builder takes tags sorted by key; the keys are known here, so sort them now.
    let mut sorted_tags: Vec<_> = record.tags.iter().collect();
    sorted_tags.sort_by(|a, b| a.name.cmp(&b.name));
    let tags = sorted_tags.into_iter().map(|m| {
        let ident = &m.ident;
        let key = &m.name;
        // Spanned on the member's type so that a type without `AsRef<str>` is reported there.
        let as_str = quote_spanned!(m.ty_span=> ::core::convert::AsRef::<str>::as_ref);
        if m.optional {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#ident {
                    line = line.tag(#key, #as_str(value));
                }
            }
        } else {
            quote! {
                line = line.tag(#key, #as_str(&self.#ident));
            }
        }
    });

    let fields = record.fields.iter().map(|m| {
        let ident = &m.ident;
        let key = &m.name;
        // Spanned on the member's type so that a type without `Into<FieldValue>` is reported
        // there.
        let into = quote_spanned!(m.ty_span=> ::core::convert::Into::into);
        if m.optional {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#ident {
                    let value: #krate::FieldValue = #into(::core::clone::Clone::clone(value));
                    line = line.field(#key, value);
                }
            }
        } else {
            quote! {
                let value: #krate::FieldValue = #into(::core::clone::Clone::clone(&self.#ident));
                line = line.field(#key, value);
            }
        }
    });

    let timestamp = record.timestamp.as_ref().map(|ts| {
        let ident = &ts.ident;
        let make = |value: TokenStream2| match ts.precision {
            None => quote! { #krate::Timestamp::in_write_precision(#value) },
            Some(unit) => {
                let precision = match unit {
                    Unit::Nanoseconds => quote!(#krate::Precision::Nanoseconds),
                    Unit::Microseconds => quote!(#krate::Precision::Microseconds),
                    Unit::Milliseconds => quote!(#krate::Precision::Milliseconds),
                    Unit::Seconds => quote!(#krate::Precision::Seconds),
                };
                quote! { #krate::Timestamp::new(#value, #precision) }
            }
        };
        let from_value = make(quote!(value));
        let overflow = make(quote!(i64::MAX));
        let convert = match ts.kind {
            TimeKind::I64 => from_value,
            TimeKind::U64 => quote! {
                match <i64 as ::core::convert::TryFrom<u64>>::try_from(value) {
                    ::core::result::Result::Ok(value) => #from_value,
                    ::core::result::Result::Err(_) => {
                        return ::core::result::Result::Err(#krate::Error::TimestampOutOfRange {
                            measurement: ::std::string::String::from(#measurement),
                            timestamp: #overflow,
                        });
                    }
                }
            },
            TimeKind::SystemTime => quote! { #krate::Timestamp::from(value) },
        };
        if ts.optional {
            quote! {
                if let ::core::option::Option::Some(value) = self.#ident {
                    line = line.timestamp(#convert);
                }
            }
        } else {
            quote! {
                let value = self.#ident;
                line = line.timestamp(#convert);
            }
        }
    });

    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::ToLineProtocol for #name #ty_generics #where_clause {
            fn encode_to(
                &self,
                encoder: &mut #krate::LineEncoder,
            ) -> ::core::result::Result<(), #krate::Error> {
                #[allow(unused_mut)]
                let mut line = encoder.line(#measurement)?;
                #(#tags)*
                #(#fields)*
                #timestamp
                line.finish()
            }
        }
    }
}

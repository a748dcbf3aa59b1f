//! Tests of `influxdb3-lp` through its public API.

#[cfg(feature = "arrow")]
mod arrow;
mod builder;
mod encode;
mod parse;
mod props;

use influxdb3_lp::{Error, LineEncoder, Precision, ToLineProtocol};

/// Encodes `record` with a fresh nanosecond encoder and returns the text.
fn encode<R: ToLineProtocol + ?Sized>(record: &R) -> Result<String, Error> {
    encode_in(Precision::Nanoseconds, record)
}

/// Encodes `record` with a fresh encoder of `precision` and returns the text.
fn encode_in<R: ToLineProtocol + ?Sized>(
    precision: Precision,
    record: &R,
) -> Result<String, Error> {
    let mut encoder = LineEncoder::new(precision);
    encoder.encode(record)?;
    Ok(String::from_utf8(encoder.as_bytes().to_vec()).expect("the encoder writes UTF-8"))
}

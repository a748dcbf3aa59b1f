//! Where and how one body is written: [`WriteParams`] and [`Endpoint`].

use influxdb3_lp::Precision;

use crate::Error;

/// Which HTTP write endpoint to use (PROTOCOL.md §2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /api/v2/write?bucket=<db>&precision=<ns|us|ms|s>`: served by InfluxDB 3 and by
    /// InfluxDB 2 / Cloud. Partial writes are always off and `no_sync` is not available.
    /// The default, as in the official Go client.
    #[default]
    V2,
    /// `POST /api/v3/write_lp?db=<db>&precision=<nanosecond|...>`: InfluxDB 3 only;
    /// supports `no_sync` and `accept_partial`.
    V3,
}

/// The parameters of one write: target database, timestamp precision and endpoint options.
///
/// ```
/// use influxdb3_lp::Precision;
/// use influxdb3_write::{Endpoint, WriteParams};
///
/// let params = WriteParams::new("sensors")
///     .precision(Precision::Seconds)
///     .endpoint(Endpoint::V3)
///     .no_sync(true);
/// assert_eq!(params.database, "sensors");
/// assert!(params.accept_partial);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WriteParams {
    /// The database (`bucket` on the v2 endpoint). Created by the server on first write.
    pub database: String,
    /// The unit of the timestamps in the body. Always sent explicitly.
    pub precision: Precision,
    /// v3 only: acknowledge before the WAL is persisted (sent as `no_sync=true` when set).
    pub no_sync: bool,
    /// v3 only: store the valid lines when some are invalid (default `true`; sent as
    /// `accept_partial=false` only when turned off).
    pub accept_partial: bool,
    /// The endpoint to write to.
    pub endpoint: Endpoint,
}

impl WriteParams {
    /// Parameters for `database` with the defaults: nanosecond precision, the v2 endpoint,
    /// `no_sync` off, `accept_partial` on.
    pub fn new(database: impl Into<String>) -> Self {
        WriteParams {
            database: database.into(),
            precision: Precision::Nanoseconds,
            no_sync: false,
            accept_partial: true,
            endpoint: Endpoint::V2,
        }
    }

    /// Sets the timestamp precision.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Sets `no_sync` (v3 endpoint only).
    pub fn no_sync(mut self, no_sync: bool) -> Self {
        self.no_sync = no_sync;
        self
    }

    /// Sets `accept_partial` (turning it off needs the v3 endpoint).
    pub fn accept_partial(mut self, accept_partial: bool) -> Self {
        self.accept_partial = accept_partial;
        self
    }

    /// Sets the endpoint.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Checks the combination before anything is sent: the database must not be empty,
    /// and the v2 endpoint supports neither `no_sync` nor `accept_partial=false`
    /// (the client never switches endpoints on its own).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.database.is_empty() {
            return Err(Error::config("the database name is empty"));
        }
        if self.endpoint == Endpoint::V2 {
            if self.no_sync {
                return Err(Error::config(
                    "no_sync needs the v3 write endpoint: set `endpoint(Endpoint::V3)` \
                     (the v2 endpoint /api/v2/write always syncs)",
                ));
            }
            if !self.accept_partial {
                return Err(Error::config(
                    "accept_partial=false needs the v3 write endpoint: set \
                     `endpoint(Endpoint::V3)` (the v2 endpoint never accepts partial writes)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn v2_rejects_v3_only_options() {
        let p = WriteParams::new("db").no_sync(true);
        let err = p.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("no_sync"));
        let p = WriteParams::new("db").accept_partial(false);
        assert!(
            p.validate()
                .unwrap_err()
                .message()
                .contains("accept_partial")
        );
        let p = WriteParams::new("db")
            .endpoint(Endpoint::V3)
            .no_sync(true)
            .accept_partial(false);
        assert!(p.validate().is_ok());
        assert!(WriteParams::new("").validate().is_err());
    }
}

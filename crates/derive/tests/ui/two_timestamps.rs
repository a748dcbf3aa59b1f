use influxdb3_derive::ToLineProtocol;

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Reading {
    temp: f64,
    #[influxdb(timestamp)]
    time: i64,
    #[influxdb(timestamp, precision = "s")]
    time_again: i64,
}

fn main() {}

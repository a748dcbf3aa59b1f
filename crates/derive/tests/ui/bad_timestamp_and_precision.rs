use influxdb3_derive::ToLineProtocol;

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Reading {
    #[influxdb(precision = "s")]
    temp: f64,
    #[influxdb(timestamp, precision = "minutes")]
    time: i64,
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Other {
    temp: f64,
    #[influxdb(timestamp)]
    time: String,
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Clash {
    #[influxdb(tag, field)]
    room: String,
    temp: f64,
    #[influxdb(rename = "temp")]
    temperature: f64,
    time: f64,
}

fn main() {}

use influxdb3_derive::ToLineProtocol;

#[derive(Clone)]
struct Celsius(f64);

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Reading {
    temp: Celsius,
}

fn main() {}

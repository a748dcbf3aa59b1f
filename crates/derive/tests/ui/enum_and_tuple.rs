use influxdb3_derive::ToLineProtocol;

#[derive(ToLineProtocol)]
enum Reading {
    Temp(f64),
}

#[derive(ToLineProtocol)]
struct Pair(String, f64);

#[derive(ToLineProtocol)]
struct Unit;

fn main() {}

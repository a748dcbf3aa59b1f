use influxdb3_derive::ToLineProtocol;

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Reading {
    #[influxdb(tagg)]
    room: String,
    temp: f64,
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp", table = "x")]
struct Other {
    temp: f64,
}

fn main() {}

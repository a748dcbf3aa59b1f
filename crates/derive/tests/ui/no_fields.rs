use influxdb3_derive::ToLineProtocol;

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct OnlyTags {
    #[influxdb(tag)]
    room: String,
    #[influxdb(timestamp)]
    time: i64,
    #[influxdb(skip)]
    cache: f64,
}

fn main() {}

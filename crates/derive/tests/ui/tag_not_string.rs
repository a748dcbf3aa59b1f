use influxdb3_derive::ToLineProtocol;

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Reading {
    #[influxdb(tag)]
    sensor_id: u32,
    temp: f64,
}

struct Room;

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct Other {
    #[influxdb(tag)]
    room: Room,
    temp: f64,
}

fn main() {}

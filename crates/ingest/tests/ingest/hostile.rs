//! Hostile files: forged lengths, deep nesting, and seeded byte flips over every sample file.
//! Each must give an error naming the file (or read back), never a panic or an abort.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use influxdb3_ingest::{
    BatchSource, ErrorKind, FileFormat, FileParserOptions, JsonOptions, open, open_as,
};

use crate::common::{SAMPLE_FILES, sample};

/// Reads every batch; the rows read, or the first error.
fn read_all(source: &mut dyn BatchSource) -> Result<usize, influxdb3_ingest::Error> {
    let mut rows = 0;
    while let Some(batch) = source.next_batch()? {
        rows += batch.num_rows();
    }
    Ok(rows)
}

fn feather_bytes(compression: Option<arrow_ipc::CompressionType>) -> Vec<u8> {
    let n = 200;
    let batch = RecordBatch::try_from_iter([
        (
            "room",
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 5 != 0).then(|| format!("room {}", i % 3))),
            )) as ArrayRef,
        ),
        (
            "temp",
            Arc::new(Float64Array::from_iter_values((0..n).map(f64::from))) as ArrayRef,
        ),
        (
            "time",
            Arc::new(Int64Array::from_iter_values(0..i64::from(n))) as ArrayRef,
        ),
    ])
    .unwrap();
    let options = arrow_ipc::writer::IpcWriteOptions::default()
        .try_with_compression(compression)
        .unwrap();
    let mut out = Vec::new();
    let mut writer =
        arrow_ipc::writer::FileWriter::try_new_with_options(&mut out, &batch.schema(), options)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    out
}

/// The lz4 feather file whose first compressed buffer declares 1.6e18 uncompressed bytes:
/// arrow-ipc's reader passed that to `Vec::with_capacity` and the process aborted.
#[test]
fn a_forged_uncompressed_length_in_feather_is_an_error() {
    let mut bytes = feather_bytes(Some(arrow_ipc::CompressionType::LZ4_FRAME));
    // The first record batch body starts after the schema message; find an lz4 frame magic
    // (04 22 4d 18) and forge the 8-byte length prefix just before it.
    let magic = bytes
        .windows(4)
        .position(|w| w == [0x04, 0x22, 0x4d, 0x18])
        .expect("an lz4 frame");
    bytes[magic - 8..magic].copy_from_slice(&1_600_000_000_000_000_000i64.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forged.feather");
    std::fs::write(&path, &bytes).unwrap();

    let mut source = open(&path, None).unwrap();
    let err = read_all(source.as_mut()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(err.format(), Some(FileFormat::Feather));
    assert_eq!(err.path(), path.as_path());
    assert!(
        err.message()
            .contains("declares an uncompressed length of 1600000000000000000"),
        "{err}"
    );
}

#[test]
fn a_feather_footer_or_block_pointing_outside_the_file_is_an_error() {
    let good = feather_bytes(None);
    let dir = tempfile::tempdir().unwrap();
    // The footer length (4 bytes before the trailing ARROW1) claims more than the file.
    let mut bytes = good.clone();
    let at = bytes.len() - 10;
    bytes[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
    let path = dir.path().join("footer.feather");
    std::fs::write(&path, &bytes).unwrap();
    let err = open(&path, None).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.message().contains("more than the file holds"), "{err}");

    // A file too short to hold the magic numbers.
    let path = dir.path().join("short.feather");
    std::fs::write(&path, b"ARROW1").unwrap();
    let err = open(&path, None).map(|_| ()).unwrap_err();
    assert!(err.message().contains("too short"), "{err}");
}

/// `{"time":1,"a":[[[...1...]]]}` nested 20,000 deep overflowed the stack inside arrow-json
/// when read with an explicit schema.
#[test]
fn a_deeply_nested_json_record_is_an_error_naming_its_line() {
    let depth = 20_000;
    let record = format!(
        "{{\"time\":1,\"a\":{}1{}}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.jsonl");
    std::fs::write(&path, format!("{{\"time\":0,\"a\":1}}\n{record}")).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("a", DataType::Int64, true),
    ]));
    for options in [None, Some(JsonOptions::new().schema(schema))] {
        let result = open(&path, options.map(FileParserOptions::Json))
            .and_then(|mut source| read_all(source.as_mut()));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
        assert_eq!(err.line(), Some(2), "{err}");
        assert!(err.message().contains("more than 64 levels deep"), "{err}");
    }
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics on the threads of the tests in this module (contained or not).
fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current()
                .name()
                .is_some_and(|n| n.contains("hostile::byte_flipped_feather"))
            {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

struct Flips(u64);

impl Flips {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The bytes with 1–4 bits flipped, or cut short (1 in 8).
    fn mutate(&mut self, good: &[u8]) -> Vec<u8> {
        let mut bytes = good.to_vec();
        if self.next().is_multiple_of(8) {
            bytes.truncate((self.next() % bytes.len() as u64) as usize);
            return bytes;
        }
        for _ in 0..1 + self.next() % 4 {
            let at = (self.next() % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (self.next() % 8);
        }
        bytes
    }
}

/// Seeded byte flips over each sample file, read through the public API: every read ends with
/// rows or an error that names the file and its format. Panics inside the parquet and ORC
/// readers are contained by the ingest crate.
#[test]
fn byte_flipped_files_of_every_format_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut flips = Flips(0x2545_f491_4f6c_dd1d);
    let mut errors = 0;
    for name in SAMPLE_FILES {
        let good = std::fs::read(sample(name)).unwrap();
        let path = dir.path().join(name);
        for _ in 0..60 {
            std::fs::write(&path, flips.mutate(&good)).unwrap();
            let result = open(&path, None).and_then(|mut source| read_all(source.as_mut()));
            if let Err(err) = result {
                errors += 1;
                assert_eq!(err.path(), path.as_path(), "{err}");
                assert!(err.format().is_some(), "{err}");
                assert!(err.to_string().contains(name), "{err}");
            }
        }
    }
    assert!(errors > 50, "the flips should break many files: {errors}");
}

/// Feather files are checked before arrow-ipc decodes them: byte flips give errors without
/// even a contained panic.
#[test]
fn byte_flipped_feather_files_never_panic() {
    count_panics();
    let dir = tempfile::tempdir().unwrap();
    let mut flips = Flips(0x9e37_79b9_7f4a_7c15);
    let path = dir.path().join("flipped.feather");
    for compression in [None, Some(arrow_ipc::CompressionType::LZ4_FRAME)] {
        let good = feather_bytes(compression);
        for _ in 0..300 {
            std::fs::write(&path, flips.mutate(&good)).unwrap();
            let result = open_as(&path, FileFormat::Feather, None)
                .and_then(|mut source| read_all(source.as_mut()));
            if let Err(err) = result {
                assert_eq!(err.format(), Some(FileFormat::Feather), "{err}");
            }
        }
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

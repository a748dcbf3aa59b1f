//! Number formatting for line protocol: integers eight digits at a time, and floats in
//! shortest round-trip form with a fast path for short decimals.
//!
//! Everything appends to a `Vec<u8>`. Digits are made eight at a time in the lanes of a `u64`
//! (SWAR: a handful of multiplications and shifts, no division instruction and no lookup
//! table), then stored with one 16-byte write; the bytes past the number are cut off again by
//! `truncate`.

/// `10^8`, the span of one eight-digit chunk.
const CHUNK: u64 = 100_000_000;
/// The byte `b'0'` in every lane.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight decimal digits of `x < 10^8`, zero-padded, one digit value (0..=9) per byte, the
/// most significant digit in the lowest byte (so that `to_le_bytes` gives them in reading
/// order).
#[inline(always)]
fn digits8(x: u64) -> u64 {
    debug_assert!(x < CHUNK);
    // Two 32-bit lanes: the first four digits, then the last four.
    let pairs = (x / 10_000) | ((x % 10_000) << 32);
    // Each lane (< 10^4) into its two 16-bit halves: lane / 100 and lane % 100. For a lane
    // below 10^4, `lane * 10486 >> 20` is `lane / 100` exactly.
    let high = ((pairs * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let hundreds = (high | ((pairs - 100 * high) << 16)) & 0x007F_007F_007F_007F;
    // Each 16-bit lane (< 100) into its two bytes: lane / 10 and lane % 10; for a lane below
    // 100, `lane * 103 >> 10` is `lane / 10` exactly.
    let tens = ((hundreds * 103) >> 10) & 0x000F_000F_000F_000F;
    tens | ((hundreds - 10 * tens) << 8)
}

/// The text of `x < 10^8` without leading zeros (`0` for zero), in reading order from the
/// lowest byte, and its length.
#[inline(always)]
fn leading_chunk(x: u64) -> (u64, usize) {
    // One or two digits (small counts, the integer part of most readings) go the short way.
    if x < 100 {
        let tens = (x * 103) >> 10;
        let ones = x - 10 * tens;
        return if x < 10 {
            (u64::from(b'0') + ones, 1)
        } else {
            (ASCII_ZEROS as u16 as u64 + tens + (ones << 8), 2)
        };
    }
    if x < 10_000 {
        // Two 16-bit lanes (x / 100, x % 100; `x * 5243 >> 19` is `x / 100` below 10^4), each
        // split into its two digits as in `digits8`.
        let high = (x * 5243) >> 19;
        let hundreds = high | ((x - 100 * high) << 16);
        let tens = ((hundreds * 103) >> 10) & 0x000F_000F;
        let digits = tens | ((hundreds - 10 * tens) << 8);
        let zeros = ((digits | (1 << 24)).trailing_zeros() / 8) as usize;
        return (
            ((digits | ASCII_ZEROS) & 0xFFFF_FFFF) >> (8 * zeros),
            4 - zeros,
        );
    }
    let digits = digits8(x);
    // Leading zero digits are the low zero bytes; keep at least one digit.
    let zeros = ((digits | (1 << 56)).trailing_zeros() / 8) as usize;
    ((digits | ASCII_ZEROS) >> (8 * zeros), 8 - zeros)
}

/// Appends the first `len` bytes of `word` (in reading order from its lowest byte) with one
/// 16-byte store, cutting the rest off again.
#[inline(always)]
fn put_word(buf: &mut Vec<u8>, word: u128, len: usize) {
    let start = buf.len();
    buf.extend_from_slice(&word.to_le_bytes());
    buf.truncate(start + len);
}

/// Appends the decimal digits of `v`.
#[inline(always)]
pub(crate) fn write_u64(buf: &mut Vec<u8>, v: u64) {
    if v < CHUNK {
        let (text, len) = leading_chunk(v);
        put_word(buf, u128::from(text), len);
    } else {
        write_u64_long(buf, v);
    }
}

/// [`write_u64`] for `v >= 10^8` (timestamps, large counters), kept out of line so that the
/// short case inlines small.
#[inline(never)]
fn write_u64_long(buf: &mut Vec<u8>, v: u64) {
    let (head, low) = if v < CHUNK * CHUNK {
        (v / CHUNK, v % CHUNK)
    } else {
        // At most 20 digits: up to four, then sixteen.
        let (top, len) = leading_chunk(v / (CHUNK * CHUNK));
        put_word(buf, u128::from(top), len);
        let rest = v % (CHUNK * CHUNK);
        let eight = |x| digits8(x) | ASCII_ZEROS;
        put_word(
            buf,
            u128::from(eight(rest / CHUNK)) | (u128::from(eight(rest % CHUNK)) << 64),
            16,
        );
        return;
    };
    let (text, len) = leading_chunk(head);
    let low = digits8(low) | ASCII_ZEROS;
    put_word(
        buf,
        u128::from(text) | (u128::from(low) << (8 * len)),
        len + 8,
    );
}

/// Writes timestamps, keeping the digits of the last one's leading part: timestamps written in
/// order share their leading digits (all but the last ten change only every 10^10 units, 10 s
/// in nanoseconds), so most of them cost the last ten digits and one copy.
#[derive(Clone, Copy, Default)]
pub(crate) struct TimestampDigits {
    /// `v / 10^10` of the last timestamp of 11 digits or more, 0 before any.
    high: u64,
    /// Its digits, `len` of them.
    text: [u8; 16],
    len: usize,
}

impl TimestampDigits {
    /// Where the kept leading part ends.
    const SPLIT: u64 = 10_000_000_000;

    /// Appends `v` in decimal, as [`write_i64`] does.
    #[inline]
    pub(crate) fn write(&mut self, buf: &mut Vec<u8>, v: i64) {
        let Ok(v) = u64::try_from(v) else {
            return write_i64(buf, v);
        };
        if v < Self::SPLIT {
            return write_u64(buf, v);
        }
        let (high, low) = (v / Self::SPLIT, v % Self::SPLIT);
        if high != self.high {
            self.set_high(high);
        }
        crate::encoder::put(buf, &self.text[..self.len]);
        // The last ten digits, zero-padded: two, then eight.
        let (two, eight) = (low / CHUNK, low % CHUNK);
        let tens = (two * 103) >> 10;
        let two = u128::from(u64::from(b'0') + tens + ((u64::from(b'0') + two - 10 * tens) << 8));
        put_word(
            buf,
            two | (u128::from(digits8(eight) | ASCII_ZEROS) << 16),
            10,
        );
    }

    /// Keeps the digits of `high` (at most nine: `i64::MAX / 10^10 < 10^9`).
    #[cold]
    fn set_high(&mut self, high: u64) {
        let (word, len) = if high < CHUNK {
            let (text, len) = leading_chunk(high);
            (u128::from(text), len)
        } else {
            let first = u128::from(b'0') + u128::from(high / CHUNK);
            (
                first | (u128::from(digits8(high % CHUNK) | ASCII_ZEROS) << 8),
                9,
            )
        };
        self.high = high;
        self.text = word.to_le_bytes();
        self.len = len;
    }
}

/// Appends `v` in decimal, with a `-` when negative.
#[inline]
pub(crate) fn write_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    write_u64(buf, v.unsigned_abs());
}

/// Appends a finite `v` in shortest round-trip form, without a trailing `.0`: the text
/// `ryu` writes, but for a positive exponent, which gets a `+` as Go's and Python's clients
/// write it (`1e+16`).
#[inline]
pub(crate) fn write_f64(buf: &mut Vec<u8>, v: f64) {
    if !write_short_decimal(buf, v) {
        write_shortest(buf, v);
    }
}

/// Appends a finite f32 in its own shortest round-trip form (see [`write_f64`]).
#[cfg(feature = "arrow")]
#[inline]
pub(crate) fn write_f32(buf: &mut Vec<u8>, v: f32) {
    write_shortest(buf, v);
}

/// [`write_f64`] and [`write_f32`] for any finite value (kept out of line: the fast path of
/// [`write_f64`] inlines small).
#[inline(never)]
fn write_shortest<F: zmij::Float>(buf: &mut Vec<u8>, v: F) {
    let mut text = zmij::Buffer::new();
    let text = text.format_finite(v);
    crate::encoder::put(buf, text.strip_suffix(".0").unwrap_or(text).as_bytes());
}

/// The fractional digits the fast path works with.
const FRACTION_DIGITS: u32 = 6;
/// `10^FRACTION_DIGITS`.
const FRACTION_SCALE: u64 = 1_000_000;

/// The fast path of [`write_f64`] for a value that is a short decimal: at most six fractional
/// digits and `1e-5 <= |v| < 1e9`. Writes the decimal with the fewest fractional digits that
/// parses back to exactly `v` (the text a shortest round-trip formatter writes) and returns
/// true; returns false, writing nothing, for any other value.
///
/// Exact: let `m = round(|v| * 10^6)`. With `|v| * 10^6 < 1e15` the error of that product is
/// far below 0.5, and two decimals of six fractional digits are more than a unit in the last
/// place of `v` apart, so if `v` is such a decimal at all, it is `m / 10^6` (one division
/// checks that). Its trailing zero digits then go, and what is left has the fewest digits of
/// any decimal that rounds to `v`.
#[inline]
fn write_short_decimal(buf: &mut Vec<u8>, v: f64) -> bool {
    let a = v.abs();
    if !(1e-5..1e9).contains(&a) {
        return false;
    }
    // Round half up; adding 0.5 is exact below 2^50, and truncation is floor here.
    // (Signed conversions are single instructions; unsigned ones are not.)
    let m = (a * FRACTION_SCALE as f64 + 0.5) as i64 as u64;
    // `m < 2^50` and `10^6` are exact, and IEEE division rounds correctly, so this is the
    // float a parser makes of the decimal `m / 10^6`.
    if m as f64 / FRACTION_SCALE as f64 != a {
        return false;
    }
    if v < 0.0 {
        buf.push(b'-');
    }
    let (integer, fraction) = (m / FRACTION_SCALE, m % FRACTION_SCALE);
    // `.` and the fraction's digits without its trailing zeros: six digits sit in bytes 2..8
    // of `digits8` (reading order). How many to keep comes from divisibility tests, which do
    // not wait for the digits (the next write's position depends on it).
    let (point, point_len) = if fraction == 0 {
        (0, 0)
    } else {
        let trailing_zeros = usize::from(fraction.is_multiple_of(10))
            + usize::from(fraction.is_multiple_of(100))
            + usize::from(fraction.is_multiple_of(1_000))
            + usize::from(fraction.is_multiple_of(10_000))
            + usize::from(fraction.is_multiple_of(100_000));
        let digits = digits8(fraction) | ASCII_ZEROS;
        (((digits >> 16) << 8) | u64::from(b'.'), 7 - trailing_zeros)
    };
    if integer < CHUNK {
        let (text, len) = leading_chunk(integer);
        put_word(
            buf,
            u128::from(text) | (u128::from(point) << (8 * len)),
            len + point_len,
        );
    } else {
        write_u64_long(buf, integer);
        put_word(buf, u128::from(point), point_len);
    }
    true
}

const _: () = assert!(10_u64.pow(FRACTION_DIGITS) == FRACTION_SCALE);

#[cfg(test)]
mod tests {
    use super::*;

    fn u64_text(v: u64) -> String {
        let mut buf = b"x".to_vec();
        write_u64(&mut buf, v);
        String::from_utf8(buf[1..].to_vec()).unwrap()
    }

    fn f64_text(v: f64) -> String {
        let mut buf = Vec::new();
        write_f64(&mut buf, v);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn integers_match_display_at_every_digit_count_boundary() {
        let mut values = vec![0, 1, 9, u64::MAX, u64::MAX - 1, i64::MAX as u64];
        let mut p = 1_u64;
        while let Some(next) = p.checked_mul(10) {
            p = next;
            values.extend([p - 1, p, p + 1]);
            values.extend([2, 5].map(|k| p.saturating_mul(k).saturating_add(3)));
        }
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.extend([x, x >> (x % 64), x % 1000]);
        }
        for v in values {
            assert_eq!(u64_text(v), v.to_string(), "{v}");
        }
        for v in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            -10,
            -99_999_999,
            -100_000_000,
            0,
            i64::MAX,
        ] {
            let mut buf = Vec::new();
            write_i64(&mut buf, v);
            assert_eq!(buf, v.to_string().as_bytes(), "{v}");
        }
    }

    #[test]
    fn timestamps_in_any_order_match_display() {
        let mut digits = TimestampDigits::default();
        let mut values = vec![
            0,
            -1,
            i64::MIN,
            i64::MAX,
            9_999_999_999,
            10_000_000_000,
            10_000_000_001,
            19_999_999_999,
            20_000_000_000,
            999_999_999_999_999_999,
            1_000_000_000_000_000_000,
        ];
        // In order, a second, a millisecond and a nanosecond apart, across 10 s boundaries.
        let start = 1_641_024_000_000_000_000_i64;
        values.extend((0..100).map(|i| start + i * 1_000_000_000));
        values.extend((0..100).map(|i| start + 9_999_999_950 + i));
        values.extend((0..100).map(|i| 1_641_024_000_000 + i * 997));
        // Back and forth.
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x as i64 >> (x % 50));
        }
        for v in values {
            let mut buf = b"x".to_vec();
            digits.write(&mut buf, v);
            assert_eq!(&buf[1..], v.to_string().as_bytes(), "{v}");
        }
    }

    #[test]
    fn short_decimals_take_the_fast_path_and_print_shortest() {
        for (v, text) in [
            (21.1, "21.1"),
            (-35.9, "-35.9"),
            (100.0, "100"),
            (0.5, "0.5"),
            (0.000_01, "0.00001"),
            (0.000_123, "0.000123"),
            (1.000_001, "1.000001"),
            (123_456_789.5, "123456789.5"),
            (999_999_999.999_999, "999999999.999999"),
            (20.0 + 99.0 / 10.0, "29.9"),
        ] {
            let mut buf = Vec::new();
            assert!(write_short_decimal(&mut buf, v), "{v} takes the fast path");
            assert_eq!(std::str::from_utf8(&buf).unwrap(), text);
            assert_eq!(text.parse::<f64>().unwrap(), v);
        }
        for v in [1.0 / 3.0, 0.1 + 0.2, 1e-6, 1e9, 35.0 + 3.0 / 7.0, 5e-324] {
            assert!(
                !write_short_decimal(&mut Vec::new(), v),
                "{v} needs the full path"
            );
        }
    }

    #[test]
    fn other_floats_round_trip_in_go_and_python_form() {
        assert_eq!(f64_text(1e16), "1e+16");
        assert_eq!(f64_text(1.5e300), "1.5e+300");
        assert_eq!(f64_text(-2.5e-7), "-2.5e-7");
        assert_eq!(f64_text(0.0), "0");
        assert_eq!(f64_text(-0.0), "-0");
        assert_eq!(f64_text(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(f64_text(f64::MAX), "1.7976931348623157e+308");
        #[cfg(feature = "arrow")]
        {
            let mut f = Vec::new();
            write_f32(&mut f, 0.1_f32);
            assert_eq!(f, b"0.1");
        }
    }

    #[test]
    fn every_float_parses_back_with_no_more_digits_than_ryu() {
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 3 {
                0 => f64::from_bits(x),
                1 => (x % 10_000_000_000) as f64 / 10f64.powi((x % 9) as i32),
                _ => (x % 1_000_000) as f64 / 7.0,
            };
            if !v.is_finite() {
                continue;
            }
            let text = f64_text(v);
            assert_eq!(text.parse::<f64>().unwrap(), v, "{text}");
            let mut ryu = ryu::Buffer::new();
            let expected = ryu.format_finite(v);
            let expected = expected.strip_suffix(".0").unwrap_or(expected);
            assert_eq!(text.replace("e+", "e"), expected, "{v:?}");
        }
    }
}

//! Line boundaries in encoded line protocol, found with [`influxdb3_lp::lines`], the server's
//! rule (a `\n` inside a quoted string field value, or escaped by `\`, does not end a line).

/// The length of the first line of `body` including its `\n` (or the whole body when it has
/// no line end).
pub(crate) fn first_line_len(body: &[u8]) -> usize {
    influxdb3_lp::lines(body).next().map_or(0, <[u8]>::len)
}

/// The longest prefix of `body` holding at most `max_lines` whole lines and at most
/// `max_bytes` bytes, as `(bytes, lines)`. When even the first line is longer than
/// `max_bytes`, that one line is returned (the caller sends it alone and lets the server
/// judge it); `max_lines` must be at least 1.
pub(crate) fn prefix(body: &[u8], max_lines: usize, max_bytes: usize) -> (usize, usize) {
    let mut bytes = 0;
    let mut lines = 0;
    while lines < max_lines && bytes < body.len() {
        let len = first_line_len(&body[bytes..]);
        if bytes + len > max_bytes && lines > 0 {
            break;
        }
        bytes += len;
        lines += 1;
        if bytes >= max_bytes {
            break;
        }
    }
    (bytes, lines)
}

/// Iterates over the lines of `body` (each with its `\n`).
pub(crate) fn iter(body: &[u8]) -> influxdb3_lp::Lines<'_> {
    influxdb3_lp::lines(body)
}

/// The `n`th (1-based) line of `body`, without its line ending.
pub(crate) fn nth(body: &[u8], n: usize) -> Option<&[u8]> {
    let line = iter(body).nth(n.checked_sub(1)?)?;
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines() {
        let body = b"a v=1\nbb v=2\nccc v=3\n";
        assert_eq!(first_line_len(body), 6);
        assert_eq!(iter(body).count(), 3);
        assert_eq!(prefix(body, 2, 100), (13, 2));
        assert_eq!(prefix(body, 10, 13), (13, 2));
        assert_eq!(prefix(body, 10, 12), (6, 1));
        // The first line alone is longer than the byte limit: it is returned alone.
        assert_eq!(prefix(body, 10, 3), (6, 1));
        assert_eq!(nth(body, 2), Some(&b"bb v=2"[..]));
        assert_eq!(nth(body, 4), None);
        assert_eq!(nth(body, 0), None);
    }

    #[test]
    fn newline_in_quoted_string_does_not_end_the_line() {
        let body = b"m s=\"x\ny\" 1\nm,t=a\\ b s=\"q\\\"\n\" 2\nm v=1\n";
        let lines: Vec<_> = iter(body).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], b"m s=\"x\ny\" 1\n");
        assert_eq!(lines[1], b"m,t=a\\ b s=\"q\\\"\n\" 2\n");
        assert_eq!(prefix(body, 2, usize::MAX), (body.len() - 6, 2));
        // A quote in a tag value does not start a string.
        let body = b"m,t=a\"b v=1\nm v=2\n";
        assert_eq!(iter(body).count(), 2);
        // An escaped line feed does not end the line.
        let body = b"m\\\nx v=1\n";
        assert_eq!(iter(body).count(), 1);
    }

    #[test]
    fn last_line_without_newline() {
        let body = b"a v=1\nb v=2";
        assert_eq!(iter(body).count(), 2);
        assert_eq!(nth(body, 2), Some(&b"b v=2"[..]));
    }
}

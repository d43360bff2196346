//! Clock and RFC3339 timestamps (`2026-11-29T07:14:43.123Z`), without a date crate.
//! The clock hands out strictly increasing milliseconds, so no two changes share
//! a timestamp and `updatedAfter` polling never misses one.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The latest time handed out, so that timestamps never go backwards.
static LAST_MS: AtomicI64 = AtomicI64::new(0);

/// Milliseconds since the Unix epoch, greater than every value returned before
/// (a burst of more than one call per millisecond runs ahead of the wall clock
/// by at most its excess, and falls back in step once it is over).
pub fn now_ms() -> i64 {
    let system = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut last = LAST_MS.load(Ordering::SeqCst);
    loop {
        let next = next_after(last, system);
        match LAST_MS.compare_exchange_weak(last, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

/// The time to hand out after `last` when the wall clock reads `system`:
/// the wall clock, unless it stands still or went back (then `last` + 1).
fn next_after(last: i64, system: i64) -> i64 {
    system.max(last.saturating_add(1))
}

/// The civil date (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day count since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an ISO 8601 / RFC3339 date and time, `YYYY-MM-DDTHH:MM:SS[.fraction]`
/// followed by `Z`, `±HH:MM` or nothing (then UTC), into milliseconds since the
/// epoch, rounded down (so `t > parsed` is exactly "after the instant" for
/// whole milliseconds `t`). `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let first3: Vec<i64> = (start..start + 3)
            .map(|j| {
                b.get(j)
                    .filter(|_| j < i)
                    .map_or(0, |d| i64::from(d - b'0'))
            })
            .collect();
        millis = first3[0] * 100 + first3[1] * 10 + first3[2];
    }
    let offset_minutes = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (digits(i + 1, 2)?, digits(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Formats milliseconds since the epoch as RFC3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (rest / 3_600_000, rest / 60_000 % 60);
    let (second, milli) = (rest / 1000 % 60, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_936_483_123), "2026-11-29T07:14:43.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_clock_only_goes_forwards() {
        let a = now_ms();
        let b = now_ms();
        assert!(b > a, "no two calls share a millisecond");
        assert!(a > 1_700_000_000_000);
        let many: Vec<i64> = (0..10_000).map(|_| now_ms()).collect();
        assert!(many.windows(2).all(|w| w[0] < w[1]));
        // The wall clock set back an hour, then standing still, then going on.
        let t = 1_795_936_483_123;
        assert_eq!(next_after(t, t - 3_600_000), t + 1);
        assert_eq!(next_after(t + 1, t + 1), t + 2);
        assert_eq!(next_after(t + 2, t + 50), t + 50);
        assert_eq!(next_after(i64::MAX, 0), i64::MAX);
    }

    #[test]
    fn parses_what_it_formats_and_common_iso_forms() {
        for ms in [0, 1_795_936_483_123, 951_782_400_000, -1, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms), "{ms}");
        }
        let t = 1_795_936_483_123;
        for text in [
            "2026-11-29T07:14:43.123Z",
            "2026-11-29T07:14:43.123999Z",
            "2026-11-29t07:14:43.123z",
            "2026-11-29 07:14:43.123",
            "2026-11-29T08:14:43.123+01:00",
            "2026-11-29T02:44:43.123-04:30",
        ] {
            assert_eq!(parse_rfc3339(text), Some(t), "{text}");
        }
        assert_eq!(parse_rfc3339("2026-11-29T07:14:43Z"), Some(t - 123));
        assert_eq!(parse_rfc3339("2026-11-29T07:14:43.1Z"), Some(t - 23));
        for bad in [
            "",
            "yesterday",
            "2026-11-29",
            "2026-11-29T07:14Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T07:14:43.Z",
            "2026-11-29T07:14:43.123+0100",
            "2026-11-29T07:14:43.123Z ",
            "+2026-11-29T07:14:43Z",
            "２026-11-29T07:14:43Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }
}

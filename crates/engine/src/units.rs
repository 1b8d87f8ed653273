//! How Docker shows sizes and durations (its `go-units` package), for every
//! front end: the CLI's tables and the API's `Status` texts must agree.

pub use berth_container::health::parse_go_duration;

/// go-units `HumanSizeWithPrecision(size, precision)`: decimal units and Go's
/// `%.{precision}g` ("1.986MB" at 4, "1.99MB" at 3; "1e+03kB" when rounding
/// reaches 1000, as Go prints it).
pub fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    let integer_digits = if size < 10.0 {
        1
    } else if size < 100.0 {
        2
    } else {
        3
    };
    let decimals = precision.saturating_sub(integer_digits);
    let mut s = format!("{size:.decimals$}");
    let rounded: f64 = s.parse().unwrap_or(size);
    if rounded >= 10f64.powi(precision as i32) {
        // Only reachable with precision 3: sizes stay below 1000 of a unit.
        s = "1e+03".to_string();
    } else if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[unit])
}

/// The docker CLI's listing columns (`images` SIZE, `ps -s`): 3 significant
/// digits.
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSize` (4 significant digits), used by totals such as
/// "Total reclaimed space" and `system df`.
pub fn human_size_precise(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

/// go-units `HumanDuration`, as in "Up 3 minutes" and "2 hours ago": hours
/// are rounded to the nearest, years counted from whole hours.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let minutes = s / 60;
    let hours = ((s as f64) / 3600.0 + 0.5) as i64;
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", s / 3600 / 24 / 365),
    }
}

/// Seconds elapsed since an RFC 3339 timestamp (0 if unparsable).
pub fn seconds_since(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(0)
}

/// Unix seconds of an RFC 3339 timestamp (0 if unparsable), as the API's
/// `Created` fields carry them.
pub fn unix_seconds(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(1_234_567_890), "1.23GB");
        assert_eq!(human_size(12_345), "12.3kB");
        assert_eq!(human_size(1_986_000), "1.99MB");
        assert_eq!(human_size(116_600_000), "117MB");
        assert_eq!(human_size(20_480), "20.5kB");
        assert_eq!(human_size(999_999), "1e+03kB");
        assert_eq!(human_size(4096), "4.1kB");
        assert_eq!(human_size_precise(0), "0B");
        assert_eq!(human_size_precise(1000), "1kB");
        assert_eq!(human_size_precise(1234), "1.234kB");
        assert_eq!(human_size_precise(12_345), "12.35kB");
        assert_eq!(human_size_precise(20_480), "20.48kB");
        assert_eq!(human_size_precise(307_200), "307.2kB");
        assert_eq!(human_size_precise(1_986_000), "1.986MB");
        assert_eq!(human_size_precise(4_261_000), "4.261MB");
        assert_eq!(human_size_precise(118_600_000), "118.6MB");
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(human_duration(-5), "Less than a second");
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        // Hours round to the nearest: 1h45m is "2 hours", as Docker says.
        assert_eq!(human_duration(6300), "2 hours");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(47 * 3600 + 1800), "2 days");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(90 * 86400), "3 months");
        assert_eq!(human_duration(3 * 365 * 86400), "3 years");
    }
}

//! Instants are stored as `BIGINT` microseconds since the Unix epoch, UTC, on both engines.

use chrono::{DateTime, TimeZone, Utc};

/// Microseconds since the Unix epoch for an instant.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The instant for stored microseconds; out-of-range values clamp to the epoch.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// Now, truncated to the microsecond so that it survives a round trip through the database.
pub fn now() -> DateTime<Utc> {
    from_micros(to_micros(Utc::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact() {
        let t = now();
        assert_eq!(from_micros(to_micros(t)), t);
    }
}

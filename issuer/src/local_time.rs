//! Sites work in French local time: the day of a service and its hour against the place's
//! opening hours are read in Europe/Paris, whatever the server's zone.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

/// The local date and time of an instant.
pub fn local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&Paris).naive_local()
}

/// The local day of an instant.
pub fn day(at: DateTime<Utc>) -> NaiveDate {
    local(at).date()
}

/// The instant of a local date and time (the earlier one when clocks go back).
pub fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).unwrap_or_default();
    match Paris.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        // A time skipped when clocks go forward: an hour later exists.
        None => at_skipped(local),
    }
}

fn at_skipped(local: NaiveDateTime) -> DateTime<Utc> {
    let later = local + chrono::Duration::hours(1);
    Paris.from_local_datetime(&later).earliest().map_or_else(|| later.and_utc(), |t| t.with_timezone(&Utc))
}

/// The instants where a local day starts and the next one starts.
pub fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (at(day, 0, 0), at(day.succ_opt().unwrap_or(day), 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_day_differs_from_utc_day_near_midnight() {
        let at: DateTime<Utc> = "2026-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(day(at), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        let summer: DateTime<Utc> = "2026-07-14T21:59:00Z".parse().unwrap();
        assert_eq!(local(summer).format("%H:%M").to_string(), "23:59");
    }

    #[test]
    fn day_bounds_follow_daylight_saving() {
        let (start, end) = day_bounds(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(start.to_rfc3339(), "2026-03-28T23:00:00+00:00");
        assert_eq!((end - start).num_hours(), 23);
    }
}

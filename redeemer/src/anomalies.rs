//! Anomaly flags (DESIGN §7): computed as redemptions and refused scans arrive, never blocking,
//! listed for the operator with their evidence and dismissed with a comment.
//!
//! Each flag has a deduplication key (its kind, subject and period): detecting the same thing
//! again refreshes the evidence of an open flag and leaves a dismissed one alone.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use issuer::local_time;
use ledger::{Db, time};
use opening_hours::localization::Country;
use opening_hours::{Context, OpeningHours, RuleKind};
use serde::Serialize;
use serde_json::json;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap};

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Far more redemptions in a day than the site's usual volume.
    Burst,
    /// Vouchers of one book redeemed at many sites on the same day.
    BookManySites,
    /// A service recorded while the place was closed.
    OutsideOpeningHours,
    /// Many invalid codes scanned or typed from one account.
    RepeatedInvalidCodes,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Burst => "burst",
            Kind::BookManySites => "book_many_sites",
            Kind::OutsideOpeningHours => "outside_opening_hours",
            Kind::RepeatedInvalidCodes => "repeated_invalid_codes",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Burst, Kind::BookManySites, Kind::OutsideOpeningHours, Kind::RepeatedInvalidCodes]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Burst => "Pic d'activité inhabituel",
            Kind::BookManySites => "Carnet utilisé dans plusieurs lieux le même jour",
            Kind::OutsideOpeningHours => "Passage en dehors des horaires d'ouverture",
            Kind::RepeatedInvalidCodes => "Codes invalides répétés",
        }
    }
}

/// When a flag is raised.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A day is a burst from this many redemptions…
    pub burst_min: i64,
    /// …and when it reaches this multiple of the site's mean over its active days of the
    /// previous four weeks.
    pub burst_factor: i64,
    /// Distinct sites using one book's vouchers on one day.
    pub book_sites: i64,
    /// Minutes of slack around opening hours (a service may end a little after closing).
    pub opening_slack_minutes: i64,
    /// Invalid codes from one account within `invalid_window_minutes`.
    pub invalid_codes: i64,
    pub invalid_window_minutes: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            burst_min: 20,
            burst_factor: 3,
            book_sites: 3,
            opening_slack_minutes: 30,
            invalid_codes: 10,
            invalid_window_minutes: 60,
        }
    }
}

/// Refusal codes that mean "this is not a valid voucher" (as opposed to a valid voucher that
/// cannot be used here or now).
pub const INVALID_CODE_REASONS: &[&str] = &[
    "too_long",
    "not_a_voucher_url",
    "invalid_length",
    "invalid_character",
    "invalid_check_character",
    "invalid_token_length",
    "invalid_token_character",
    "unsupported_version",
    "unknown_key",
    "bad_signature",
    "malformed_token",
    "unknown",
];

async fn raise(
    conn: &mut AnyConnection,
    kind: Kind,
    key: &str,
    site: Option<i64>,
    evidence: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO anomalies (kind, dedup_key, site_id, detected_at, evidence) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (dedup_key) DO UPDATE SET evidence = excluded.evidence WHERE anomalies.status = 'open'",
    )
    .bind(kind.as_str())
    .bind(key)
    .bind(site)
    .bind(time::to_micros(time::now()))
    .bind(evidence.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A site's redemptions on one local day, and the burst threshold fixed for that day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayCount {
    pub day: NaiveDate,
    pub redemptions: i64,
    pub threshold: Option<i64>,
}

/// Counts redemptions in their site's day, in one statement; called inside the redemptions'
/// transaction. Each gets its rank in the day, in the given order.
pub(crate) async fn count_redemptions(
    conn: &mut AnyConnection,
    redemptions: &[(i64, NaiveDate)],
) -> Result<Vec<DayCount>, sqlx::Error> {
    let mut per_day: BTreeMap<(i64, NaiveDate), i64> = BTreeMap::new();
    for r in redemptions {
        *per_day.entry(*r).or_default() += 1;
    }
    let mut upsert = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO site_daily_redemptions (site_id, day, redemptions) VALUES {} \
         ON CONFLICT (site_id, day) DO UPDATE SET redemptions = site_daily_redemptions.redemptions + excluded.redemptions \
         RETURNING site_id, day, redemptions, burst_threshold",
        ledger::db::placeholder_rows(per_day.len(), 3)
    )))
    // One statement per number of days: a batch's would push everyday ones out of the cache.
    .persistent(per_day.len() == 1);
    for ((site, day), n) in &per_day {
        upsert = upsert.bind(*site).bind(day.to_string()).bind(*n);
    }
    // Per site and day: the count before these, and the threshold.
    let mut counted: HashMap<(i64, String), (i64, Option<i64>)> = HashMap::with_capacity(per_day.len());
    for r in upsert.fetch_all(&mut *conn).await? {
        let (site, day): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
        counted.insert((site, day), (r.try_get(2)?, r.try_get(3)?));
    }
    // Each site's day counts on from where it stood before these, in the given order.
    for ((site, day), n) in &per_day {
        if let Some(c) = counted.get_mut(&(*site, day.to_string())) {
            c.0 -= n;
        }
    }
    let mut out = Vec::with_capacity(redemptions.len());
    for &(site, day) in redemptions {
        let (count, threshold) = counted.get_mut(&(site, day.to_string())).ok_or(sqlx::Error::RowNotFound)?;
        *count += 1;
        out.push(DayCount { day, redemptions: *count, threshold: *threshold });
    }
    Ok(out)
}

/// What the rules look at after a redemption is recorded.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    pub redemption_id: i64,
    pub site_id: i64,
    pub place_name: String,
    pub opening_hours: String,
    pub performed_at: DateTime<Utc>,
    /// Each book used, with the number of other sites that used it that day before.
    pub books: Vec<(i64, i64)>,
    pub day: DayCount,
}

/// Checks a recorded redemption against every rule.
pub(crate) async fn after_redemption(db: &Db, rules: &Thresholds, w: &Watch) -> Result<(), sqlx::Error> {
    let mut shared_books: Vec<i64> = w
        .books
        .iter()
        .filter(|&&(_, other_sites)| other_sites + 1 >= rules.book_sites)
        .map(|&(book, _)| book)
        .collect();
    // Flags are locked in one order (the burst, the books by number, the passage), so that two
    // of these transactions never wait for each other.
    shared_books.sort_unstable();
    shared_books.dedup();
    let closed = closed_around(&w.opening_hours, w.performed_at, rules.opening_slack_minutes);
    // Most redemptions raise nothing: they do not take a connection (a round trip or two saved
    // on each redemption).
    if !burst_due(w.day) && shared_books.is_empty() && !closed {
        return Ok(());
    }
    // A write transaction, in the writers' queue: on SQLite a write outside it would find the
    // file locked by a redemption batch and sleep until SQLite's busy timeout lets it through.
    let mut conn = db.begin().await?;
    if burst_due(w.day) {
        burst(&mut conn, rules, w.site_id, w.day).await?;
    }
    for book in shared_books {
        book_many_sites(&mut conn, rules, book, w.day.day).await?;
    }
    if closed {
        let evidence = json!({
            "redemption_id": w.redemption_id,
            "place": w.place_name,
            "performed_at_local": local_time::local(w.performed_at).format("%Y-%m-%d %H:%M").to_string(),
            "opening_hours": w.opening_hours,
        });
        let key = format!("hours:{}", w.redemption_id);
        raise(&mut conn, Kind::OutsideOpeningHours, &key, Some(w.site_id), evidence).await?;
    }
    conn.commit().await
}

/// The day's threshold: `burst_factor` × the mean of the site's active days in the previous
/// four weeks, at least `burst_min`. Computed at the first look of the day, then kept.
async fn burst_threshold(
    conn: &mut AnyConnection,
    rules: &Thresholds,
    site: i64,
    day: NaiveDate,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let history: Vec<i64> = sqlx::query_scalar(
        "SELECT redemptions FROM site_daily_redemptions WHERE site_id = $1 AND day >= $2 AND day < $3",
    )
    .bind(site)
    .bind((day - Duration::days(28)).to_string())
    .bind(day.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let active_days = history.len() as i64;
    let total: i64 = history.iter().sum();
    // ceil(factor × mean) without floating point.
    let relative = (rules.burst_factor * total + active_days - 1).checked_div(active_days).unwrap_or(0);
    let threshold = rules.burst_min.max(relative);
    sqlx::query("UPDATE site_daily_redemptions SET burst_threshold = $1, active_days_before = $2, redemptions_before = $3 WHERE site_id = $4 AND day = $5")
        .bind(threshold)
        .bind(active_days)
        .bind(total)
        .bind(site)
        .bind(day.to_string())
        .execute(&mut *conn)
        .await?;
    Ok((threshold, active_days, total))
}

/// Raised when the day reaches the threshold; its evidence is refreshed at each further multiple
/// of it (not at every redemption of a busy day).
fn burst_reached(redemptions: i64, threshold: i64) -> bool {
    redemptions >= threshold && threshold > 0 && redemptions % threshold == 0
}

/// Whether [`burst`] has work: the day's first look fixes its threshold, or the threshold is reached.
fn burst_due(count: DayCount) -> bool {
    count.threshold.is_none_or(|t| burst_reached(count.redemptions, t))
}

async fn burst(conn: &mut AnyConnection, rules: &Thresholds, site: i64, count: DayCount) -> Result<(), sqlx::Error> {
    let threshold = match count.threshold {
        Some(t) => t,
        None => burst_threshold(conn, rules, site, count.day).await?.0,
    };
    if !burst_reached(count.redemptions, threshold) {
        return Ok(());
    }
    let (active_days, before): (i64, i64) = sqlx::query_as(
        "SELECT active_days_before, redemptions_before FROM site_daily_redemptions WHERE site_id = $1 AND day = $2",
    )
    .bind(site)
    .bind(count.day.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let evidence = json!({
        "day": count.day.to_string(),
        "redemptions": count.redemptions,
        "threshold": threshold,
        "active_days_before": active_days,
        "redemptions_before": before,
    });
    raise(conn, Kind::Burst, &format!("burst:{site}:{}", count.day), Some(site), evidence).await
}

async fn book_many_sites(
    conn: &mut AnyConnection,
    rules: &Thresholds,
    book: i64,
    day: NaiveDate,
) -> Result<(), sqlx::Error> {
    let uses =
        sqlx::query("SELECT site_id, performed_at FROM redemption_vouchers WHERE book_id = $1 ORDER BY performed_at")
            .bind(book)
            .fetch_all(&mut *conn)
            .await?;
    let (from, to) = local_time::day_bounds(day);
    let (from, to) = (time::to_micros(from), time::to_micros(to));
    let mut sites = BTreeMap::new();
    let mut that_day = Vec::new();
    for u in &uses {
        let (site, at): (i64, i64) = (u.try_get(0)?, u.try_get(1)?);
        if (from..to).contains(&at) {
            sites.insert(site, ());
            that_day.push((site, at));
        }
    }
    if (sites.len() as i64) < rules.book_sites {
        return Ok(());
    }
    let serial: String =
        sqlx::query_scalar("SELECT serial FROM books WHERE id = $1").bind(book).fetch_one(&mut *conn).await?;
    let mut evidence_uses = Vec::new();
    for (site, at) in that_day {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(site)
            .fetch_optional(&mut *conn)
            .await?;
        let at = local_time::local(time::from_micros(at)).format("%H:%M").to_string();
        evidence_uses.push(json!({"site_id": site, "site": name, "at_local": at}));
    }
    let evidence = json!({"book": serial, "day": day.to_string(), "sites": sites.len(), "uses": evidence_uses});
    raise(conn, Kind::BookManySites, &format!("book:{book}:{day}"), None, evidence).await
}

/// Whether the place is closed for the whole window around `at`. An empty or unreadable
/// expression, or an unknown state, raises nothing.
fn closed_around(hours: &str, at: DateTime<Utc>, slack_minutes: i64) -> bool {
    let Some(oh) = parse_hours(hours) else { return false };
    let slack = Duration::minutes(slack_minutes);
    [at - slack, at, at + slack].into_iter().all(|t| oh.state(local_time::local(t)).0 == RuleKind::Closed)
}

fn parse_hours(hours: &str) -> Option<OpeningHours> {
    if hours.trim().is_empty() {
        return None;
    }
    let oh: OpeningHours = hours.trim().parse().ok()?;
    Some(oh.with_context(Context::default().with_holidays(Country::FR.holidays())))
}

/// Checks an opening-hours expression in the OpenStreetMap syntax; the error is in French.
pub fn check_opening_hours(hours: &str) -> Result<(), String> {
    hours.trim().parse::<OpeningHours>().map(|_| ()).map_err(|e| {
        let detail: String = e.to_string().chars().take(200).collect();
        format!(
            "horaires illisibles (syntaxe OpenStreetMap attendue, ex. « Mo-Fr 09:00-12:00,14:00-17:00 ») : {detail}"
        )
    })
}

/// Records inputs refused as invalid codes, and flags the account when they pile up. `user`
/// is who scanned (none from the command line: the site is then the account).
pub async fn record_invalid(
    db: &Db,
    rules: &Thresholds,
    user: Option<i64>,
    site: i64,
    refused: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    let refused: Vec<&(&str, &str)> = refused.iter().filter(|(code, _)| INVALID_CODE_REASONS.contains(code)).collect();
    if refused.is_empty() {
        return Ok(());
    }
    let now = time::now();
    // In the writers' queue, like the flags raised after a redemption.
    let mut conn = db.begin().await?;
    for (code, input) in &refused {
        sqlx::query("INSERT INTO scan_rejections (user_id, site_id, at, reason, input) VALUES ($1, $2, $3, $4, $5)")
            .bind(user)
            .bind(site)
            .bind(time::to_micros(now))
            .bind(*code)
            .bind(input.chars().take(60).collect::<String>())
            .execute(&mut *conn)
            .await?;
    }
    let since = time::to_micros(now - Duration::minutes(rules.invalid_window_minutes));
    let recent = match user {
        Some(u) => sqlx::query("SELECT reason, input FROM scan_rejections WHERE user_id = $1 AND at >= $2 ORDER BY id")
            .bind(u)
            .bind(since),
        None => sqlx::query(
            "SELECT reason, input FROM scan_rejections WHERE user_id IS NULL AND site_id = $1 AND at >= $2 ORDER BY id",
        )
        .bind(site)
        .bind(since),
    }
    .fetch_all(&mut *conn)
    .await?;
    if (recent.len() as i64) < rules.invalid_codes {
        return conn.commit().await;
    }
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    let mut samples = Vec::new();
    for r in &recent {
        *reasons.entry(r.try_get(0)?).or_default() += 1;
        if samples.len() < 5 {
            samples.push(r.try_get::<String, _>(1)?);
        }
    }
    let day = local_time::day(now);
    let account = user.map_or_else(|| format!("site{site}"), |u| format!("user{u}"));
    let evidence = json!({
        "user_id": user,
        "site_id": site,
        "window_minutes": rules.invalid_window_minutes,
        "invalid_codes": recent.len(),
        "reasons": reasons,
        "samples": samples,
    });
    raise(&mut conn, Kind::RepeatedInvalidCodes, &format!("invalid:{account}:{day}"), Some(site), evidence).await?;
    conn.commit().await
}

/// A flag is open until the operator dismisses it with a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyStatus {
    Open,
    Dismissed,
}

impl AnomalyStatus {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyStatus::Open => "open",
            AnomalyStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<AnomalyStatus> {
        [AnomalyStatus::Open, AnomalyStatus::Dismissed].into_iter().find(|a| a.as_str() == s)
    }
}

/// One flag, as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub id: i64,
    pub kind: Kind,
    pub label: &'static str,
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub detected_at: DateTime<Utc>,
    pub evidence: serde_json::Value,
    pub status: AnomalyStatus,
    pub dismissed_by: Option<i64>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
}

/// Flags, newest first; `open_only` hides dismissed ones.
pub async fn list(db: &Db, open_only: bool, limit: i64) -> Result<Vec<Anomaly>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.id, a.kind, a.site_id, o.name, a.detected_at, a.evidence, a.status, a.dismissed_by, a.dismissed_at, a.comment \
         FROM anomalies a LEFT JOIN organisations o ON o.id = a.site_id \
         WHERE a.status = 'open' OR $1 = 0 ORDER BY a.id DESC LIMIT $2",
    )
    .bind(i64::from(open_only))
    .bind(limit.clamp(1, 1000))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Anomaly, sqlx::Error> {
    let kind = Kind::parse(&r.try_get::<String, _>(1)?).unwrap_or(Kind::Burst);
    Ok(Anomaly {
        id: r.try_get(0)?,
        kind,
        label: kind.label(),
        site_id: r.try_get(2)?,
        site_name: r.try_get(3)?,
        detected_at: time::from_micros(r.try_get(4)?),
        evidence: serde_json::from_str(&r.try_get::<String, _>(5)?).unwrap_or_default(),
        status: {
            let stored: String = r.try_get(6)?;
            AnomalyStatus::parse(&stored)
                .ok_or_else(|| sqlx::Error::Decode(format!("état d'anomalie inconnu : « {stored} »").into()))?
        },
        dismissed_by: r.try_get(7)?,
        dismissed_at: r.try_get::<Option<i64>, _>(8)?.map(time::from_micros),
        comment: r.try_get(9)?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum DismissError {
    #[error("anomalie inconnue")]
    NotFound,
    #[error("cette anomalie est déjà classée")]
    AlreadyDismissed,
    #[error("un commentaire est obligatoire pour classer une anomalie")]
    MissingComment,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Dismisses an open flag with the operator's comment.
pub async fn dismiss(
    conn: &mut AnyConnection,
    id: i64,
    by: Option<i64>,
    comment: &str,
) -> Result<Anomaly, DismissError> {
    let comment = comment.trim();
    if comment.is_empty() || comment.chars().count() > 2000 {
        return Err(DismissError::MissingComment);
    }
    let changed = sqlx::query(
        "UPDATE anomalies SET status = 'dismissed', dismissed_by = $1, dismissed_at = $2, comment = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(by)
    .bind(time::to_micros(time::now()))
    .bind(comment)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        "SELECT a.id, a.kind, a.site_id, o.name, a.detected_at, a.evidence, a.status, a.dismissed_by, a.dismissed_at, a.comment \
         FROM anomalies a LEFT JOIN organisations o ON o.id = a.site_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DismissError::NotFound)?;
    if changed.rows_affected() == 0 {
        return Err(DismissError::AlreadyDismissed);
    }
    Ok(from_row(&row)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip_and_match_serde() {
        for s in [AnomalyStatus::Open, AnomalyStatus::Dismissed] {
            assert_eq!(AnomalyStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(AnomalyStatus::parse("closed"), None);
    }

    #[test]
    fn burst_work_only_at_the_first_look_and_at_multiples_of_the_threshold() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let count = |redemptions, threshold| DayCount { day, redemptions, threshold };
        assert!(burst_due(count(1, None)), "the day's first look fixes the threshold");
        let due: Vec<i64> = (1..=45).filter(|&n| burst_due(count(n, Some(20)))).collect();
        assert_eq!(due, vec![20, 40]);
        assert!(!burst_due(count(3, Some(0))), "a zero threshold never divides");
    }

    #[test]
    fn opening_hours_are_read_in_paris_time_with_slack() {
        let hours = "Mo-Fr 09:00-12:00,14:00-17:00";
        // Tuesday 24 November 2026, 10:00 in Paris = 09:00 UTC.
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(!closed_around(hours, at("2026-11-24T09:00:00Z"), 30));
        // 17:20 Paris: within the slack after closing.
        assert!(!closed_around(hours, at("2026-11-24T16:20:00Z"), 30));
        // 21:00 Paris on a weekday, and any time on Sunday, are closed.
        assert!(closed_around(hours, at("2026-11-24T20:00:00Z"), 30));
        assert!(closed_around(hours, at("2026-11-29T10:00:00Z"), 30));
        // Christmas Day is a public holiday: "PH off" closes it.
        assert!(!closed_around(hours, at("2026-12-25T10:00:00Z"), 30));
        assert!(closed_around("Mo-Fr 09:00-17:00; PH off", at("2026-12-25T10:00:00Z"), 30));
        // Unknown or empty hours never raise a flag.
        assert!(!closed_around("", at("2026-11-24T20:00:00Z"), 30));
        assert!(!closed_around("n'importe quoi", at("2026-11-24T20:00:00Z"), 30));
    }

    #[test]
    fn opening_hours_are_checked() {
        assert!(check_opening_hours("Mo-Fr 09:00-12:00,14:00-17:00; Sa 10:00-12:00").is_ok());
        assert!(check_opening_hours("24/7").is_ok());
        assert!(check_opening_hours("du lundi au vendredi").unwrap_err().contains("OpenStreetMap"));
    }
}

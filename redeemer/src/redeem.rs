//! Redemption (DESIGN §7): every check with a stable code and a French message; exactly once
//! whatever the concurrency; the voucher status changes, the redemption and its ledger posting
//! commit in one database transaction or not at all.
//!
//! Whether a voucher can be used at all is the issuer's rule ([`issuer::validity`]), the one
//! the public check applies too; the redemption adds its own: the site's accreditation, the
//! place, the service offered, its price in vouchers and the categories the order funds.

use crate::anomalies::{self, Thresholds};
use crate::catalogue::{SERVICE_COLUMNS, Service, service_from_row};
use crate::group_commit;
use crate::outcome::Outcome;
use crate::record::{Recorded, Write};
use crate::refusal::{invalid_voucher, refuse};
use crate::sites::Accreditation;
use crate::voucher_row::{VoucherRow, voucher_columns, voucher_from_row};
use chrono::{DateTime, NaiveDate, Utc};
use issuer::keys::KeyRing;
use issuer::local_time;
use issuer::scan;
use issuer::territory;
use issuer::validity::{self, Invalid};
use ledger::{AccountCode, Db, time};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub use crate::record::Redeemed;
pub use crate::refusal::{RedeemError, Refusal};

/// A redemption to record.
#[derive(Debug, Clone)]
pub struct RedeemRequest {
    pub site_id: i64,
    pub place_id: i64,
    pub service_code: String,
    /// Scanned or typed inputs, one per voucher.
    pub vouchers: Vec<String>,
    /// When the service was delivered; `None` means now (and a retry without it is the same
    /// request).
    pub performed_at: Option<DateTime<Utc>>,
    pub idempotency_key: String,
    pub scanned_by: Option<i64>,
    /// What the help achieved, when the mediator says.
    pub outcome: Option<Outcome>,
}

fn request_hash(r: &RedeemRequest) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(r.site_id.to_be_bytes());
    h.update(r.place_id.to_be_bytes());
    h.update(r.service_code.as_bytes());
    match r.performed_at {
        Some(at) => h.update(time::to_micros(at).to_be_bytes()),
        None => h.update(b"now"),
    }
    if let Some(o) = &r.outcome {
        h.update(o.result.as_str().as_bytes());
        h.update([o.autonomy_before.map_or(0, |a| a.get()), o.autonomy_after.map_or(0, |a| a.get())]);
    }
    let mut codes: Vec<String> =
        r.vouchers.iter().map(|v| scan::parse(v).map(|s| s.code().canonical()).unwrap_or_else(|_| v.clone())).collect();
    codes.sort();
    for c in codes {
        h.update(c.as_bytes());
        h.update([0]);
    }
    h.finalize().to_vec()
}

/// The code of a scanned or typed input; a token's signature is checked.
fn scanned_code(keys: &KeyRing, input: &str) -> Result<issuer::code::VoucherCode, RedeemError> {
    validity::read(keys, input).map(|(code, _)| code).map_err(|invalid| invalid_voucher(invalid, input))
}

fn unknown_code(code: &issuer::code::VoucherCode) -> RedeemError {
    refuse("unknown", "Aucun chèque ne porte ce code.", Some(&code.display()))
}

/// Loads a voucher.
async fn load_voucher(
    conn: &mut AnyConnection,
    keys: &KeyRing,
    ctx: &Context,
    input: &str,
) -> Result<VoucherRow, RedeemError> {
    let code = scanned_code(keys, input)?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM vouchers v JOIN orders o ON o.id = v.order_id WHERE v.code = $1",
        voucher_columns("$2", "$3", "$4")
    )))
    .bind(code.db())
    .bind(ctx.site_id)
    .bind(time::to_micros(ctx.day_bounds.0))
    .bind(time::to_micros(ctx.day_bounds.1))
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => voucher_from_row(&row, 0)?.ok_or_else(|| unknown_code(&code)),
        None => Err(unknown_code(&code)),
    }
}

/// The first answer to the request recorded under `key`, if any: exactly what it was answered,
/// the site's payable balance as it was right after it included. A different request under the
/// same key is refused.
async fn replay(conn: &mut AnyConnection, key: &str, hash: &[u8]) -> Result<Option<Redeemed>, RedeemError> {
    let row = sqlx::query(
        "SELECT id, request_hash, voucher_count, value_cents, fee_cents, site_id, site_payable_after \
         FROM redemptions WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let stored: Vec<u8> = r.try_get(1)?;
    if stored != hash {
        return Err(RedeemError::IdempotencyConflict(key.to_owned()));
    }
    let payable = match r.try_get::<Option<i64>, _>(6)? {
        Some(after) => after,
        // Recorded before the balance was kept with it (migration 0011): the balance now.
        None => {
            let site: i64 = r.try_get(5)?;
            let balance: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_accounts WHERE code = $1",
            )
            .bind(AccountCode::site_payable(site).as_str())
            .fetch_one(&mut *conn)
            .await?;
            -balance
        }
    };
    Ok(Some(Redeemed {
        redemption_id: r.try_get(0)?,
        vouchers: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
        value_cents: r.try_get(3)?,
        fee_cents: r.try_get(4)?,
        site_payable_cents: payable,
        replayed: true,
    }))
}

/// Redeems vouchers for a service delivered by a site. A retried request with the same
/// idempotency key returns the first result.
pub async fn redeem(db: &Db, keys: &KeyRing, req: &RedeemRequest) -> Result<Redeemed, RedeemError> {
    let result = redeem_checked(db, keys, req).await;
    let rules = Thresholds::default();
    let watched = match &result {
        Ok(Recorded { watch: Some(watch), .. }) => anomalies::after_redemption(db, &rules, watch).await,
        Err(RedeemError::Refused(r)) => {
            let input = r.voucher.as_deref().unwrap_or_default();
            anomalies::record_invalid(db, &rules, req.scanned_by, req.site_id, &[(r.code, input)]).await
        }
        _ => Ok(()),
    };
    if let Err(e) = watched {
        // The redemption stands; only its review flags are missing.
        tracing::warn!(error = %e, site = req.site_id, "anomaly detection failed");
    }
    result.map(|r| r.redeemed)
}

async fn redeem_checked(db: &Db, keys: &KeyRing, req: &RedeemRequest) -> Result<Recorded, RedeemError> {
    let key = req.idempotency_key.trim();
    if key.is_empty() || key.len() > 200 || key.chars().any(char::is_control) {
        return Err(refuse(
            "invalid_idempotency_key",
            "La clé d'idempotence doit compter de 1 à 200 caractères, sans caractère de contrôle.",
            None,
        ));
    }
    if req.vouchers.is_empty() || req.vouchers.len() > 20 {
        return Err(refuse("wrong_voucher_count", "Présentez de 1 à 20 chèques.", None));
    }
    let performed_at = req.performed_at.unwrap_or_else(time::now);
    if performed_at > time::now() + chrono::Duration::minutes(5) {
        return Err(refuse("performed_in_future", "La date du service est dans le futur.", None));
    }
    let hash = request_hash(req);
    let error = match redeem_once(db, keys, req, performed_at, key, &hash).await {
        Ok(done) => return Ok(done),
        Err(e) => e,
    };
    // A retry of a recorded request finds its vouchers used or its key taken (also when two
    // copies race): the stored result answers it, and a different request with that key is
    // refused. Any other failure stands.
    let mut conn = db.pool().acquire().await?;
    match replay(&mut conn, key, &hash).await? {
        Some(done) => Ok(Recorded::replayed(done)),
        None => Err(error),
    }
}

/// Where and what: the site's accreditation at the date, its place, the service.
struct Context {
    site_id: i64,
    place_name: String,
    opening_hours: String,
    departement: String,
    service: Service,
    day: NaiveDate,
    day_bounds: (DateTime<Utc>, DateTime<Utc>),
}

/// The context's columns (site `s`, place `p`, catalogue `c`), for site `$1`, place `$2` and
/// service `$3`; [`context_from_row`] reads them.
fn context_sql(extra_columns: &str, extra_joins: &str) -> String {
    format!(
        "SELECT s.status, s.accredited_until, p.commune_insee, p.name, p.opening_hours, \
         (SELECT COUNT(*) FROM site_services ss WHERE ss.site_id = s.organisation_id AND ss.service_code = c.code), \
         {SERVICE_COLUMNS}{extra_columns} FROM sites s \
         LEFT JOIN site_places p ON p.id = $2 AND p.site_id = s.organisation_id \
         LEFT JOIN catalogue_services c ON c.code = $3{extra_joins} WHERE s.organisation_id = $1"
    )
}

/// The columns after the context's in a [`context_sql`] row.
const CONTEXT_COLUMNS: usize = 6 + 7;

fn context_from_row(row: Option<&AnyRow>, site_id: i64, day: NaiveDate) -> Result<Context, RedeemError> {
    let Some(row) = row else { return Err(refuse("site_not_accredited", "Ce lieu n'est pas agréé.", None)) };
    let status = Accreditation::parse(&row.try_get::<String, _>(0)?);
    let until: Option<NaiveDate> = row.try_get::<Option<String>, _>(1)?.and_then(|d| d.parse().ok());
    match status {
        Some(Accreditation::Accredited) if until.is_some_and(|u| day <= u) => {}
        Some(Accreditation::Suspended) => {
            return Err(refuse("site_suspended", "L'agrément de ce lieu est suspendu.", None));
        }
        _ => return Err(refuse("site_not_accredited", "Ce lieu n'est pas agréé à la date du service.", None)),
    }
    let commune: Option<String> = row.try_get(2)?;
    let commune =
        commune.ok_or_else(|| refuse("unknown_place", "Ce lieu d'accueil n'appartient pas à la structure.", None))?;
    let departement = territory::commune(&commune).map(|c| c.departement.clone()).unwrap_or_default();
    if row.try_get::<Option<String>, _>(6)?.is_none() {
        return Err(refuse("service_not_offered", "Service inconnu.", None));
    }
    let (service, retired) = service_from_row(row, 6)?;
    let offered = row.try_get::<Option<i64>, _>(5)?.unwrap_or(0) > 0;
    if retired || !offered {
        return Err(refuse(
            "service_not_offered",
            format!("Ce lieu ne propose pas le service « {} ».", service.label),
            None,
        ));
    }
    Ok(Context {
        site_id,
        place_name: row.try_get(3)?,
        opening_hours: row.try_get(4)?,
        departement,
        service,
        day,
        day_bounds: local_time::day_bounds(day),
    })
}

async fn context(
    conn: &mut AnyConnection,
    site_id: i64,
    place_id: i64,
    service_code: &str,
    day: NaiveDate,
) -> Result<Context, RedeemError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(context_sql("", "")))
        .bind(site_id)
        .bind(place_id)
        .bind(service_code)
        .fetch_optional(&mut *conn)
        .await?;
    context_from_row(row.as_ref(), site_id, day)
}

/// The context and one voucher, loaded but not judged yet, in one round trip.
async fn context_and_voucher(
    conn: &mut AnyConnection,
    keys: &KeyRing,
    req: &RedeemRequest,
    day: NaiveDate,
    input: &str,
) -> Result<(Context, Result<VoucherRow, RedeemError>), RedeemError> {
    let code = match scanned_code(keys, input) {
        Ok(code) => code,
        Err(unreadable) => {
            let ctx = context(conn, req.site_id, req.place_id, &req.service_code, day).await?;
            return Ok((ctx, Err(unreadable)));
        }
    };
    let bounds = local_time::day_bounds(day);
    let sql = context_sql(
        &format!(", {}", voucher_columns("$1", "$5", "$6")),
        " LEFT JOIN vouchers v ON v.code = $4 LEFT JOIN orders o ON o.id = v.order_id",
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(req.site_id)
        .bind(req.place_id)
        .bind(req.service_code.as_str())
        .bind(code.db())
        .bind(time::to_micros(bounds.0))
        .bind(time::to_micros(bounds.1))
        .fetch_optional(&mut *conn)
        .await?;
    let ctx = context_from_row(row.as_ref(), req.site_id, day)?;
    let voucher = row.as_ref().map(|r| voucher_from_row(r, CONTEXT_COLUMNS)).transpose()?.flatten();
    Ok((ctx, voucher.ok_or_else(|| unknown_code(&code))))
}

/// Every check of one voucher in a context.
async fn check_voucher(
    conn: &mut AnyConnection,
    keys: &KeyRing,
    ctx: &Context,
    input: &str,
) -> Result<VoucherRow, RedeemError> {
    let v = load_voucher(conn, keys, ctx, input).await?;
    judge(conn, ctx, v, input).await
}

/// Every check of a loaded voucher in a context: the voucher validity rule (on the day of the
/// service, at the place's département), then whether the order funds the service's category.
async fn judge(conn: &mut AnyConnection, ctx: &Context, v: VoucherRow, input: &str) -> Result<VoucherRow, RedeemError> {
    match validity::judge(&v.state, ctx.day, Some(&ctx.departement)) {
        Ok(()) => {}
        Err(Invalid::AlreadyRedeemed) => return Err(already_redeemed(conn, v.id, ctx.site_id, input).await?),
        Err(invalid) => return Err(invalid_voucher(invalid, input)),
    }
    if v.categories.as_ref().is_some_and(|c| !c.contains(&ctx.service.category)) {
        return Err(refuse(
            "category_not_allowed",
            format!("Ce chèque ne finance pas la catégorie « {} ».", ctx.service.category.label()),
            Some(input),
        ));
    }
    Ok(v)
}

/// The verdict on one input of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub input: String,
    pub redeemable: bool,
    pub refusal: Option<Refusal>,
    pub face_value_cents: Option<i64>,
}

/// Says for each input whether it can be redeemed here and now for this service, without
/// changing anything. Problems of the site, place or service refuse the whole request.
#[allow(clippy::too_many_arguments)]
pub async fn verify(
    db: &Db,
    keys: &KeyRing,
    site_id: i64,
    place_id: i64,
    service_code: &str,
    inputs: &[String],
    at: DateTime<Utc>,
    scanned_by: Option<i64>,
) -> Result<Vec<Verdict>, RedeemError> {
    if inputs.is_empty() || inputs.len() > 50 {
        return Err(refuse("wrong_voucher_count", "Présentez de 1 à 50 chèques.", None));
    }
    let mut conn = db.pool().acquire().await?;
    let ctx = context(&mut conn, site_id, place_id, service_code, local_time::day(at)).await?;
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        out.push(match check_voucher(&mut conn, keys, &ctx, input).await {
            Ok(v) => Verdict { input: input.clone(), redeemable: true, refusal: None, face_value_cents: Some(v.face) },
            Err(RedeemError::Refused(r)) => {
                Verdict { input: input.clone(), redeemable: false, refusal: Some(r), face_value_cents: None }
            }
            Err(e) => return Err(e),
        });
    }
    drop(conn);
    let refused: Vec<(&str, &str)> =
        out.iter().filter_map(|v| v.refusal.as_ref().map(|r| (r.code, v.input.as_str()))).collect();
    if let Err(e) = anomalies::record_invalid(db, &Thresholds::default(), scanned_by, site_id, &refused).await {
        tracing::warn!(error = %e, site = site_id, "anomaly detection failed");
    }
    Ok(out)
}

async fn redeem_once(
    db: &Db,
    keys: &KeyRing,
    req: &RedeemRequest,
    performed_at: DateTime<Utc>,
    key: &str,
    hash: &[u8],
) -> Result<Recorded, RedeemError> {
    // Checks read outside the write transaction (SQLite serialises writers: they stay short);
    // the conditional status change below is what makes the redemption exactly-once.
    let mut conn = db.pool().acquire().await?;
    let Some(first) = req.vouchers.first() else {
        return Err(refuse("wrong_voucher_count", "Présentez de 1 à 20 chèques.", None));
    };
    let (ctx, loaded) = context_and_voucher(&mut conn, keys, req, local_time::day(performed_at), first).await?;
    let service = ctx.service.clone();
    if req.vouchers.len() != service.price_vouchers as usize {
        return Err(refuse(
            "wrong_voucher_count",
            format!(
                "Le service « {} » coûte {} chèque(s) ; {} présenté(s).",
                service.label,
                service.price_vouchers,
                req.vouchers.len()
            ),
            None,
        ));
    }
    let mut rows: Vec<VoucherRow> = Vec::with_capacity(req.vouchers.len());
    rows.push(judge(&mut conn, &ctx, loaded?, first).await?);
    for input in &req.vouchers[1..] {
        let v = check_voucher(&mut conn, keys, &ctx, input).await?;
        if rows.iter().any(|r| r.id == v.id) {
            return Err(refuse("duplicate_voucher", "Le même chèque est présenté deux fois.", Some(input)));
        }
        rows.push(v);
    }
    drop(conn);
    let write = Write {
        site_id: req.site_id,
        place_id: req.place_id,
        service,
        vouchers: rows,
        performed_at,
        key: key.to_owned(),
        hash: hash.to_vec(),
        scanned_by: req.scanned_by,
        outcome: req.outcome,
        first_input: req.vouchers.first().cloned(),
        day: ctx.day,
        place_name: ctx.place_name,
        opening_hours: ctx.opening_hours,
    };
    group_commit::record(db, write).await
}

/// The refusal for a voucher already used; for the same site, says when and for which service.
async fn already_redeemed(
    conn: &mut AnyConnection,
    voucher: i64,
    site: i64,
    input: &str,
) -> Result<RedeemError, RedeemError> {
    let row = sqlx::query(
        "SELECT r.site_id, r.performed_at, s.label FROM redemption_vouchers rv JOIN redemptions r ON r.id = rv.redemption_id \
         JOIN catalogue_services s ON s.code = r.service_code WHERE rv.voucher_id = $1",
    )
    .bind(voucher)
    .fetch_optional(&mut *conn)
    .await?;
    let message = match row {
        Some(r) if r.try_get::<i64, _>(0)? == site => {
            let at = time::from_micros(r.try_get(1)?);
            format!(
                "Ce chèque a déjà été utilisé ici le {} pour « {} ».",
                at.format("%d/%m/%Y à %H:%M"),
                r.try_get::<String, _>(2)?
            )
        }
        _ => "Ce chèque a déjà été utilisé.".to_owned(),
    };
    Ok(refuse("already_redeemed", message, Some(input)))
}

/// The outcome of one item of an offline batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItem {
    pub idempotency_key: String,
    /// What was recorded: for an item recorded by an earlier sync, exactly what that sync was
    /// answered.
    pub redeemed: Option<Redeemed>,
    pub refusal: Option<Refusal>,
    /// True when the item had been recorded by an earlier sync.
    pub replayed: bool,
}

/// Scans queued on a device while offline, synced later: each item is redeemed on its own, with
/// its own key and performed-at time. A performed-at time in the future, or older than
/// `max_age`, is refused for that item only.
pub async fn redeem_batch(
    db: &Db,
    keys: &KeyRing,
    items: &[RedeemRequest],
    max_age: chrono::Duration,
) -> Result<Vec<BatchItem>, RedeemError> {
    if items.is_empty() || items.len() > 500 {
        return Err(refuse("invalid_batch", "Un lot compte de 1 à 500 passages.", None));
    }
    let now = time::now();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let key = item.idempotency_key.clone();
        let too_old = item.performed_at.is_some_and(|at| at < now - max_age);
        let result = if item.performed_at.is_none() {
            Err(refuse("missing_performed_at", "Un passage hors ligne indique quand le service a eu lieu.", None))
        } else if too_old {
            Err(refuse("performed_too_long_ago", "Ce passage est trop ancien pour être enregistré.", None))
        } else {
            redeem(db, keys, item).await
        };
        out.push(match result {
            Ok(r) => BatchItem { idempotency_key: key, replayed: r.replayed, redeemed: Some(r), refusal: None },
            Err(RedeemError::Refused(r)) => {
                BatchItem { idempotency_key: key, redeemed: None, refusal: Some(r), replayed: false }
            }
            Err(RedeemError::IdempotencyConflict(k)) => BatchItem {
                idempotency_key: key,
                redeemed: None,
                refusal: Some(Refusal {
                    code: "idempotency_conflict",
                    message: format!("La clé « {k} » a déjà servi pour un autre passage."),
                    voucher: None,
                }),
                replayed: false,
            },
            Err(e) => return Err(e),
        });
    }
    Ok(out)
}

//! Import of mediation places from a CSV file in the national open-data standard
//! (`lieux-mediation-numerique`: `schema.json` and `exemple-valide.csv`).
//!
//! Every row is checked first. Valid rows become pending sites (one organisation per SIRET, its
//! place, the catalogue services of the categories it declares); invalid rows are reported with
//! their line, field and reason. All valid rows are written in one database transaction, so an
//! import never stops half-way; a site whose SIRET is already known is left unchanged, so
//! importing the same file twice changes nothing.

use crate::sites;
use issuer::category::Category;
use issuer::organisations::OrgKind;
use issuer::{InseeCode, IssuerError, Siret, territory};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// Largest file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
}

struct Valid {
    siret: Siret,
    name: String,
    address: String,
    insee: InseeCode,
    hours: String,
    categories: Vec<Category>,
}

fn field<'a>(headers: &csv::StringRecord, record: &'a csv::StringRecord, name: &str) -> &'a str {
    headers.iter().position(|h| h == name).and_then(|i| record.get(i)).map(str::trim).unwrap_or("")
}

fn check(
    headers: &csv::StringRecord,
    record: &csv::StringRecord,
    line: u64,
    errors: &mut Vec<RowError>,
) -> Option<Valid> {
    let mut mine: Vec<RowError> = Vec::new();
    let mut bad = |field: &str, reason: String| mine.push(RowError { line, field: field.to_owned(), reason });
    let siret = match field(headers, record, "pivot").parse::<Siret>() {
        Ok(s) => Some(s),
        Err(e) => {
            bad("pivot", format!("SIRET invalide : {e}"));
            None
        }
    };
    let name = field(headers, record, "nom").to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        bad("nom", "nom obligatoire (200 caractères au plus)".into());
    }
    let address = field(headers, record, "adresse").to_owned();
    if address.is_empty() {
        bad("adresse", "adresse obligatoire".into());
    }
    let postcode = field(headers, record, "code_postal");
    if postcode.len() != 5 || !postcode.bytes().all(|b| b.is_ascii_digit()) {
        bad("code_postal", format!("code postal invalide « {} »", postcode.chars().take(10).collect::<String>()));
    }
    let insee = field(headers, record, "code_insee");
    let commune_name = field(headers, record, "commune");
    let insee = if !insee.is_empty() {
        match territory::commune(insee) {
            Some(c) => Some(c.insee.clone()),
            None => {
                bad("code_insee", format!("code INSEE inconnu « {} »", insee.chars().take(10).collect::<String>()));
                None
            }
        }
    } else {
        // Without an INSEE code: the commune of that name with that postcode.
        let found = territory::search_communes(postcode, 50)
            .into_iter()
            .find(|c| territory::fold(&c.name) == territory::fold(commune_name));
        if found.is_none() {
            bad("commune", format!("commune « {commune_name} » introuvable pour le code postal {postcode}"));
        }
        found.map(|c| c.insee.clone())
    };
    let mut categories = Vec::new();
    let labels: Vec<&str> =
        field(headers, record, "services").split('|').map(str::trim).filter(|l| !l.is_empty()).collect();
    for label in &labels {
        match Category::from_label(label) {
            Some(c) => categories.push(c),
            None => bad("services", format!("service inconnu du référentiel : « {label} »")),
        }
    }
    if labels.is_empty() {
        bad("services", "au moins un service du référentiel".into());
    }
    let hours = field(headers, record, "horaires");
    if !hours.trim().is_empty()
        && let Err(e) = crate::anomalies::check_opening_hours(hours)
    {
        bad("horaires", e);
    }
    if !mine.is_empty() {
        errors.extend(mine);
        return None;
    }
    Some(Valid { siret: siret?, name, address, insee: insee?, hours: hours.to_owned(), categories })
}

/// A checked file: its valid rows, and the errors of the others by line.
pub struct Checked {
    rows: Vec<Valid>,
    pub errors: Vec<RowError>,
}

impl Checked {
    /// How many rows are valid.
    pub fn valid(&self) -> usize {
        self.rows.len()
    }
}

/// Reads and checks a CSV file (UTF-8, comma-separated, with the standard's header) without
/// writing anything: any bytes end in rows, errors by line, or a refusal of the whole file.
pub fn check_csv(bytes: &[u8]) -> Result<Checked, IssuerError> {
    if bytes.len() > MAX_BYTES {
        return Err(IssuerError::invalid("file_too_large", "fichier de plus de 20 Mo"));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers =
        reader.headers().map_err(|e| IssuerError::invalid("invalid_csv", format!("en-tête illisible : {e}")))?.clone();
    for required in ["pivot", "nom", "commune", "code_postal", "adresse", "services"] {
        if !headers.iter().any(|h| h == required) {
            return Err(IssuerError::invalid("invalid_csv", format!("colonne obligatoire absente : {required}")));
        }
    }
    let mut checked = Checked { rows: Vec::new(), errors: Vec::new() };
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        match record {
            Ok(r) => {
                if let Some(row) = check(&headers, &r, line, &mut checked.errors) {
                    checked.rows.push(row);
                }
            }
            Err(e) => checked.errors.push(RowError {
                line,
                field: "(ligne)".into(),
                reason: format!("ligne illisible : {e}"),
            }),
        }
    }
    Ok(checked)
}

/// Imports a CSV file: every row checked ([`check_csv`]), then the valid ones written in one
/// transaction.
pub async fn import_csv(db: &ledger::Db, bytes: &[u8]) -> Result<ImportReport, IssuerError> {
    let mut tx = db.begin().await?;
    let report = import_csv_in(&mut tx, bytes).await?;
    tx.commit().await?;
    Ok(report)
}

/// [`import_csv`] in the caller's transaction (with its audit entry).
pub async fn import_csv_in(conn: &mut AnyConnection, bytes: &[u8]) -> Result<ImportReport, IssuerError> {
    let Checked { rows, errors } = check_csv(bytes)?;
    let mut report = ImportReport { errors, ..ImportReport::default() };
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        if !seen.insert(row.siret.clone()) {
            report.unchanged += 1;
            continue;
        }
        let existing = sqlx::query("SELECT kind FROM organisations WHERE siret = $1")
            .bind(row.siret.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(r) = existing {
            let kind: String = r.try_get(0)?;
            if kind != OrgKind::Site.as_str() {
                report.errors.push(RowError {
                    line: 0,
                    field: "pivot".into(),
                    reason: format!("le SIRET {} appartient à une autre organisation", row.siret),
                });
            }
            report.unchanged += 1;
            continue;
        }
        let id = sites::create_pending(&mut *conn, &row.name, &row.siret).await?;
        sites::add_place(&mut *conn, id, &row.name, &row.address, &row.insee, &row.hours).await?;
        let codes: Vec<String> =
            sqlx::query_scalar("SELECT code FROM catalogue_services WHERE retired_at IS NULL ORDER BY code")
                .fetch_all(&mut *conn)
                .await?;
        let mut offered = Vec::new();
        for code in &codes {
            if let Some((s, _)) = sites::service(&mut *conn, code).await?
                && row.categories.contains(&s.category)
            {
                offered.push(code.as_str());
            }
        }
        sites::set_services(&mut *conn, id, &offered).await?;
        report.imported += 1;
    }
    Ok(report)
}

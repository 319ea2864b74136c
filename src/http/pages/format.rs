//! How the pages write values for people: amounts, dates and statuses in French.

use chrono::{DateTime, NaiveDate, Utc};

/// An amount in cents as French euros (`1 234,50 €`).
pub fn euros(cents: i64) -> String {
    ledger::Cents(cents).to_french()
}

/// A date as `31/12/2027`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// The local day of an instant, or a dash.
pub fn optional_date(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".to_owned(), |t| date(issuer::local_time::day(t)))
}

/// An instant as French local date and time (`26/11/2026 14:05`).
pub fn date_time(t: DateTime<Utc>) -> String {
    issuer::local_time::local(t).format("%d/%m/%Y %H:%M").to_string()
}

/// The French word for a status the API gives in English.
pub fn status_word(s: &str) -> String {
    match s {
        "draft" => "brouillon",
        "confirmed" => "confirmée",
        "issuing" => "en cours d'émission",
        "issued" => "émis",
        "cancelled" => "annulé",
        "pending" => "en attente",
        "accredited" => "agréé",
        "suspended" => "suspendu",
        "revoked" => "retiré",
        "assigned" => "confié",
        "distributed" => "remis",
        "expired" => "expiré",
        "blocked" => "bloqué",
        "released" => "validé",
        "sent" => "envoyé",
        "paid" => "payé",
        "returned" => "rejeté",
        "held" => "retenu",
        "open" => "ouverte",
        "dismissed" => "classée",
        "manager" => "responsable",
        "member" => "membre",
        "active" => "actif",
        "redeemed" => "utilisé",
        other => other,
    }
    .to_owned()
}

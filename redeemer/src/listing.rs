//! The public list of accredited places where a voucher can be used: shown on the voucher check
//! page reached from the QR code, in plain French.

use issuer::territory;
use ledger::Db;
use sqlx::Row;

/// One place where a voucher holder can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPlace {
    pub site: String,
    pub place: String,
    pub address: String,
    pub commune: String,
    /// Opening hours in French words.
    pub hours: String,
    /// Labels of the services offered, in catalogue order.
    pub services: Vec<String>,
}

/// Places of sites accredited on `today` in the départements of `departements` (all places if it
/// is empty), by commune and name; at most `limit`.
pub async fn accredited_places(
    db: &Db,
    departements: &[String],
    today: chrono::NaiveDate,
    limit: usize,
) -> Result<Vec<PublicPlace>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT o.id, o.name, p.name, p.address, p.commune_insee, p.opening_hours FROM sites s \
         JOIN organisations o ON o.id = s.organisation_id JOIN site_places p ON p.site_id = s.organisation_id \
         WHERE s.status = 'accredited' AND (s.accredited_until IS NULL OR s.accredited_until >= $1) \
         ORDER BY p.commune_insee, o.name, p.name",
    )
    .bind(today.format("%Y-%m-%d").to_string())
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let insee: String = r.try_get(4)?;
        let commune = territory::commune(&insee);
        let inside = departements.is_empty() || commune.is_some_and(|c| departements.contains(&c.departement));
        if !inside {
            continue;
        }
        let site: i64 = r.try_get(0)?;
        let services: Vec<String> = sqlx::query_scalar(
            "SELECT c.label FROM site_services ss JOIN catalogue_services c ON c.code = ss.service_code \
             WHERE ss.site_id = $1 AND c.retired_at IS NULL ORDER BY c.code",
        )
        .bind(site)
        .fetch_all(db.pool())
        .await?;
        out.push(PublicPlace {
            site: r.try_get(1)?,
            place: r.try_get(2)?,
            address: r.try_get(3)?,
            commune: commune.map_or(insee.clone(), |c| c.name.clone()),
            hours: hours_in_french(&r.try_get::<String, _>(5)?),
            services,
        });
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// OpenStreetMap opening hours in French words: `Mo-Fr 09:00-12:00,14:00-17:00; Sa 10:00-12:00`
/// → `du lundi au vendredi 09:00-12:00, 14:00-17:00 ; samedi 10:00-12:00`. What it does not know
/// is kept as written.
pub fn hours_in_french(osm: &str) -> String {
    const DAYS: [(&str, &str); 7] = [
        ("Mo", "lundi"),
        ("Tu", "mardi"),
        ("We", "mercredi"),
        ("Th", "jeudi"),
        ("Fr", "vendredi"),
        ("Sa", "samedi"),
        ("Su", "dimanche"),
    ];
    let day = |d: &str| DAYS.iter().find(|(k, _)| *k == d).map(|(_, v)| *v);
    let rules: Vec<String> = osm
        .split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|rule| {
            if rule == "24/7" {
                return "tous les jours, à toute heure".to_owned();
            }
            if rule == "PH off" {
                return "fermé les jours fériés".to_owned();
            }
            let (days, times) = rule.split_once(' ').unwrap_or((rule, ""));
            let days_fr: Option<Vec<String>> = days
                .split(',')
                .map(|part| match part.split_once('-') {
                    Some((a, b)) => Some(format!("du {} au {}", day(a)?, day(b)?)),
                    None => day(part).map(str::to_owned),
                })
                .collect();
            let times = times.trim().replace(',', ", ").replace("off", "fermé");
            match days_fr {
                Some(d) => format!("{} {}", d.join(", "), times).trim().to_owned(),
                None => rule.to_owned(),
            }
        })
        .collect();
    rules.join(" ; ")
}

#[cfg(test)]
mod tests {
    use super::hours_in_french;

    #[test]
    fn opening_hours_read_in_french() {
        assert_eq!(
            hours_in_french("Mo-Fr 09:00-12:00,14:00-17:00; Sa 10:00-12:00"),
            "du lundi au vendredi 09:00-12:00, 14:00-17:00 ; samedi 10:00-12:00"
        );
        assert_eq!(hours_in_french("Tu,Th 14:00-18:00; PH off"), "mardi, jeudi 14:00-18:00 ; fermé les jours fériés");
        assert_eq!(hours_in_french("24/7"), "tous les jours, à toute heure");
        assert_eq!(hours_in_french("week 1-53 Mo 10:00"), "week 1-53 Mo 10:00");
    }
}

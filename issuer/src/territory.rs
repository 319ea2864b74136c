//! French reference data: départements and communes (INSEE codes, postcodes, population), from
//! `data/decoupage-administratif` (derived from @etalab/decoupage-administratif, MIT), compiled
//! into the binary.

use crate::InseeCode;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

const DEPARTEMENTS_JSON: &str = include_str!("../../data/decoupage-administratif/departements.json");
const COMMUNES_CSV: &str = include_str!("../../data/decoupage-administratif/communes.csv");

#[derive(Debug, Clone, Deserialize)]
struct RawDepartement {
    code: String,
    nom: String,
    region: String,
}

/// A département.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Departement {
    pub code: String,
    pub name: String,
    pub region: String,
}

/// A commune (or a municipal arrondissement of Paris, Lyon, Marseille).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commune {
    pub insee: InseeCode,
    pub name: String,
    pub departement: String,
    pub postcodes: Vec<String>,
    pub population: u32,
}

struct Reference {
    departements: HashMap<String, Departement>,
    communes: HashMap<String, Commune>,
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let raw: Vec<RawDepartement> =
            serde_json::from_str(DEPARTEMENTS_JSON).expect("departements.json ships with the binary");
        let departements = raw
            .into_iter()
            .map(|d| (d.code.clone(), Departement { code: d.code, name: d.nom, region: d.region }))
            .collect();
        let mut communes = HashMap::new();
        for line in COMMUNES_CSV.lines().skip(1) {
            let fields = split_csv(line);
            if fields.len() < 7 {
                continue;
            }
            let Ok(insee) = fields[0].parse::<InseeCode>() else { continue };
            let commune = Commune {
                insee,
                name: fields[1].clone(),
                departement: fields[3].clone(),
                postcodes: fields[5].split(';').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
                population: fields[6].parse().unwrap_or(0),
            };
            communes.insert(commune.insee.to_string(), commune);
        }
        Reference { departements, communes }
    })
}

/// Splits one line of the shipped CSV (comma-separated, double quotes around fields with commas).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

pub fn departement(code: &str) -> Option<&'static Departement> {
    reference().departements.get(code)
}

pub fn commune(insee: &str) -> Option<&'static Commune> {
    reference().communes.get(insee)
}

/// Every commune of the reference data, in no particular order.
pub fn communes() -> impl Iterator<Item = &'static Commune> {
    reference().communes.values()
}

/// The population of a département: the sum of its communes' (0 for an unknown code).
pub fn departement_population(code: &str) -> u64 {
    static TOTALS: OnceLock<HashMap<String, u64>> = OnceLock::new();
    let totals = TOTALS.get_or_init(|| {
        let mut totals = HashMap::new();
        for c in reference().communes.values() {
            *totals.entry(c.departement.clone()).or_insert(0u64) += u64::from(c.population);
        }
        totals
    });
    totals.get(code).copied().unwrap_or(0)
}

/// Communes whose name starts with `query` (accents and case ignored) or whose postcode starts
/// with it; at most `limit`, most populated first.
pub fn search_communes(query: &str, limit: usize) -> Vec<&'static Commune> {
    let q = fold(query.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<&Commune> = reference()
        .communes
        .values()
        .filter(|c| fold(&c.name).starts_with(&q) || c.postcodes.iter().any(|p| p.starts_with(&q)))
        .collect();
    found.sort_by(|a, b| b.population.cmp(&a.population).then(a.insee.cmp(&b.insee)));
    found.truncate(limit);
    found
}

/// Lower case without accents, for matching names.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            '-' | '\'' | '’' => ' ',
            c => c,
        })
        .collect()
}

/// A list of département codes, validated against the reference data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Territory(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("département inconnu : « {0} »")]
pub struct UnknownDepartement(pub String);

impl Territory {
    pub fn new(codes: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self, UnknownDepartement> {
        let mut out: Vec<String> = Vec::new();
        for c in codes {
            let c = c.as_ref().trim().to_uppercase();
            if departement(&c).is_none() {
                return Err(UnknownDepartement(c.chars().take(10).collect()));
            }
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out.sort();
        Ok(Territory(out))
    }

    /// Stored form: `33,40`.
    pub fn to_db(&self) -> String {
        self.0.join(",")
    }

    /// Reads the stored form (trusted: written by [`Territory::to_db`]).
    pub fn from_db(s: &str) -> Self {
        Territory(s.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect())
    }

    pub fn codes(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An empty territory means "anywhere".
    pub fn contains(&self, departement: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|c| c == departement)
    }

    /// "Gironde (33), Landes (40)".
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "toute la France".into();
        }
        self.0
            .iter()
            .map(|c| format!("{} ({c})", departement(c).map_or("?", |d| d.name.as_str())))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl TryFrom<Vec<String>> for Territory {
    type Error = UnknownDepartement;
    fn try_from(v: Vec<String>) -> Result<Self, Self::Error> {
        Territory::new(v)
    }
}

impl From<Territory> for Vec<String> {
    fn from(t: Territory) -> Vec<String> {
        t.0
    }
}

impl fmt::Display for Territory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_data() {
        assert_eq!(departement("33").unwrap().name, "Gironde");
        assert_eq!(departement("2A").unwrap().name, "Corse-du-Sud");
        assert!(departement("99").is_none());
        let bordeaux = commune("33063").unwrap();
        assert_eq!(bordeaux.name, "Bordeaux");
        assert!(bordeaux.population > 200_000);
        assert_eq!(search_communes("bordeaux", 3)[0].insee, "33063");
        assert_eq!(search_communes("33400", 5)[0].name, "Talence");
        assert_eq!(search_communes("Saint-Émilion", 1)[0].departement, "33");
        // Territoire de Belfort: the sum of its communes in the shipped file.
        assert_eq!(departement_population("90"), 140_255);
        assert_eq!(departement_population("99"), 0);
        assert!(communes().count() > 34_000);
    }

    #[test]
    fn territories() {
        let t = Territory::new(["40", "33", "33"]).unwrap();
        assert_eq!(t.to_db(), "33,40");
        assert_eq!(t.describe(), "Gironde (33), Landes (40)");
        assert!(t.contains("40") && !t.contains("24"));
        assert_eq!(Territory::new(["999"]), Err(UnknownDepartement("999".into())));
        assert!(Territory::default().contains("75"));
    }
}

//! The fields of a posted form, read as the types a use case takes, with French messages for
//! what is missing or malformed.

use std::str::FromStr;

/// The named fields of one posted form (a name may come several times: ticked boxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn new(fields: Vec<(String, String)>) -> Fields {
        Fields(fields)
    }

    /// The trimmed value, if the field is there and not empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// The trimmed value of a field that must be filled.
    pub fn text(&self, name: &str) -> Result<String, String> {
        self.optional(name).ok_or_else(|| format!("Le champ « {} » est obligatoire.", label(name)))
    }

    /// A number (spaces between thousands are allowed), if given.
    pub fn optional_number<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.optional(name)
            .map(|v| {
                v.replace([' ', '\u{a0}', '\u{202f}'], "")
                    .parse::<T>()
                    .map_err(|_| format!("« {v} » n'est pas un nombre entier valide ({}).", label(name)))
            })
            .transpose()
    }

    /// A number that must be given.
    pub fn number<T: FromStr>(&self, name: &str) -> Result<T, String> {
        self.optional_number(name)?.ok_or_else(|| format!("Le champ « {} » est obligatoire.", label(name)))
    }

    /// An amount typed in euros (`12,50`).
    pub fn euros(&self, name: &str) -> Result<ledger::Cents, String> {
        self.text(name)?.parse::<ledger::Cents>().map_err(|e| format!("{e}."))
    }

    /// A value of a type that checks its own form (an INSEE code, a SIRET…), with its message.
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        self.text(name)?.parse::<T>().map_err(|e| format!("{} : {e}.", label(name)))
    }

    /// A date (`2027-12-31`).
    pub fn date(&self, name: &str) -> Result<chrono::NaiveDate, String> {
        let v = self.text(name)?;
        chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| format!("« {v} » n'est pas une date valide."))
    }

    /// A list: every value of the field, each split on commas, semicolons, spaces and lines.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split([',', ' ', ';', '\n', '\r']))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// One of the values of an enumeration, by its name in the API (`refund`, `collective`…).
    pub fn choice<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, String> {
        use serde::de::IntoDeserializer;
        let v = self.text(name)?;
        let words: serde::de::value::StrDeserializer<serde::de::value::Error> = v.as_str().into_deserializer();
        T::deserialize(words).map_err(|_| format!("« {v} » n'est pas une valeur possible ({}).", label(name)))
    }

    /// A ticked box.
    pub fn checked(&self, name: &str) -> bool {
        self.optional(name).is_some_and(|v| matches!(v.as_str(), "on" | "true" | "oui"))
    }
}

/// A field's name as people read it.
fn label(name: &str) -> String {
    name.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::Fields;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn values_are_read_as_their_types() {
        let f = fields(&[
            ("label", " Commande 2027 "),
            ("books", "1 200"),
            ("face_value", "12,50"),
            ("territory", "33, 40 24"),
            ("services", "a"),
            ("services", "b"),
            ("valid_until", "2027-12-31"),
            ("empty", "  "),
        ]);
        assert_eq!(f.text("label").unwrap(), "Commande 2027");
        assert_eq!(f.number::<u32>("books").unwrap(), 1200);
        assert_eq!(f.euros("face_value").unwrap(), ledger::Cents(1250));
        assert_eq!(f.list("territory"), ["33", "40", "24"]);
        assert_eq!(f.list("services"), ["a", "b"]);
        assert_eq!(f.date("valid_until").unwrap().to_string(), "2027-12-31");
        assert_eq!(f.optional("empty"), None);
        assert_eq!(f.optional_number::<i64>("absent").unwrap(), None);
    }

    #[test]
    fn bad_values_are_refused_in_french() {
        let f = fields(&[("books", "dix"), ("v", "1,2,3"), ("d", "31/12/2027")]);
        assert!(f.number::<u32>("books").unwrap_err().contains("nombre entier"));
        assert!(f.euros("v").unwrap_err().contains("montant invalide"));
        assert!(f.date("d").unwrap_err().contains("date valide"));
        assert!(f.text("label").unwrap_err().contains("obligatoire"));
        let insee = fields(&[("commune_insee", "2a004"), ("other", "3306")]);
        assert_eq!(insee.parsed::<issuer::InseeCode>("commune_insee").unwrap().as_str(), "2A004");
        assert!(insee.parsed::<issuer::InseeCode>("other").unwrap_err().contains("code INSEE mal formé"));
        let policy = fields(&[("p", "refund"), ("q", "everything")]);
        assert_eq!(policy.choice::<issuer::orders::UnusedPolicy>("p").unwrap(), issuer::orders::UnusedPolicy::Refund);
        assert!(policy.choice::<issuer::orders::UnusedPolicy>("q").unwrap_err().contains("valeur possible"));
    }
}

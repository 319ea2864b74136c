//! What a breakdown asks for: its [`Dimension`], and which rows of a long table ([`Rows`]).

use serde::{Deserialize, Serialize};

/// A breakdown of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Month,
    Departement,
    Commune,
    Site,
    Service,
    Category,
    Prescriber,
    Autonomy,
    AgeBand,
    FirstUseDelay,
}

impl Dimension {
    /// Its name in the API and in addresses (`age_band`…), as serialized.
    pub fn slug(self) -> &'static str {
        match self {
            Dimension::Month => "month",
            Dimension::Departement => "departement",
            Dimension::Commune => "commune",
            Dimension::Site => "site",
            Dimension::Service => "service",
            Dimension::Category => "category",
            Dimension::Prescriber => "prescriber",
            Dimension::Autonomy => "autonomy",
            Dimension::AgeBand => "age_band",
            Dimension::FirstUseDelay => "first_use_delay",
        }
    }

    pub const ALL: [Dimension; 10] = [
        Dimension::Month,
        Dimension::Departement,
        Dimension::Commune,
        Dimension::Site,
        Dimension::Service,
        Dimension::Category,
        Dimension::Prescriber,
        Dimension::Autonomy,
        Dimension::AgeBand,
        Dimension::FirstUseDelay,
    ];

    /// True for the beneficiary attributes, whose tables are under statistical secrecy.
    pub fn is_beneficiary_attribute(self) -> bool {
        matches!(self, Dimension::Departement | Dimension::Commune | Dimension::Autonomy | Dimension::AgeBand)
    }

    /// French title of the table.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::Month => "Par mois",
            Dimension::Departement => "Par département de résidence",
            Dimension::Commune => "Par commune de résidence",
            Dimension::Site => "Par lieu de médiation",
            Dimension::Service => "Par service",
            Dimension::Category => "Par catégorie de service",
            Dimension::Prescriber => "Par prescripteur",
            Dimension::Autonomy => "Par niveau d'autonomie",
            Dimension::AgeBand => "Par tranche d'âge",
            Dimension::FirstUseDelay => "Délai entre la remise et la première utilisation",
        }
    }

    /// True for the tables that may have thousands of rows (communes, départements, sites): they
    /// can be limited to their largest rows ([`Rows::Top`]).
    pub fn is_long(self) -> bool {
        matches!(self, Dimension::Commune | Dimension::Departement | Dimension::Site)
    }
}

/// Which rows of a long table ([`Dimension::is_long`]) a breakdown returns; other tables are
/// always complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rows {
    /// Every row, in the order of their labels (what the CSV exports give).
    #[default]
    All,
    /// The `n` largest rows by the table's main measure — people for the tables of
    /// beneficiaries, passages for the table by site — largest first, then one row « Autres
    /// communes (k) » (« Autres départements », « Autres lieux ») adding up the k rows left out, so
    /// that the total is unchanged ([`Table::merged_rows`](crate::Table::merged_rows) is k). In
    /// the tables of beneficiaries only rows of 5 people or more are kept; the smaller ones go into
    /// the merged row, which is made to count 5 people or more too (the smallest kept row joins it
    /// when needed) and is protected like any row.
    Top(u32),
}

/// How many rows of a long table the dashboards and the impact report show ([`Rows::Top`]).
pub const SHOWN_ROWS: u32 = 50;

#[cfg(test)]
mod tests {
    use super::Dimension;

    #[test]
    fn slugs_are_the_serialized_names() {
        for d in Dimension::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), serde_json::Value::from(d.slug()));
        }
    }
}

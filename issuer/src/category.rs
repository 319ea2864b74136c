//! The nine service categories of the national open-data standard of mediation places
//! (`services` field of the schema).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    AideDemarchesAdministratives,
    MaitriseOutilsNumeriques,
    InsertionProfessionnelle,
    UtilisationSecurisee,
    ParentaliteEducation,
    LoisirsCreations,
    ComprehensionMondeNumerique,
    AccesInternetMateriel,
    AcquisitionMateriel,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::AideDemarchesAdministratives,
        Category::MaitriseOutilsNumeriques,
        Category::InsertionProfessionnelle,
        Category::UtilisationSecurisee,
        Category::ParentaliteEducation,
        Category::LoisirsCreations,
        Category::ComprehensionMondeNumerique,
        Category::AccesInternetMateriel,
        Category::AcquisitionMateriel,
    ];

    /// Stable identifier, as stored.
    pub fn slug(self) -> &'static str {
        match self {
            Category::AideDemarchesAdministratives => "aide_demarches_administratives",
            Category::MaitriseOutilsNumeriques => "maitrise_outils_numeriques",
            Category::InsertionProfessionnelle => "insertion_professionnelle",
            Category::UtilisationSecurisee => "utilisation_securisee",
            Category::ParentaliteEducation => "parentalite_education",
            Category::LoisirsCreations => "loisirs_creations",
            Category::ComprehensionMondeNumerique => "comprehension_monde_numerique",
            Category::AccesInternetMateriel => "acces_internet_materiel",
            Category::AcquisitionMateriel => "acquisition_materiel",
        }
    }

    /// The label of the national standard.
    pub fn label(self) -> &'static str {
        match self {
            Category::AideDemarchesAdministratives => "Aide aux démarches administratives",
            Category::MaitriseOutilsNumeriques => "Maîtrise des outils numériques du quotidien",
            Category::InsertionProfessionnelle => "Insertion professionnelle via le numérique",
            Category::UtilisationSecurisee => "Utilisation sécurisée du numérique",
            Category::ParentaliteEducation => "Parentalité et éducation avec le numérique",
            Category::LoisirsCreations => "Loisirs et créations numériques",
            Category::ComprehensionMondeNumerique => "Compréhension du monde numérique",
            Category::AccesInternetMateriel => "Accès internet et matériel informatique",
            Category::AcquisitionMateriel => "Acquisition de matériel informatique à prix solidaire",
        }
    }

    pub fn from_slug(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.slug() == s)
    }

    /// From the standard's label (as found in its CSV files).
    pub fn from_label(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.label().eq_ignore_ascii_case(s.trim()))
    }
}

/// Stored form of a set of categories: `slug,slug`.
pub fn to_db(categories: &[Category]) -> String {
    categories.iter().map(|c| c.slug()).collect::<Vec<_>>().join(",")
}

pub fn from_db(s: &str) -> Vec<Category> {
    s.split(',').filter_map(Category::from_slug).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in Category::ALL {
            assert_eq!(Category::from_slug(c.slug()), Some(c));
            assert_eq!(Category::from_label(c.label()), Some(c));
        }
        assert_eq!(from_db(&to_db(&Category::ALL)), Category::ALL.to_vec());
    }
}

//! A book as the aggregates keep it (`stats_books`), and what it adds to the cohort of the month it
//! was handed over in.
//!
//! The figures of a book handed to a beneficiary (its cohort: started, finished, vouchers used,
//! delay before first use) are a function of its row in `stats_books`: when that row changes, the
//! old contribution is taken away and the new one added.

use crate::cells::CellKey;
use crate::measures::{
    FINISHED, MEASURES, Measures, N, STARTED, USED_VALUE, USED_VOUCHERS, VALUE, VOUCHERS, dims, metrics,
};
use crate::period::Month;

/// The longest delay before first use kept exactly, in days (longer ones are counted here).
pub(crate) const MAX_DELAY_DAYS: i64 = 9999;

/// The state of a book that was handed over or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BookState {
    pub(crate) order_id: i64,
    pub(crate) vouchers: i64,
    pub(crate) face: i64,
    /// Set once the book is handed to a beneficiary.
    pub(crate) distribution: Option<Distribution>,
    /// The prescriber holding the book now (also for books never handed over).
    pub(crate) prescriber_id: Option<i64>,
    pub(crate) first_used_at: Option<i64>,
    pub(crate) first_site_id: Option<i64>,
    pub(crate) used_vouchers: i64,
    pub(crate) used_value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Distribution {
    pub(crate) at: i64,
    pub(crate) commune: String,
    pub(crate) age_band: String,
    pub(crate) autonomy: String,
}

impl BookState {
    /// What this book adds to the cohort aggregates (nothing before it is handed over).
    pub(crate) fn contribution(&self) -> Vec<(CellKey, Measures)> {
        let Some(d) = &self.distribution else {
            return Vec::new();
        };
        let month = Month::of_micros(d.at).to_string();
        let site = self.first_site_id.unwrap_or(0);
        let mut m = [0; MEASURES.len()];
        m[N] = 1;
        m[VOUCHERS] = self.vouchers;
        m[VALUE] = self.vouchers * self.face;
        m[STARTED] = i64::from(self.used_vouchers > 0);
        m[FINISHED] = i64::from(self.used_vouchers >= self.vouchers);
        m[USED_VOUCHERS] = self.used_vouchers;
        m[USED_VALUE] = self.used_value;
        let departement = departement_of(&d.commune);
        let key = |dim: &'static str, value: String| CellKey {
            metric: metrics::COHORT,
            dim,
            month: month.clone(),
            order_id: self.order_id,
            site_id: site,
            dim_value: value,
        };
        let mut out = vec![
            (key(dims::TOTAL, String::new()), m),
            (key(dims::COMMUNE, d.commune.clone()), m),
            (key(dims::DEPARTEMENT, departement), m),
            (key(dims::AGE_BAND, d.age_band.clone()), m),
            (key(dims::AUTONOMY, d.autonomy.clone()), m),
            (key(dims::PRESCRIBER, self.prescriber_id.map_or_else(String::new, |p| p.to_string())), m),
        ];
        if let Some(first) = self.first_used_at {
            let days = ((first - d.at).max(0) / 86_400_000_000).min(MAX_DELAY_DAYS);
            let mut one = [0; MEASURES.len()];
            one[N] = 1;
            out.push((key(dims::DELAY, format!("{days:04}")), one));
        }
        out
    }
}

/// The département of an INSEE commune code (from the reference data, else from the code).
pub(crate) fn departement_of(insee: &str) -> String {
    match issuer::territory::commune(insee) {
        Some(c) => c.departement.clone(),
        None if insee.starts_with("97") => insee.chars().take(3).collect(),
        None => insee.chars().take(2).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> BookState {
        BookState {
            order_id: 7,
            vouchers: 10,
            face: 1000,
            distribution: None,
            prescriber_id: Some(3),
            first_used_at: None,
            first_site_id: None,
            used_vouchers: 0,
            used_value: 0,
        }
    }

    #[test]
    fn a_book_counts_in_its_cohort_once_handed_over() {
        let mut s = state();
        assert!(s.contribution().is_empty(), "not handed over: no cohort");
        let day = 86_400_000_000;
        let at = ledger::time::to_micros("2026-09-10T10:00:00Z".parse().unwrap());
        s.distribution =
            Some(Distribution { at, commune: "33063".into(), age_band: "65_74".into(), autonomy: "excluded".into() });
        let c = s.contribution();
        assert_eq!(c.len(), 6, "no delay before first use");
        assert!(c.iter().all(|(k, m)| k.month == "2026-09" && k.site_id == 0 && m[N] == 1 && m[STARTED] == 0));
        assert!(c.iter().any(|(k, _)| k.dim == dims::DEPARTEMENT && k.dim_value == "33"));
        s.used_vouchers = 10;
        s.used_value = 10_000;
        s.first_used_at = Some(at + 3 * day + 5);
        s.first_site_id = Some(42);
        let c = s.contribution();
        let delay = c.iter().find(|(k, _)| k.dim == dims::DELAY).unwrap();
        assert_eq!(delay.0.dim_value, "0003");
        let total = c.iter().find(|(k, _)| k.dim == dims::TOTAL).unwrap();
        assert_eq!((total.0.site_id, total.1[STARTED], total.1[FINISHED], total.1[USED_VALUE]), (42, 1, 1, 10_000));
        // Used before the recorded hand-over (a clock skew): no negative delay.
        s.first_used_at = Some(at - day);
        assert_eq!(s.contribution().iter().find(|(k, _)| k.dim == dims::DELAY).unwrap().0.dim_value, "0000");
    }

    #[test]
    fn departements_of_communes() {
        assert_eq!(departement_of("33063"), "33");
        assert_eq!(departement_of("2A004"), "2A");
        assert_eq!(departement_of("97411"), "974");
        assert_eq!(departement_of(""), "");
    }
}

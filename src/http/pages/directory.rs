//! Where each working page lives: its address, its title, the function that builds it.

use crate::http::pages::console::Builder;
use crate::http::pages::{
    audit, books, catalogue, dashboard, ledger, members, orders, organisations, outbox, redemptions, settlements, sites,
};

/// (address pattern, title, builder); `{id}` parts are passed to the builder as `id`.
const PAGES: &[(&str, &str, Builder)] = &[
    ("/commandes", "Commandes", |s, w, q| Box::pin(orders::list(s, w, q))),
    ("/commandes/{id}", "Commande", |s, w, q| Box::pin(orders::detail(s, w, q))),
    ("/carnets", "Carnets", |s, w, q| Box::pin(books::list(s, w, q))),
    ("/organisations", "Financeurs et prescripteurs", |s, w, q| Box::pin(organisations::list(s, w, q))),
    ("/lieux", "Lieux de médiation", |s, w, q| Box::pin(sites::list(s, w, q))),
    ("/lieux/{id}", "Lieu de médiation", |s, w, q| Box::pin(sites::detail(s, w, q))),
    ("/catalogue", "Catalogue des services", |s, w, q| Box::pin(catalogue::list(s, w, q))),
    ("/reglements", "Règlements", |s, w, q| Box::pin(settlements::list(s, w, q))),
    ("/reglements/{id}", "Règlement", |s, w, q| Box::pin(settlements::detail(s, w, q))),
    ("/grand-livre", "Grand livre", |s, w, q| Box::pin(ledger::balance(s, w, q))),
    ("/releve", "Relevé de compte", |s, w, q| Box::pin(ledger::statement(s, w, q))),
    ("/journal", "Journal d'audit", |s, w, q| Box::pin(audit::trail(s, w, q))),
    ("/courriels", "Courriels", |s, w, q| Box::pin(outbox::list(s, w, q))),
    ("/anomalies", "Anomalies", |s, w, q| Box::pin(audit::anomalies(s, w, q))),
    ("/membres", "Membres", |s, w, q| Box::pin(members::list(s, w, q))),
    ("/passages", "Passages enregistrés", |s, w, q| Box::pin(redemptions::history(s, w, q))),
    ("/versements", "Versements et relevés", |s, w, q| Box::pin(redemptions::payouts(s, w, q))),
    ("/tableau-de-bord", "Tableau de bord", |s, w, q| Box::pin(dashboard::show(s, w, q))),
];

/// A page found at an address: its title, its builder, the values of its `{…}` parts.
pub type Found = (&'static str, Builder, Vec<(String, String)>);

/// The page at `path`.
pub fn find(path: &str) -> Option<Found> {
    let path = path.trim_end_matches('/');
    PAGES.iter().find_map(|(pattern, title, build)| {
        let mut params = Vec::new();
        let (mut want, mut got) = (pattern.split('/'), path.split('/'));
        loop {
            match (want.next(), got.next()) {
                (None, None) => return Some((*title, *build, params)),
                (Some(w), Some(g)) if w.starts_with('{') => {
                    if g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()) || g.len() > 18 {
                        return None;
                    }
                    params.push((w.trim_matches(['{', '}']).to_owned(), g.to_owned()));
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return None,
            }
        }
    })
}

/// Every page address (for the router).
pub fn patterns() -> impl Iterator<Item = &'static str> {
    PAGES.iter().map(|(p, _, _)| *p)
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_match_with_their_parts() {
        let (title, _, params) = super::find("/commandes/42").unwrap();
        assert_eq!(title, "Commande");
        assert_eq!(params, vec![("id".to_owned(), "42".to_owned())]);
        assert!(super::find("/commandes/abc").is_none());
        assert!(super::find("/commandes/1/2").is_none());
        assert_eq!(super::find("/commandes/").unwrap().0, "Commandes");
        assert!(super::find("/inconnu").is_none());
    }
}

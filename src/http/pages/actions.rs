//! Every action of the working pages, by the name its form posts (`act`): each reads its form
//! into the use case's typed input and calls the use case as the signed-in person. The use case
//! checks the policy table itself, so a page never lets anyone do what their API token could
//! not.

use crate::app::{App, AppError, Caller};
use crate::http::pages::form::Fields;
use crate::http::pages::{audit, books, catalogue, ledger, members, orders, organisations, settlements, sites};
use futures_util::future::BoxFuture;

/// What an action did, said in French; a value shown once (a one-time password) apart.
pub struct Done {
    pub text: String,
    pub secret: Option<String>,
}

impl Done {
    pub fn said(text: impl Into<String>) -> Done {
        Done { text: text.into(), secret: None }
    }
}

/// An action's outcome: done, or why not in one French sentence.
pub type Outcome = Result<Done, String>;

type Run = for<'a> fn(&'a App, &'a Caller, &'a Fields) -> BoxFuture<'a, Outcome>;

const ACTIONS: &[(&str, Run)] = &[
    ("order.create", |a, c, f| Box::pin(orders::create(a, c, f))),
    ("order.confirm", |a, c, f| Box::pin(orders::confirm(a, c, f))),
    ("order.cancel", |a, c, f| Box::pin(orders::cancel(a, c, f))),
    ("order.issue", |a, c, f| Box::pin(orders::issue(a, c, f))),
    ("order.block", |a, c, f| Box::pin(orders::block(a, c, f))),
    ("books.assign", |a, c, f| Box::pin(orders::assign(a, c, f))),
    ("book.cancel", |a, c, f| Box::pin(books::cancel(a, c, f))),
    ("service.save", |a, c, f| Box::pin(catalogue::save(a, c, f))),
    ("service.retire", |a, c, f| Box::pin(catalogue::retire(a, c, f))),
    ("funder.create", |a, c, f| Box::pin(organisations::create_funder(a, c, f))),
    ("prescriber.create", |a, c, f| Box::pin(organisations::create_prescriber(a, c, f))),
    ("payment.record", |a, c, f| Box::pin(organisations::record_payment(a, c, f))),
    ("site.create", |a, c, f| Box::pin(sites::create(a, c, f))),
    ("sites.import", |a, c, f| Box::pin(sites::import(a, c, f))),
    ("site.decide", |a, c, f| Box::pin(sites::decide(a, c, f))),
    ("site.add_place", |a, c, f| Box::pin(sites::add_place(a, c, f))),
    ("site.services", |a, c, f| Box::pin(sites::set_services(a, c, f))),
    ("site.bank_account", |a, c, f| Box::pin(sites::set_bank_account(a, c, f))),
    ("member.invite", |a, c, f| Box::pin(members::invite(a, c, f))),
    ("member.reset_password", |a, c, f| Box::pin(members::reset_password(a, c, f))),
    ("funder.bank_account", |a, c, f| Box::pin(ledger::set_funder_account(a, c, f))),
    ("anomaly.dismiss", |a, c, f| Box::pin(audit::dismiss(a, c, f))),
    ("settlement.prepare", |a, c, f| Box::pin(settlements::prepare(a, c, f))),
    ("settlement.release", |a, c, f| Box::pin(settlements::release(a, c, f))),
    ("settlement.cancel", |a, c, f| Box::pin(settlements::cancel(a, c, f))),
    ("payout.confirm", |a, c, f| Box::pin(settlements::confirm(a, c, f))),
    ("payout.return", |a, c, f| Box::pin(settlements::record_return(a, c, f))),
];

/// The action named `name`, if there is one.
pub fn find(name: &str) -> Option<Run> {
    ACTIONS.iter().find(|(n, _)| *n == name).map(|(_, run)| *run)
}

/// A use case's refusal in one French sentence (the detail of its problem document).
pub fn say(e: AppError) -> String {
    crate::http::problem::sentence(e)
}

#[cfg(test)]
mod tests {
    #[test]
    fn action_names_are_unique() {
        let mut names: Vec<&str> = super::ACTIONS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}

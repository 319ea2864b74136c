//! The rows of the access matrix: every route template and the answer each person gets.

use reqwest::Method;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    Ok,
    Forbidden,
    Hidden,
}
pub use Expect::*;

/// One row: a route template, how to call it, and the expected answer for each person.
pub struct Case {
    pub method: Method,
    pub template: &'static str,
    pub expect: fn(&str) -> Expect,
}

fn is_op(who: &str) -> bool {
    who.starts_with("operator")
}
fn is_manager(who: &str) -> bool {
    who.ends_with("manager")
}

pub fn cases() -> Vec<Case> {
    vec![
        Case { method: Method::GET, template: "/api/v1/me", expect: |_| Ok },
        Case {
            method: Method::GET,
            template: "/api/v1/organisations",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::POST,
            template: "/api/v1/organisations",
            expect: |w| {
                if w == "operator_manager" { Ok } else { Forbidden }
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/organisations/{id}",
            expect: |w| {
                if is_op(w) || w.starts_with("funder_a") { Ok } else { Hidden }
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/organisations/{id}/users",
            expect: |w| match w {
                _ if is_op(w) => Ok,
                "funder_a_manager" => Ok,
                _ if is_manager(w) => Hidden,
                _ => Forbidden,
            },
        },
        Case {
            method: Method::POST,
            template: "/api/v1/organisations/{id}/users",
            expect: |w| match w {
                "operator_manager" | "funder_a_manager" => Ok,
                _ if is_manager(w) && !is_op(w) => Hidden,
                _ => Forbidden,
            },
        },
        Case { method: Method::GET, template: "/api/v1/tokens", expect: |_| Ok },
        Case { method: Method::POST, template: "/api/v1/tokens", expect: |_| Ok },
        // The token belongs to funder_a_manager: nobody else can even see it.
        Case {
            method: Method::DELETE,
            template: "/api/v1/tokens/{id}",
            expect: |w| if w == "funder_a_manager" { Ok } else { Hidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/ledger/trial-balance",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/ledger/verify",
            expect: |w| {
                if w == "operator_manager" { Ok } else { Forbidden }
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/ledger/accounts/{code}/statement",
            expect: |w| match w {
                _ if is_op(w) || w.starts_with("funder_a") => Ok,
                _ if w.starts_with("prescriber") => Forbidden,
                _ => Hidden,
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/audit",
            expect: |w| {
                if is_op(w) || is_manager(w) { Ok } else { Forbidden }
            },
        },
        Case { method: Method::GET, template: "/api/v1/funders", expect: |w| if is_op(w) { Ok } else { Forbidden } },
        Case { method: Method::POST, template: "/api/v1/funders", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/funders/{id}", expect: funder_a_view },
        Case { method: Method::PATCH, template: "/api/v1/funders/{id}", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/funders/{id}/payments", expect: funder_a_view },
        Case { method: Method::POST, template: "/api/v1/funders/{id}/payments", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/funders/{id}/position", expect: funder_a_view },
        Case { method: Method::GET, template: "/api/v1/funders/{id}/expiring", expect: funder_a_view },
        Case {
            method: Method::POST,
            template: "/api/v1/orders/{id}/block",
            expect: |w| match w {
                "operator_manager" | "funder_a_manager" => Ok,
                _ if w.starts_with("funder_b") => Hidden,
                _ => Forbidden,
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/prescribers",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case { method: Method::POST, template: "/api/v1/prescribers", expect: op_manager_only },
        Case {
            method: Method::GET,
            template: "/api/v1/prescribers/{id}",
            expect: |w| if is_op(w) || w.starts_with("prescriber") { Ok } else { Forbidden },
        },
        Case { method: Method::PATCH, template: "/api/v1/prescribers/{id}", expect: op_manager_only },
        Case {
            method: Method::GET,
            template: "/api/v1/orders",
            expect: |w| if is_op(w) || w.starts_with("funder") { Ok } else { Forbidden },
        },
        Case { method: Method::POST, template: "/api/v1/orders", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/orders/{id}", expect: funder_a_view },
        Case { method: Method::POST, template: "/api/v1/orders/{id}/confirm", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/orders/{id}/cancel", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/orders/{id}/issue", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/orders/{id}/books.pdf", expect: funder_a_view },
        Case { method: Method::GET, template: "/api/v1/books", expect: book_view },
        Case { method: Method::GET, template: "/api/v1/books/{serial}", expect: book_view },
        Case {
            method: Method::POST,
            template: "/api/v1/books/assign",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case { method: Method::POST, template: "/api/v1/books/{serial}/cancel", expect: book_view },
        Case {
            method: Method::POST,
            template: "/api/v1/distributions",
            expect: |w| match w {
                _ if w.starts_with("prescriber") => Ok,
                _ if is_op(w) => Hidden,
                _ => Forbidden,
            },
        },
        Case { method: Method::GET, template: "/api/v1/vouchers/{code}", expect: |_| Ok },
        Case { method: Method::GET, template: "/api/v1/catalogue", expect: |_| Ok },
        Case { method: Method::POST, template: "/api/v1/catalogue", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/catalogue/{code}/retire", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/sites", expect: |w| if is_op(w) { Ok } else { Forbidden } },
        Case { method: Method::POST, template: "/api/v1/sites", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/sites/import", expect: op_manager_only },
        Case {
            method: Method::GET,
            template: "/api/v1/sites/{id}",
            expect: |w| match w {
                _ if is_op(w) || w.starts_with("site_a") => Ok,
                _ if w.starts_with("site") => Hidden,
                _ => Forbidden,
            },
        },
        Case { method: Method::POST, template: "/api/v1/sites/{id}/places", expect: site_a_management },
        Case { method: Method::PUT, template: "/api/v1/sites/{id}/services", expect: site_a_management },
        Case { method: Method::PUT, template: "/api/v1/sites/{id}/bank-account", expect: site_a_management },
        Case { method: Method::POST, template: "/api/v1/sites/{id}/accreditation", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/sites/{id}/verify", expect: site_a_scan },
        Case { method: Method::POST, template: "/api/v1/sites/{id}/redemptions", expect: site_a_scan },
        Case { method: Method::POST, template: "/api/v1/sites/{id}/redemptions/batch", expect: site_a_scan },
        Case { method: Method::POST, template: "/api/v1/users/{id}/password-reset", expect: op_manager_only },
        Case { method: Method::GET, template: "/api/v1/anomalies", expect: |w| if is_op(w) { Ok } else { Forbidden } },
        Case {
            method: Method::POST,
            template: "/api/v1/anomalies/{id}/dismiss",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/invoices",
            expect: |w| if is_op(w) || w.starts_with("funder") { Ok } else { Forbidden },
        },
        Case { method: Method::GET, template: "/api/v1/invoices/{id}/pdf", expect: funder_a_view },
        Case {
            method: Method::GET,
            template: "/api/v1/settlements",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case { method: Method::POST, template: "/api/v1/settlements", expect: op_manager_only },
        Case {
            method: Method::GET,
            template: "/api/v1/settlements/{id}",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case { method: Method::POST, template: "/api/v1/settlements/{id}/release", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/settlements/{id}/cancel", expect: op_manager_only },
        Case {
            method: Method::GET,
            template: "/api/v1/settlements/{id}/sepa.xml",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/settlements/{id}/report.pdf",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/settlements/{id}/statements/{site}",
            expect: |w| match w {
                _ if is_op(w) || w.starts_with("site_a") => Ok,
                _ if w.starts_with("site") => Hidden,
                _ => Forbidden,
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/funders/{id}/settlements/{run}/sepa.xml",
            expect: funder_a_view,
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/funders/{id}/bank-account",
            expect: |w| match w {
                _ if is_op(w) => Ok,
                "funder_a_manager" => Ok,
                _ if is_manager(w) => Hidden,
                _ => Forbidden,
            },
        },
        Case { method: Method::POST, template: "/api/v1/payouts/{id}/confirm", expect: op_manager_only },
        Case { method: Method::POST, template: "/api/v1/payouts/{id}/return", expect: op_manager_only },
        Case {
            method: Method::GET,
            template: "/api/v1/statistics",
            expect: |w| if w.starts_with("prescriber") { Forbidden } else { Ok },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/statistics/tables/{dimension}",
            expect: |w| if w.starts_with("prescriber") { Forbidden } else { Ok },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/statistics/tables/{dimension}/csv",
            expect: |w| if w.starts_with("prescriber") { Forbidden } else { Ok },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/statistics/report.pdf",
            expect: |w| if is_op(w) || w.starts_with("funder") { Ok } else { Forbidden },
        },
        Case { method: Method::GET, template: "/api/v1/open-data/communes.csv", expect: |_| Ok },
        Case {
            method: Method::GET,
            template: "/api/v1/sites/{id}/redemptions",
            expect: |w| match w {
                _ if is_op(w) || w.starts_with("site_a") => Ok,
                _ if w.starts_with("site") => Hidden,
                _ => Forbidden,
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/sites/{id}/payouts",
            expect: |w| match w {
                _ if is_op(w) || w.starts_with("site_a") => Ok,
                _ if w.starts_with("site") => Hidden,
                _ => Forbidden,
            },
        },
    ]
}

/// Managing site A: the operator's managers and site A's manager; site B's manager is told it
/// does not exist.
fn site_a_management(w: &str) -> Expect {
    match w {
        "operator_manager" | "site_a_manager" => Ok,
        "site_b_manager" => Hidden,
        _ => Forbidden,
    }
}

/// Scanning at site A: its own members only.
fn site_a_scan(w: &str) -> Expect {
    match w {
        _ if w.starts_with("site_a") => Ok,
        _ if w.starts_with("site") => Hidden,
        _ => Forbidden,
    }
}

fn op_manager_only(w: &str) -> Expect {
    if w == "operator_manager" { Ok } else { Forbidden }
}

/// Funder A's own objects: the operator and funder A see them; funder B is told they do not
/// exist; other kinds are refused.
fn funder_a_view(w: &str) -> Expect {
    match w {
        _ if is_op(w) || w.starts_with("funder_a") => Ok,
        _ if w.starts_with("funder") => Hidden,
        _ => Forbidden,
    }
}

/// A book of an order funded by funder A, held by the prescriber.
fn book_view(w: &str) -> Expect {
    match w {
        _ if is_op(w) || w.starts_with("funder_a") || w.starts_with("prescriber") => Ok,
        _ if w.starts_with("funder") => Hidden,
        _ => Forbidden,
    }
}

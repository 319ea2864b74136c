//! Server-rendered pages in French: signing in and the home page (`account`), the public voucher
//! check reached from the QR code (`check`), the prescriber's hand-over (`handover`), the site's
//! scan page (`scan`), and the working pages of each role (`console` builds them on the API;
//! `directory` lists them; one module per subject).

pub mod account;
pub mod actions;
pub mod audit;
pub mod books;
pub mod catalogue;
pub mod check;
pub mod console;
pub mod dashboard;
pub mod directory;
pub mod documents;
pub mod form;
pub mod format;
pub mod handover;
pub mod ledger;
pub mod members;
pub mod orders;
pub mod organisations;
pub mod outbox;
pub mod recovery;
pub mod redemptions;
pub mod scan;
pub mod settlements;
pub mod sites;

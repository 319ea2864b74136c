//! Server-rendered pages in French: signing in and the home page (`account`), the public voucher
//! check reached from the QR code (`check`).

pub mod account;
pub mod check;
pub mod handover;
pub mod scan;

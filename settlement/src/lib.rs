//! Paying sites (DESIGN §8): settlement runs and their payouts, SEPA credit transfer files.

pub mod charset;
pub mod runs;
pub mod sepa;
pub mod statement;

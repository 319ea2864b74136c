//! The access matrix of `tests/api_access.rs`: its rows (`cases`) and how each is called
//! (`calls`).

pub mod calls;
pub mod cases;

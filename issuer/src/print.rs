//! Print-ready voucher books (PDF). Being written.

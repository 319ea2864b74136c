//! Server-rendered pages in French. For now: the public voucher check reached from the QR code.

pub mod check;

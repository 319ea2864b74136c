//! Transactional email. A change that calls for a message writes it to the outbox
//! ([`outbox::enqueue`]) in its own database transaction, so the message exists exactly when the
//! change committed; the sender ([`sender`]) delivers what is due through the transport
//! ([`transport`]: SMTP, or `.eml` files when no server is configured), at least once, with the
//! stored id as Message-ID so that a redelivery can be recognised; [`messages`] writes the French
//! texts.

pub mod messages;
pub mod outbox;
pub mod sender;
pub mod transport;

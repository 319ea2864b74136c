//! A request id on every request: taken from the client's `x-request-id` header when it is a
//! sane token, generated otherwise. Every log line of the request carries it (a `tracing` span
//! around the request), every answer returns it in its `x-request-id` header, and every problem
//! document names it in `request_id`, so a person can quote it and the operator find the logs.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries the id, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a client.
pub const MAX_LEN: usize = 64;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered, inside the middleware's scope.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The client's id if it is 1 to 64 characters of `A-Z a-z 0-9 . _ -` (nothing that could
/// forge a log line or a header).
fn sane(value: &HeaderValue) -> Option<&str> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(s)
}

/// A fresh id: 16 random bytes in hexadecimal.
fn generate() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The middleware: the id, its span, its header on the way in (for the handlers) and out.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id = request.headers().get(&HEADER).and_then(sane).map_or_else(generate, str::to_owned);
    // Only [A-Za-z0-9._-] from here on: always a valid header value.
    let value = HeaderValue::from_str(&id).expect("a sane request id is a valid header value");
    request.headers_mut().insert(HEADER, value.clone());
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = REQUEST_ID.scope(id, next.run(request).instrument(span)).await;
    response.headers_mut().insert(HEADER, value);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_taken() {
        let ok = |s: &str| sane(&HeaderValue::from_str(s).unwrap()).map(str::to_owned);
        assert_eq!(ok("abc-DEF_012.3").as_deref(), Some("abc-DEF_012.3"));
        assert_eq!(ok(&"a".repeat(64)).map(|s| s.len()), Some(64));
        for bad in ["", "a b", "a\tb", "é", "a/b", "a;b", "{x}", &"a".repeat(65)] {
            let value = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            assert_eq!(sane(&value), None, "{bad:?}");
        }
        assert_eq!(sane(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()), None);
        let id = generate();
        assert_eq!(id.len(), 32);
        assert!(sane(&HeaderValue::from_str(&id).unwrap()).is_some());
    }
}

//! Which browser origins may talk to `/rt` and `/raw/`, and the CORS answers that follow.
//!
//! Browsers attach `Origin` to every cross-origin request and to every WebSocket handshake; a
//! request from a page we do not trust is refused with `403` before any handler runs, so a foreign
//! page can neither read our answers nor cause side effects (cross-site WebSocket hijacking).
//! Requests without `Origin` (same-origin GETs, non-browser clients) pass: there is nothing to check.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The allowed origins.
///
/// An origin is allowed when it is in the `--allow-origin` list (or the list holds `*`), when the
/// list is empty and the origin is a loopback one (`http(s)://127.0.0.1`, `localhost`, `[::1]`,
/// any port), or when it names the very host the request was sent to (a same-origin request, e.g.
/// the demo page's own POSTs, is never cross-origin whatever the list says).
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    listed: Vec<String>,
    any: bool,
}

impl OriginPolicy {
    /// Builds the policy from `--allow-origin` values (already [validated](Self::validate)).
    pub fn new(listed: &[String]) -> OriginPolicy {
        OriginPolicy {
            any: listed.iter().any(|o| o == "*"),
            listed: listed.iter().map(|o| normalize(o)).collect(),
        }
    }

    /// Checks that `origin` has the shape browsers send: `scheme://host[:port]`, or `*`.
    pub fn validate(origin: &str) -> Result<(), &'static str> {
        if origin == "*" {
            return Ok(());
        }
        let (scheme, authority) = split(origin).ok_or("expected scheme://host[:port]")?;
        if scheme.is_empty() || authority.is_empty() {
            return Err("expected scheme://host[:port]");
        }
        if authority.contains(['/', '?', '#', '@']) {
            return Err("an origin has no path, query or user");
        }
        Ok(())
    }

    /// Whether a page at `origin` may use the server; `host` is the request's `Host` header.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = normalize(origin);
        if self.any || self.listed.contains(&origin) {
            return true;
        }
        let Some((scheme, authority)) = split(&origin) else {
            return false;
        };
        let web = scheme == "http" || scheme == "https";
        if web && host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
            return true;
        }
        self.listed.is_empty() && web && is_loopback(authority)
    }
}

/// Lower-cases and drops a trailing `/`, so `HTTP://LocalHost:80/` compares like browsers send it.
fn normalize(origin: &str) -> String {
    origin.trim_end_matches('/').to_ascii_lowercase()
}

/// `scheme://authority` into its two parts.
fn split(origin: &str) -> Option<(&str, &str)> {
    origin.split_once("://")
}

fn is_loopback(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Middleware applying the policy: `403` for a foreign origin, preflight answers, and CORS headers
/// echoing the (allowed) origin with credentials allowed. `Vary: Origin` goes on every answer so a
/// cache never hands one origin's answer to another.
pub async fn gate(
    State(policy): State<std::sync::Arc<OriginPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
        let mut response = next.run(req).await;
        vary(response.headers_mut(), "Origin");
        return response;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let allowed = origin.to_str().is_ok_and(|o| policy.allows(o, host));
    if !allowed {
        let mut response = (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        vary(response.headers_mut(), "Origin");
        return response;
    }
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(origin, req.headers());
    }
    let mut response = next.run(req).await;
    allow(response.headers_mut(), origin);
    response
}

/// The answer to a CORS preflight from an allowed origin.
fn preflight(origin: HeaderValue, request: &HeaderMap) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow(headers, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    vary(
        headers,
        "Access-Control-Request-Method, Access-Control-Request-Headers",
    );
    response
}

fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    vary(headers, "Origin");
}

fn vary(headers: &mut HeaderMap, value: &'static str) {
    headers.append(header::VARY, HeaderValue::from_static(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default() {
        let policy = OriginPolicy::new(&[]);
        for ok in [
            "http://127.0.0.1:5173",
            "http://localhost",
            "https://[::1]:8443",
            "HTTP://LOCALHOST:1/",
        ] {
            assert!(policy.allows(ok, None), "{ok}");
        }
        for bad in [
            "http://evil.test",
            "http://127.0.0.1.evil.test",
            "null",
            "file://",
            "ftp://localhost",
        ] {
            assert!(!policy.allows(bad, None), "{bad}");
        }
    }

    #[test]
    fn listed_origins_replace_loopback() {
        let policy = OriginPolicy::new(&["https://app.test".to_string()]);
        assert!(policy.allows("https://app.test", None));
        assert!(!policy.allows("http://app.test", None));
        assert!(!policy.allows("http://localhost:3000", None));
    }

    #[test]
    fn same_host_is_not_cross_origin() {
        let policy = OriginPolicy::new(&["https://app.test".to_string()]);
        assert!(policy.allows("http://10.0.0.5:8080", Some("10.0.0.5:8080")));
        assert!(!policy.allows("http://10.0.0.5:8081", Some("10.0.0.5:8080")));
    }

    #[test]
    fn star_allows_all() {
        assert!(OriginPolicy::new(&["*".to_string()]).allows("https://anything.test", None));
    }

    #[test]
    fn validation() {
        assert!(OriginPolicy::validate("http://a.test:1").is_ok());
        assert!(OriginPolicy::validate("a.test").is_err());
        assert!(OriginPolicy::validate("http://a.test/path").is_err());
    }
}

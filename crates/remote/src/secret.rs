//! Service URLs that never show their password.

use std::fmt;

/// A connection URL (or PostgreSQL `key=value` string) whose password is hidden by `Debug`
/// and `Display`: `postgres://ringbus:***@db:5432/ringbus`. Use [`ServiceUrl::expose`] only
/// to connect.
///
/// ```
/// use ringbus_remote::ServiceUrl;
/// let url = ServiceUrl::new("postgres://ringbus:hunter2@127.0.0.1:55432/ringbus");
/// assert_eq!(url.to_string(), "postgres://ringbus:***@127.0.0.1:55432/ringbus");
/// assert!(!format!("{url:?}").contains("hunter2"));
/// let kv = ServiceUrl::new("host=db user=u password=hunter2 dbname=x");
/// assert_eq!(kv.to_string(), "host=db user=u password=*** dbname=x");
/// assert_eq!(ServiceUrl::new("nats://127.0.0.1:4222").to_string(), "nats://127.0.0.1:4222");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceUrl(String);

impl ServiceUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        ServiceUrl(url.into())
    }

    /// The URL with its password, to hand to a client library. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL(s) without user-info, and the first user-info found: `(user, password)` or
    /// `(token, None)`. The NATS forwarder hands the credentials to the client separately, so
    /// the server address the client may log at debug level holds no secret.
    pub(crate) fn split_credentials(&self) -> (String, Option<(String, Option<String>)>) {
        let mut credentials = None;
        let stripped = self
            .0
            .split(',')
            .map(|part| {
                let Some(start) = part.find("://").map(|i| i + 3) else {
                    return part.to_string();
                };
                let (head, body) = part.split_at(start);
                match body.find('@') {
                    Some(at) if !body[..at].contains('/') => {
                        let info = &body[..at];
                        if credentials.is_none() {
                            credentials = Some(match info.split_once(':') {
                                Some((u, p)) => (u.to_string(), Some(p.to_string())),
                                None => (info.to_string(), None),
                            });
                        }
                        format!("{head}{}", &body[at + 1..])
                    }
                    _ => part.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        (stripped, credentials)
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceUrl({:?})", self.redacted())
    }
}

/// Hides the password of `scheme://user:password@host` URLs (each comma-separated server
/// of a NATS URL list too), a NATS token (`nats://token@host`) and `password=...` pairs.
fn redact(s: &str) -> String {
    if s.contains("://") {
        return s
            .split(',')
            .map(|part| {
                let body_start = part.find("://").map_or(0, |i| i + 3);
                let (head, body) = part.split_at(body_start);
                let at = body.find('@');
                let colon = body.find(':');
                match (colon, at) {
                    (Some(c), Some(a)) if c < a => {
                        format!("{head}{}:***{}", &body[..c], &body[a..])
                    }
                    // A NATS URL's lone user-info is a token: a secret too.
                    (_, Some(a)) if !head.starts_with("postgres") => {
                        format!("{head}***{}", &body[a..])
                    }
                    _ => part.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(",");
    }
    s.split(' ')
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***".to_string()
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_are_split_off() {
        let u = super::ServiceUrl::new("nats://a:b@h:1,nats://h:2");
        assert_eq!(
            u.split_credentials(),
            (
                "nats://h:1,nats://h:2".into(),
                Some(("a".into(), Some("b".into())))
            )
        );
        let t = super::ServiceUrl::new("nats://tok@h:1");
        assert_eq!(
            t.split_credentials(),
            ("nats://h:1".into(), Some(("tok".into(), None)))
        );
        let n = super::ServiceUrl::new("nats://h:1");
        assert_eq!(n.split_credentials(), ("nats://h:1".into(), None));
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("nats://a:b@h:1,nats://c:d@h:2"),
            "nats://a:***@h:1,nats://c:***@h:2"
        );
        assert_eq!(redact("nats://token@h:1"), "nats://***@h:1");
        assert_eq!(redact("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h:5432/db"), "postgres://h:5432/db");
        assert_eq!(redact("password=x host=y"), "password=*** host=y");
    }
}

//! Service URLs that never show their password.

use std::fmt;

/// A connection URL (or PostgreSQL `key=value` string) whose password is hidden by `Debug`
/// and `Display`: `postgres://ringbus:***@db:5432/ringbus`. Use [`ServiceUrl::expose`] only
/// to connect.
///
/// A PostgreSQL string (a `postgres://` or `postgresql://` URL, or `key=value` pairs) is
/// parsed with the client library's own parser and shown from the parsed form: user, hosts,
/// ports and database, never the password, whichever way it was given (user-info, a
/// `?password=` query parameter, a quoted value, spaces around `=`). One that does not parse
/// is not shown at all.
///
/// ```
/// use ringbus_remote::ServiceUrl;
/// let url = ServiceUrl::new("postgres://ringbus:hunter2@127.0.0.1:55432/ringbus");
/// assert_eq!(url.to_string(), "postgres://ringbus:***@127.0.0.1:55432/ringbus");
/// assert!(!format!("{url:?}").contains("hunter2"));
/// let kv = ServiceUrl::new("host=db user=u password = 'hunter 2' dbname=x");
/// assert_eq!(kv.to_string(), "postgres://u:***@db/x");
/// let query = ServiceUrl::new("postgres://u@h/db?password=hunter2");
/// assert_eq!(query.to_string(), "postgres://u:***@h:5432/db");
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

/// Whether `s` is a PostgreSQL connection string: a `postgres(ql)://` URL or `key=value` pairs.
fn is_postgres(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://") || !s.contains("://")
}

/// A PostgreSQL connection string shown from its parsed form, without the password.
fn redact_postgres(s: &str) -> String {
    use postgres::config::Host;
    let Ok(config) = s.parse::<postgres::Config>() else {
        return "<a PostgreSQL connection string that does not parse>".to_string();
    };
    let mut out = String::from("postgres://");
    let password = config.get_password().is_some();
    match (config.get_user(), password) {
        (Some(user), true) => out.push_str(&format!("{user}:***@")),
        (Some(user), false) => out.push_str(&format!("{user}@")),
        (None, true) => out.push_str(":***@"),
        (None, false) => {}
    }
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            // One port for every host, or one per host.
            match ports.get(i).or(if ports.len() == 1 {
                ports.first()
            } else {
                None
            }) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    out.push_str(&hosts.join(","));
    if let Some(db) = config.get_dbname() {
        out.push('/');
        out.push_str(db);
    }
    out
}

/// Hides the password of a connection string: PostgreSQL ones through the client's parser
/// ([`redact_postgres`]); for other URLs the password of `scheme://user:password@host` (each
/// comma-separated server of a NATS URL list too) and a NATS token (`nats://token@host`).
fn redact(s: &str) -> String {
    if is_postgres(s) {
        return redact_postgres(s);
    }
    s.split(',')
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
        .join(",")
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
        assert_eq!(redact("postgresql://u@h/db"), "postgres://u@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h:5432/db");
        assert_eq!(redact("postgres://h:5432/db"), "postgres://h:5432/db");
        assert_eq!(redact("password=x host=y"), "postgres://:***@y");
    }

    /// Every form the PostgreSQL client accepts a password in, and strings it refuses: the
    /// password never shows.
    #[test]
    fn no_form_of_a_postgres_password_shows() {
        let cases = [
            (
                "postgres://u:hunter2@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgresql://u:hunter2@h/db", "postgres://u:***@h:5432/db"),
            (
                "postgres://u@h/db?password=hunter2",
                "postgres://u:***@h:5432/db",
            ),
            (
                "postgres://h/db?user=u&password=hunter2",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://u:hun%74er2@h/db", "postgres://u:***@h:5432/db"),
            (
                "postgres://u:hunter2@h1:1,h2:2/db",
                "postgres://u:***@h1:1,h2:2/db",
            ),
            (
                "host=h user=u password=hunter2 dbname=db",
                "postgres://u:***@h/db",
            ),
            (
                "host=h user=u password = hunter2 dbname=db",
                "postgres://u:***@h/db",
            ),
            (
                "host=h user=u password='hunter2' dbname=db",
                "postgres://u:***@h/db",
            ),
            (
                "host=h user=u password='hun ter2' dbname=db",
                "postgres://u:***@h/db",
            ),
            ("host=h password=hunter2\\x user=u", "postgres://u:***@h"),
            ("host=h port=5433 user=u", "postgres://u@h:5433"),
        ];
        for (input, shown) in cases {
            let out = redact(input);
            assert_eq!(out, shown, "{input}");
            assert!(
                !out.contains("hunter") && !out.contains("ter2"),
                "{input} -> {out}"
            );
        }
        for bad in [
            "postgres://u:hunter2@h:notaport/db",
            "host=h password='hunter2",
            "postgres://u:hunter2@h/db?sslmode=sideways",
        ] {
            let out = redact(bad);
            assert!(!out.contains("hunter2"), "{bad} -> {out}");
            assert!(out.contains("does not parse"), "{bad} -> {out}");
        }
    }
}

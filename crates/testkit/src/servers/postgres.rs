//! PostgreSQL for the tests: the server named by `RINGBUS_TEST_POSTGRES_URL`, or a cluster of
//! the run's own on a free port.

use super::programs::Programs;
use super::run_dir::RunDir;
use super::tls::TlsFiles;
use super::{execute, free_port, log_tail, StartError};
use ringbus_remote::ServiceUrl;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use url::Url;

/// A PostgreSQL server the tests may create databases on.
#[derive(Debug)]
pub struct Postgres {
    /// The admin database, as a role that may create databases.
    admin: Url,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// For a server the tests started: how to restart it.
    control: Option<PgControl>,
}

/// What restarts a PostgreSQL server the tests started.
#[derive(Debug)]
pub struct PgControl {
    pg_ctl: PathBuf,
    data: PathBuf,
    log: PathBuf,
    /// As root, PostgreSQL runs as this user (uid, gid): it refuses to run as root.
    server_user: Option<(u32, u32)>,
}

/// The test role and its password: test credentials for a loopback-only server.
const ROLE: &str = "ringbus";

impl Postgres {
    /// The server named by `url` (an admin URL), whose certificate `ca` signed.
    pub(crate) fn named(url: &str, ca: PathBuf) -> Result<Self, StartError> {
        let admin = Url::parse(url).map_err(|e| StartError::Environment {
            name: super::ENV_POSTGRES_URL,
            problem: format!("not a postgres:// URL: {e}"),
        })?;
        if !matches!(admin.scheme(), "postgres" | "postgresql") {
            return Err(StartError::Environment {
                name: super::ENV_POSTGRES_URL,
                problem: "not a postgres:// URL".into(),
            });
        }
        Ok(Postgres {
            admin,
            ca,
            control: None,
        })
    }

    /// A cluster of the run's own (in `<run>/pg`), started on a free port, with TLS on and
    /// the database `ringbus` of the superuser `ringbus`.
    pub(crate) fn start(run: &RunDir, programs: &Programs) -> Result<Self, StartError> {
        let tls = run.tls(&programs.openssl)?;
        let dir = run.path().join("pg");
        std::fs::create_dir(&dir).map_err(io("creating the PostgreSQL directory"))?;
        let control = PgControl {
            pg_ctl: programs.pg_bin.join("pg_ctl"),
            data: dir.join("data"),
            log: dir.join("server.log"),
            server_user: server_user()?,
        };
        control.give_to_server(&dir)?;
        control.init(&programs.pg_bin.join("initdb"), &tls)?;

        // A free port can be taken by another process before PostgreSQL binds it: try again.
        let mut failure = None;
        for _ in 0..3 {
            let port = free_port()?;
            match control.start(port) {
                Ok(()) => {
                    create_database(port)?;
                    let admin =
                        Url::parse(&format!("postgres://{ROLE}:{ROLE}@127.0.0.1:{port}/{ROLE}"))
                            .expect("a valid URL");
                    return Ok(Postgres {
                        admin,
                        ca: tls.ca,
                        control: Some(control),
                    });
                }
                Err(e) => failure = Some(e),
            }
        }
        Err(failure.expect("three attempts"))
    }

    /// The URL of `database` with this `sslmode` (`disable`, `prefer`, `require`).
    pub fn url(&self, database: &str, sslmode: &str) -> ServiceUrl {
        let mut url = self.admin.clone();
        url.set_path(&format!("/{database}"));
        let others: Vec<(String, String)> = self
            .admin
            .query_pairs()
            .filter(|(k, _)| k != "sslmode")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(others)
            .append_pair("sslmode", sslmode);
        ServiceUrl::new(url.to_string())
    }

    /// [`Postgres::url`] with another password.
    pub fn url_with_password(&self, database: &str, password: &str, sslmode: &str) -> ServiceUrl {
        let mut url = Url::parse(self.url(database, sslmode).expose()).expect("made above");
        url.set_password(Some(password)).expect("a URL with a host");
        ServiceUrl::new(url.to_string())
    }

    /// The database of the admin URL.
    pub fn admin_database(&self) -> &str {
        match self.admin.path().trim_start_matches('/') {
            "" => self.admin.username(),
            db => db,
        }
    }

    /// A plain connection to the admin database.
    pub fn admin(&self) -> postgres::Client {
        let url = self.url(self.admin_database(), "disable");
        postgres::Client::connect(url.expose(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {url}: {e:?}"))
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> &Path {
        &self.ca
    }

    /// How to restart the server, if the tests started it.
    pub fn control(&self) -> Option<&PgControl> {
        self.control.as_ref()
    }
}

impl PgControl {
    /// `program`, as the server's user.
    fn command(&self, program: &Path) -> Command {
        match self.server_user {
            None => Command::new(program),
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
        }
    }

    /// As root, makes `path` the server user's.
    fn give_to_server(&self, path: &Path) -> Result<(), StartError> {
        match self.server_user {
            Some((uid, gid)) => {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io("chown"))
            }
            None => Ok(()),
        }
    }

    /// A new cluster in `data`: superuser `ringbus` (password authentication over TCP), TLS
    /// with the run's certificate, loopback only, no Unix socket, no fsync.
    fn init(&self, initdb: &Path, tls: &TlsFiles) -> Result<(), StartError> {
        let password = self.data.with_file_name("password");
        std::fs::write(&password, format!("{ROLE}\n")).map_err(io("writing the password"))?;
        self.give_to_server(&password)?;
        execute(
            self.command(initdb)
                .arg("-D")
                .arg(&self.data)
                .args(["-U", ROLE, "--no-sync"])
                .arg(format!("--pwfile={}", password.display()))
                .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
                .args(["-E", "UTF8", "--locale=C.UTF-8"]),
        )?;
        // PostgreSQL wants its key owned by its user, mode 600: copies in the data directory.
        for (from, to) in [
            (&tls.cert, "ringbus-server.crt"),
            (&tls.key, "ringbus-server.key"),
        ] {
            let to = self.data.join(to);
            std::fs::copy(from, &to).map_err(io("copying the server's certificate"))?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                .map_err(io("chmod"))?;
            self.give_to_server(&to)?;
        }
        // fsync off: the cluster lives as long as its test process. A server that crashes (the
        // fault test's immediate restart) still finds every write in the kernel's page cache;
        // only a crash of the machine would lose them. With fsync on, the restart syncs the data
        // directory before recovery and every file since initdb after it: most of its time
        // (docs/decisions/test-servers.md).
        let settings = "\n# ringbus-testkit\n\
            listen_addresses = '127.0.0.1'\n\
            unix_socket_directories = ''\n\
            fsync = off\n\
            ssl = on\n\
            ssl_cert_file = 'ringbus-server.crt'\n\
            ssl_key_file = 'ringbus-server.key'\n";
        std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(io("writing postgresql.conf"))
    }

    fn pg_ctl(&self) -> Command {
        let mut c = self.command(&self.pg_ctl);
        c.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60"]);
        c
    }

    fn start(&self, port: u16) -> Result<(), StartError> {
        execute(self.pg_ctl().args(["-o", &format!("-p {port}"), "start"])).map_err(|e| {
            StartError::Server {
                what: format!("PostgreSQL on port {port}: {e}"),
                log: self.log.clone(),
                tail: log_tail(&self.log),
            }
        })?;
        Ok(())
    }

    /// `pg_ctl restart -m immediate`: the server is killed as in a crash (recovery at the
    /// start), on the same port; returns once it accepts connections again.
    pub fn restart_immediate(&self) {
        if let Err(e) = execute(self.pg_ctl().args(["-m", "immediate", "restart"])) {
            panic!(
                "restarting PostgreSQL: {e}\nits log ({}) ends:\n{}",
                self.log.display(),
                log_tail(&self.log)
            );
        }
    }
}

/// As root, the `postgres` user's uid and gid (PostgreSQL refuses to run as root).
fn server_user() -> Result<Option<(u32, u32)>, StartError> {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32, StartError> {
        let out = execute(Command::new("id").args([flag, "postgres"]))?;
        out.trim().parse().map_err(|_| StartError::Missing {
            missing: "the postgres user".into(),
        })
    };
    Ok(Some((id("-u")?, id("-g")?)))
}

/// An I/O error's mapping, saying what was done.
fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> StartError {
    move |source| StartError::Io {
        what: what.into(),
        source,
    }
}

/// The database `ringbus`, which the admin URL names.
fn create_database(port: u16) -> Result<(), StartError> {
    let config = format!(
        "host=127.0.0.1 port={port} user={ROLE} password={ROLE} dbname=postgres sslmode=disable"
    );
    postgres::Client::connect(&config, postgres::NoTls)
        .and_then(|mut c| c.batch_execute(&format!("CREATE DATABASE {ROLE}")))
        .map_err(|source| StartError::Postgres { port, source })
}

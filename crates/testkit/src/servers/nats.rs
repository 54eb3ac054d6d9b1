//! nats-server with JetStream for the tests: a server named by the environment, or one of the
//! run's own on free ports (plain, or TLS required).

use super::programs::Programs;
use super::run_dir::RunDir;
use super::tls::TlsFiles;
use super::{log_tail, StartError};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// How long a nats-server may take to start (JetStream ready).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A nats-server with JetStream.
#[derive(Debug)]
pub struct Nats {
    url: String,
    /// The CA that signed the certificate of a TLS server.
    ca: Option<PathBuf>,
    control: Option<NatsControl>,
}

/// What kills and starts again a nats-server the tests started.
#[derive(Debug)]
pub struct NatsControl {
    program: PathBuf,
    /// `<run>/nats` or `<run>/nats-tls`: its store, log and ports file.
    dir: PathBuf,
    tls: Option<TlsFiles>,
    port: u16,
    monitor_port: u16,
    child: Mutex<Option<Child>>,
}

impl Nats {
    /// The server named by `url` (TLS required when `ca` is given).
    pub(crate) fn named(url: String, ca: Option<PathBuf>) -> Self {
        Nats {
            url,
            ca,
            control: None,
        }
    }

    /// A server of the run's own (in `<run>/<name>`), on ports the kernel picks: nats-server
    /// binds them itself (`-p -1`) and writes them to its ports file, so no other process can
    /// take them first. With `tls`, TLS is required (nats-server 2.9 has no `allow_non_tls`,
    /// hence a second server rather than a second port).
    pub(crate) fn start(
        run: &RunDir,
        programs: &Programs,
        name: &str,
        tls: bool,
    ) -> Result<Self, StartError> {
        let tls = tls.then(|| run.tls(&programs.openssl)).transpose()?;
        let dir = run.path().join(name);
        std::fs::create_dir(&dir).map_err(|source| StartError::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let mut control = NatsControl {
            program: programs.nats_server.clone(),
            dir,
            tls,
            port: 0,
            monitor_port: 0,
            child: Mutex::new(None),
        };
        let child = control.spawn(None)?;
        let ports = control.wait_for_ports(&child);
        *control.child.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let ready = ports.and_then(|(port, monitor_port)| {
            control.port = port;
            control.monitor_port = monitor_port;
            control.wait_until_ready()
        });
        if let Err(e) = ready {
            control.kill();
            return Err(e);
        }
        let port = control.port;
        let scheme = if control.tls.is_some() { "tls" } else { "nats" };
        Ok(Nats {
            url: format!("{scheme}://127.0.0.1:{port}"),
            ca: control.tls.as_ref().map(|t| t.ca.clone()),
            control: Some(control),
        })
    }

    /// `nats://host:port`, or `tls://host:port` for a TLS server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL with `user:password` in it.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        let mut url = Url::parse(&self.url).expect("a server URL");
        url.set_username(user).expect("a URL with a host");
        url.set_password(Some(password)).expect("a URL with a host");
        url.to_string()
    }

    /// The CA that signed the certificate of a TLS server.
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// How to kill and start the server again, if the tests started it.
    pub fn control(&self) -> Option<&NatsControl> {
        self.control.as_ref()
    }
}

impl NatsControl {
    /// Starts nats-server on `ports` (client, monitoring), or on free ones.
    fn spawn(&self, ports: Option<(u16, u16)>) -> Result<Child, StartError> {
        let (port, monitor) = ports.map_or(("-1".into(), "-1".into()), |(p, m)| {
            (p.to_string(), m.to_string())
        });
        let mut c = Command::new(&self.program);
        c.args(["-a", "127.0.0.1", "-p", &port, "-m", &monitor, "-js"])
            .arg("-sd")
            .arg(self.dir.join("store"))
            .arg("--ports_file_dir")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.log());
        if let Some(tls) = &self.tls {
            c.arg("--tls")
                .arg("--tlscert")
                .arg(&tls.cert)
                .arg("--tlskey")
                .arg(&tls.key);
        }
        // A group of its own, as the watchdog: a Ctrl-C is for the test process alone.
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| StartError::Io {
                what: format!("starting {}", self.program.display()),
                source,
            })
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn not_ready(&self, what: String) -> StartError {
        StartError::Server {
            what,
            log: self.log(),
            tail: log_tail(&self.log()),
        }
    }

    /// The ports `child` bound, from the ports file it writes once it listens.
    fn wait_for_ports(&self, child: &Child) -> Result<(u16, u16), StartError> {
        let file = self.dir.join(format!("nats-server_{}.ports", child.id()));
        let start = Instant::now();
        while start.elapsed() < START_LIMIT {
            if let Some(ports) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| parse_ports(&text))
            {
                return Ok(ports);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(self.not_ready(format!("nats-server wrote no {}", file.display())))
    }

    /// Waits until the monitoring endpoint's `/healthz` (JetStream included) answers 200.
    fn wait_until_ready(&self) -> Result<(), StartError> {
        let start = Instant::now();
        while start.elapsed() < START_LIMIT {
            if healthy(self.monitor_port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(self.not_ready(format!(
            "nats-server on port {} not healthy after {START_LIMIT:?}",
            self.port
        )))
    }

    /// SIGKILL: the server dies as in a crash.
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut c) = child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on its ports, with its store; returns once it is ready.
    pub fn start_again(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        assert!(child.is_none(), "nats-server still runs");
        let started = self
            .spawn(Some((self.port, self.monitor_port)))
            .and_then(|c| {
                *child = Some(c);
                self.wait_until_ready()
            });
        if let Err(e) = started {
            panic!("starting nats-server again: {e}");
        }
    }
}

/// The client and monitoring ports of a ports file:
/// `{"nats":["nats://127.0.0.1:4222"],"monitoring":["http://127.0.0.1:8222"]}`.
fn parse_ports(text: &str) -> Option<(u16, u16)> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let port = |key: &str| -> Option<u16> {
        let url = json.get(key)?.get(0)?.as_str()?;
        url.rsplit_once(':')?.1.parse().ok()
    };
    Some((port("nats")?, port("monitoring")?))
}

fn healthy(monitor_port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], monitor_port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .and_then(|()| stream.read_to_string(&mut answer))
        .is_ok()
        && answer
            .lines()
            .next()
            .is_some_and(|status| status.contains(" 200 "))
}

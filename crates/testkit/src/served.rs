//! A `ringbus` process serving (`--serve 127.0.0.1:0`), as the live node's tests drive it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child started with `--serve` and its stderr piped: the address it said it serves on and
/// its stderr lines still to come. Killed when dropped (a failed assertion included).
#[derive(Debug)]
pub struct Served {
    /// The process.
    pub child: Child,
    /// Where it serves.
    pub addr: SocketAddr,
    /// Its stderr, line by line, after the line that named the address.
    pub stderr: mpsc::Receiver<String>,
}

impl Served {
    /// Starts `BIN run --serve 127.0.0.1:0 --out out ARGS` in `dir` (stdin empty, stdout and
    /// stderr piped, no server URLs or log filter from the environment) and waits for it to
    /// serve.
    pub fn run(bin: &str, dir: &Path, args: &[&str]) -> Served {
        let child = Command::new(bin)
            .current_dir(dir)
            .args(["run", "--serve", "127.0.0.1:0", "--out", "out"])
            .args(args)
            .env_remove("RINGBUS_NATS_URL")
            .env_remove("RINGBUS_POSTGRES_URL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        Served::from_child(child)
    }

    /// Waits (at most a minute) for `child` to say `serving on http://ADDR/`.
    pub fn from_child(mut child: Child) -> Served {
        let stderr = BufReader::new(child.stderr.take().expect("stderr piped"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut served = Served {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            stderr: lines,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = served
                .stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the node says where it serves");
            if let Some(rest) = line.strip_prefix("serving on http://") {
                let addr = rest.split('/').next().unwrap_or_default();
                served.addr = addr.parse().unwrap_or_else(|_| panic!("{line}"));
                return served;
            }
        }
    }

    /// Sends the signal `name` (`INT`, `TERM`, ...) with `kill`.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits at most `limit` for the process to end.
    pub fn wait_for_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not end in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

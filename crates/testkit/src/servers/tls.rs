//! A throwaway CA and a server certificate for `127.0.0.1` and `localhost`, made with openssl
//! for one run's TLS servers.

use super::{execute, StartError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of a run's TLS servers.
#[derive(Clone, Debug)]
pub(crate) struct TlsFiles {
    /// The CA that signed `cert`: what a client trusts.
    pub ca: PathBuf,
    pub cert: PathBuf,
    /// Mode 600.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Makes the CA and the server certificate in `dir` (created).
    pub(crate) fn make(dir: &Path, openssl: &Path) -> Result<Self, StartError> {
        std::fs::create_dir_all(dir).map_err(|source| StartError::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let f = |name: &str| dir.join(name);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        execute(
            Command::new(openssl)
                .args(["req", "-x509"])
                .args(ec)
                .args(["-days", "2", "-subj", "/CN=ringbus test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .arg("-keyout")
                .arg(f("ca.key"))
                .arg("-out")
                .arg(f("ca.crt")),
        )?;
        execute(
            Command::new(openssl)
                .arg("req")
                .args(ec)
                .args(["-subj", "/CN=localhost"])
                .arg("-keyout")
                .arg(f("server.key"))
                .arg("-out")
                .arg(f("server.csr")),
        )?;
        let extensions = "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
                          basicConstraints=critical,CA:FALSE\n\
                          keyUsage=critical,digitalSignature,keyEncipherment\n\
                          extendedKeyUsage=serverAuth\n";
        std::fs::write(f("server.ext"), extensions).map_err(|source| StartError::Io {
            what: "writing server.ext".into(),
            source,
        })?;
        execute(
            Command::new(openssl)
                .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
                .arg("-in")
                .arg(f("server.csr"))
                .arg("-CA")
                .arg(f("ca.crt"))
                .arg("-CAkey")
                .arg(f("ca.key"))
                .arg("-extfile")
                .arg(f("server.ext"))
                .arg("-out")
                .arg(f("server.crt")),
        )?;
        std::fs::set_permissions(f("server.key"), std::fs::Permissions::from_mode(0o600)).map_err(
            |source| StartError::Io {
                what: "setting the key's mode".into(),
                source,
            },
        )?;
        Ok(TlsFiles {
            ca: f("ca.crt"),
            cert: f("server.crt"),
            key: f("server.key"),
        })
    }
}

//! A fresh PostgreSQL database per test.

use crate::{postgres, process_gone};
use ringbus_remote::ServiceUrl;

/// A fresh database named after the test (dropped and created), and its URL (plain).
pub fn fresh_database(name: &str) -> ServiceUrl {
    fresh_database_ssl(name, "disable")
}

/// A fresh database named after the test and this test process, and its URL with this
/// `sslmode`. On a server named by the environment, which other test processes may share,
/// the process id keeps them apart, and the first call of a process drops the databases of
/// test processes that no longer run.
pub fn fresh_database_ssl(name: &str, sslmode: &str) -> ServiceUrl {
    let db = format!("ringbus_test_{name}_{}", std::process::id());
    let server = postgres();
    let mut admin = server.admin();
    sweep_databases(&mut admin);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    server.url(&db, sslmode)
}

/// Drops the `ringbus_test_<name>_<pid>` databases of test processes gone (once a process).
fn sweep_databases(admin: &mut postgres::Client) {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        let rows = admin
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'ringbus_test_%'",
                &[],
            )
            .unwrap();
        for row in rows {
            let name: String = row.get(0);
            if process_gone(&name) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    });
}

//! `--serve ADDR`: the live server beside a running `run` or `replay`.

use super::args::ServeArgs;
use super::error::CliError;
use crate::{Input, Pipeline, PipelineError, RunReport};
use ringbus_events::EventLogReader;
use ringbus_live::{LiveConfig, LiveServer};
use std::path::Path;
use std::sync::Arc;

/// Runs `input` through `p`, serving it live if `serve` asks to, for a stream of `markets`
/// markets and `parties` parties (stream filters on other ids are refused). The address
/// bound is said on stderr whatever the verbosity: users and scripts need it.
pub(super) fn run(
    p: &mut Pipeline,
    input: Input,
    serve: &ServeArgs,
    (markets, parties): (u16, u32),
) -> Result<RunReport, CliError> {
    let Some(addr) = serve.serve else {
        return Ok(p.run(input)?);
    };
    let mut config = LiveConfig::new(addr, markets, parties);
    config.max_clients = usize::from(serve.max_clients);
    // Every stream client is a consumer on the bus while it is connected.
    p.max_consumers = p.consumers.len() + config.max_clients;
    let report = p.run_serving(input, |bus, view| {
        let server = LiveServer::start(config, bus, Arc::new(view))
            .map_err(|e| PipelineError::Service(Box::new(e)))?;
        let addr = server.local_addr();
        eprintln!("serving on http://{addr}/ (the live page; /stream, /metrics, /status)");
        Ok(server)
    })?;
    Ok(report)
}

/// The markets and parties of the stream in the event log `log`, from its identity
/// (`markets=N parties=N`, as the simulator records them); every id when the log does not
/// say (standard input, a stream of another source).
pub(super) fn known_ids(log: &Path) -> (u16, u32) {
    let every = (u16::MAX, u32::MAX);
    let Ok(file) = std::fs::File::open(log) else {
        return every;
    };
    let Ok(reader) = EventLogReader::new(std::io::BufReader::new(file)) else {
        return every;
    };
    let Some(identity) = reader.identity() else {
        return every;
    };
    let field = |name: &str| {
        identity
            .config()
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    match (field("markets"), field("parties")) {
        (Some(markets), Some(parties)) => (u16::try_from(markets).unwrap_or(u16::MAX), parties),
        _ => every,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_sim::{SimConfig, Simulator};

    #[test]
    fn a_simulated_logs_markets_and_parties_come_from_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rbl");
        let cfg = SimConfig::small(1, 2);
        let mut sim = Simulator::new(cfg);
        let file = std::fs::File::create(&path).unwrap();
        let mut log = ringbus_events::EventLogWriter::new(file, Some(sim.identity())).unwrap();
        sim.run(&mut log).unwrap();
        log.flush().unwrap();
        assert_eq!(known_ids(&path), (cfg.markets, cfg.parties));
        assert_eq!(known_ids(&dir.path().join("absent")), (u16::MAX, u32::MAX));
    }
}

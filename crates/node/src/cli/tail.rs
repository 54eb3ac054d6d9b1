//! `tail`: the JetStream stream written by `run --nats`, as JSON lines on standard output.

use super::args::TailArgs;
use super::error::{CliError, InvocationError};
use super::files::{self, Files};
use ringbus_remote::TailOptions;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;

pub(super) fn tail(args: TailArgs) -> Result<(), CliError> {
    args.nats.check_nats().map_err(InvocationError::Url)?;
    if let Some(ca) = &args.nats_ca {
        let mut files = Files::default();
        files.input(files::NATS_CA, ca);
        files.check()?;
    }
    let options = TailOptions {
        stream: args.stream,
        subject_prefix: args.prefix,
        topic: args.topic,
        new_only: args.new,
        idle_exit: args.idle_exit,
        ca_file: args.nats_ca,
        ..TailOptions::default()
    };
    eprintln!(
        "connecting to NATS at {} (retrying for up to {} s)",
        args.nats,
        options.connect_timeout.as_secs()
    );
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut written = 0u64;
    let mut io_error = None;
    // A reader following live events wants each line when it comes.
    let follow = args.limit.is_none() && args.idle_exit.is_none();
    ringbus_remote::tail(&args.nats, &options, |item| {
        let line = match (&item.event, item.json) {
            (Some(e), _) => ringbus_events::to_json_line(e),
            (None, Some(json)) => json.trim_end().to_string(),
            (None, None) => return ControlFlow::Continue(()),
        };
        if let Err(e) =
            writeln!(out, "{line}").and_then(|()| if follow { out.flush() } else { Ok(()) })
        {
            io_error = Some(e);
            return ControlFlow::Break(());
        }
        written += 1;
        if args.limit.is_some_and(|l| written >= l) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    match io_error.map_or_else(|| out.flush(), Err) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(CliError::io("writing", Path::new("standard output"))),
    }
}

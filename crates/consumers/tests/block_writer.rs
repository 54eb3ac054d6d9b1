//! The generic block writer against an in-memory fake store: one commit per block, framing
//! errors typed and committing nothing, refused commits retried then reported.

use ringbus_consumers::{
    Backoff, Block, BlockStore, BlockWriter, CommitError, CommitResult, FramingError, Refused,
    RetryPolicy,
};
use ringbus_events::{BeginBlock, EndBlock, Event, Payload, Trade};
use std::time::Duration;

/// Commits blocks into a vector; refuses the next `refuse` attempts, or fails every
/// attempt with `fail`.
#[derive(Debug, Default)]
struct FakeStore {
    blocks: Vec<Vec<Event>>,
    attempts: u32,
    refuse: u32,
    fail: Option<fn() -> CommitError<&'static str, FakeError>>,
}

#[derive(Debug, thiserror::Error)]
enum FakeError {
    #[error(transparent)]
    Framing(#[from] FramingError),
    #[error("refused {0}: {1}")]
    Refused(Refused, &'static str),
    #[error("the cursor moved")]
    CursorMoved,
}

impl BlockStore for FakeStore {
    type Error = FakeError;
    type Failure = &'static str;
    const NAME: &'static str = "fake";

    fn last_committed(&self) -> Option<u64> {
        self.blocks
            .last()
            .and_then(|b| b.last())
            .map(|e| e.sequence)
    }

    fn retry_policy(&self) -> RetryPolicy {
        let pause = Duration::from_millis(1);
        RetryPolicy {
            max_attempts: 3,
            backoff: Backoff::new(pause, 4 * pause),
        }
    }

    fn commit(&mut self, block: &Block<'_>) -> CommitResult<Self> {
        self.attempts += 1;
        if let Some(fail) = self.fail {
            return Err(fail());
        }
        if self.refuse > 0 {
            self.refuse -= 1;
            return Err(CommitError::Retry("locked"));
        }
        self.blocks.push(block.events().to_vec());
        Ok(())
    }

    fn refused(&self, refused: Refused, failure: &'static str) -> FakeError {
        FakeError::Refused(refused, failure)
    }
}

/// Events with sequences from `first`, in the order given.
fn events(first: u64, payloads: impl IntoIterator<Item = Payload>) -> Vec<Event> {
    payloads
        .into_iter()
        .zip(first..)
        .map(|(p, sequence)| Event {
            sequence,
            ..Event::new(p)
        })
        .collect()
}

fn begin(height: u64) -> Payload {
    BeginBlock {
        height,
        ..Default::default()
    }
    .into()
}

fn end(height: u64) -> Payload {
    EndBlock {
        height,
        ..Default::default()
    }
    .into()
}

fn trade() -> Payload {
    Trade::default().into()
}

fn write_all(w: &mut BlockWriter<FakeStore>, events: &[Event]) -> Result<(), FakeError> {
    events.iter().try_for_each(|e| w.write(e))
}

#[test]
fn one_commit_per_block() {
    let mut w = BlockWriter::new(FakeStore::default());
    let stream = events(
        0,
        [
            begin(1),
            trade(),
            trade(),
            end(1),
            begin(2),
            trade(),
            end(2),
        ],
    );
    for (i, e) in stream.iter().enumerate() {
        w.write(e).unwrap();
        let closed = if i < 3 {
            0
        } else if i < 6 {
            1
        } else {
            2
        };
        assert_eq!(w.store().blocks.len(), closed, "after event {i}");
    }
    assert_eq!(w.store().attempts, 2);
    assert_eq!(
        w.store().blocks,
        [stream[..4].to_vec(), stream[4..].to_vec()]
    );
    assert_eq!(w.open_block(), None);

    // A writer on the same store resumes after its cursor: nothing is applied twice.
    let mut w = BlockWriter::new(std::mem::take(w.store_mut()));
    assert_eq!(w.resume_after(), Some(6));
    write_all(&mut w, &stream).unwrap();
    assert_eq!(w.skipped(), 7);
    assert_eq!(w.store().blocks.len(), 2);
}

#[test]
fn framing_errors_are_typed_and_commit_nothing() {
    let cases = [
        (
            "an event outside a block",
            events(0, [trade()]),
            FramingError::OutsideBlock {
                sequence: 0,
                topic: ringbus_events::EventTopic::Trade,
            },
        ),
        (
            "END without BEGIN",
            events(0, [end(1)]),
            FramingError::OutsideBlock {
                sequence: 0,
                topic: ringbus_events::EventTopic::EndBlock,
            },
        ),
        (
            "a second BEGIN",
            events(0, [begin(1), trade(), begin(2), end(2)]),
            FramingError::WrongBlock {
                sequence: 2,
                open: 1,
                found: 2,
            },
        ),
        (
            "END of another block",
            events(0, [begin(1), trade(), end(2)]),
            FramingError::WrongBlock {
                sequence: 2,
                open: 1,
                found: 2,
            },
        ),
    ];
    for (what, stream, expected) in cases {
        let mut w = BlockWriter::new(FakeStore::default());
        match write_all(&mut w, &stream) {
            Err(FakeError::Framing(found)) => assert_eq!(found, expected, "{what}"),
            other => panic!("{what}: expected a framing error, got {other:?}"),
        }
        assert_eq!(w.store().attempts, 0, "{what}: no commit attempted");
        assert!(w.store().blocks.is_empty(), "{what}: nothing committed");
    }
}

#[test]
fn a_refused_commit_is_retried_then_succeeds() {
    let mut w = BlockWriter::new(FakeStore {
        refuse: 2,
        ..FakeStore::default()
    });
    write_all(&mut w, &events(0, [begin(1), trade(), end(1)])).unwrap();
    assert_eq!(w.store().attempts, 3);
    assert_eq!(w.store().blocks.len(), 1);
}

#[test]
fn a_refused_commit_is_retried_then_reported() {
    let mut w = BlockWriter::new(FakeStore::default());
    write_all(&mut w, &events(0, [begin(1), end(1)])).unwrap();
    w.store_mut().refuse = u32::MAX;
    let err = write_all(&mut w, &events(2, [begin(2), trade(), end(2)])).unwrap_err();
    let FakeError::Refused(refused, failure) = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(
        refused,
        Refused {
            height: 2,
            first: 2,
            last: 4,
            attempts: 3,
            last_committed: Some(1),
        }
    );
    assert_eq!(failure, "locked");
    assert_eq!(w.store().attempts, 1 + 3, "max_attempts tries of block 2");
    assert_eq!(w.store().blocks.len(), 1, "nothing of block 2");
    assert_eq!(w.open_block(), None, "the refused block left the stage");
    assert_eq!(
        refused.to_string(),
        "block 2 (sequences 2..=4) after 3 attempt(s); last committed sequence: 1"
    );
}

#[test]
fn a_give_up_is_reported_and_a_fatal_error_returned_without_retrying() {
    let mut w = BlockWriter::new(FakeStore {
        fail: Some(|| CommitError::GiveUp("no connection")),
        ..FakeStore::default()
    });
    let err = write_all(&mut w, &events(0, [begin(1), end(1)])).unwrap_err();
    assert!(
        matches!(
            err,
            FakeError::Refused(
                Refused {
                    attempts: 1,
                    last_committed: None,
                    ..
                },
                "no connection"
            )
        ),
        "{err:?}"
    );
    assert_eq!(w.store().attempts, 1);

    let mut w = BlockWriter::new(FakeStore {
        fail: Some(|| CommitError::Fatal(FakeError::CursorMoved)),
        ..FakeStore::default()
    });
    let err = write_all(&mut w, &events(0, [begin(1), end(1)])).unwrap_err();
    assert!(matches!(err, FakeError::CursorMoved), "{err:?}");
    assert_eq!(w.store().attempts, 1);
    assert!(w.store().blocks.is_empty());
}

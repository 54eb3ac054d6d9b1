//! The generic block writer against an in-memory fake store: one commit per block, framing
//! errors typed and committing nothing, refused commits retried then reported.

use ringbus_consumers::{
    Backoff, Block, BlockStore, BlockWriter, CommitError, CommitResult, CommittedHeight,
    ForeignStream, FramingError, HeldStream, Refused, RetryPolicy,
};
use ringbus_events::{BeginBlock, BlockHash, EndBlock, Event, Payload, StreamIdentity, Trade};
use std::time::Duration;

/// Commits blocks into a vector; refuses the next `refuse` attempts, or fails every
/// attempt with `fail`. With `watch`, each attempt notes what that handle says in `seen`.
#[derive(Debug)]
struct FakeStore {
    blocks: Vec<Vec<Event>>,
    attempts: u32,
    refuse: u32,
    fail: Option<fn() -> CommitError<&'static str, FakeError>>,
    held: HeldStream,
    record: Option<StreamIdentity>,
    watch: Option<CommittedHeight>,
    seen: Vec<Option<u64>>,
}

impl Default for FakeStore {
    fn default() -> Self {
        FakeStore {
            blocks: Vec::new(),
            attempts: 0,
            refuse: 0,
            fail: None,
            held: HeldStream::Empty,
            record: None,
            watch: None,
            seen: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum FakeError {
    #[error(transparent)]
    Framing(#[from] FramingError),
    #[error("refused {0}: {1}")]
    Refused(Refused, &'static str),
    #[error("the cursor moved")]
    CursorMoved,
    #[error(transparent)]
    Foreign(Box<ForeignStream>),
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

    fn last_committed_height(&self) -> Option<u64> {
        match self.blocks.last()?.last()?.payload {
            Payload::EndBlock(end) => Some(end.height),
            _ => None,
        }
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
        if let Some(watch) = &self.watch {
            self.seen.push(watch.get());
        }
        if let Some(fail) = self.fail {
            return Err(fail());
        }
        if self.refuse > 0 {
            self.refuse -= 1;
            return Err(CommitError::Retry("locked"));
        }
        self.blocks.push(block.events().to_vec());
        if let Some(identity) = self.record.take() {
            self.held = HeldStream::Stream(identity);
        }
        Ok(())
    }

    fn refused(&self, refused: Refused, failure: &'static str) -> FakeError {
        FakeError::Refused(refused, failure)
    }

    fn held_stream(&self) -> &HeldStream {
        &self.held
    }

    fn record_stream(&mut self, identity: StreamIdentity) {
        self.record = Some(identity);
    }

    fn foreign(&self, held: HeldStream, incoming: Option<StreamIdentity>) -> FakeError {
        FakeError::Foreign(Box::new(ForeignStream {
            store: "the fake store".into(),
            held,
            incoming,
        }))
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
    let mut w = BlockWriter::new(FakeStore::default(), None).unwrap();
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
    let mut w = BlockWriter::new(std::mem::take(w.store_mut()), None).unwrap();
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
        let mut w = BlockWriter::new(FakeStore::default(), None).unwrap();
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
    let mut w = BlockWriter::new(
        FakeStore {
            refuse: 2,
            ..FakeStore::default()
        },
        None,
    )
    .unwrap();
    write_all(&mut w, &events(0, [begin(1), trade(), end(1)])).unwrap();
    assert_eq!(w.store().attempts, 3);
    assert_eq!(w.store().blocks.len(), 1);
}

#[test]
fn a_refused_commit_is_retried_then_reported() {
    let mut w = BlockWriter::new(FakeStore::default(), None).unwrap();
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
    let mut w = BlockWriter::new(
        FakeStore {
            fail: Some(|| CommitError::GiveUp("no connection")),
            ..FakeStore::default()
        },
        None,
    )
    .unwrap();
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

    let mut w = BlockWriter::new(
        FakeStore {
            fail: Some(|| CommitError::Fatal(FakeError::CursorMoved)),
            ..FakeStore::default()
        },
        None,
    )
    .unwrap();
    let err = write_all(&mut w, &events(0, [begin(1), end(1)])).unwrap_err();
    assert!(matches!(err, FakeError::CursorMoved), "{err:?}");
    assert_eq!(w.store().attempts, 1);
    assert!(w.store().blocks.is_empty());
}

fn id(seed: u64) -> StreamIdentity {
    StreamIdentity::new("test", BlockHash(seed), seed, "blocks=2").unwrap()
}

#[test]
fn a_store_records_its_stream_with_the_first_commit_and_refuses_another() {
    let mut w = BlockWriter::new(FakeStore::default(), Some(&id(42))).unwrap();
    assert_eq!(
        w.store().held_stream(),
        &HeldStream::Empty,
        "recorded at the commit"
    );
    write_all(&mut w, &events(0, [begin(1), end(1)])).unwrap();
    assert_eq!(w.store().held_stream(), &HeldStream::Stream(id(42)));

    let store = std::mem::take(w.store_mut());
    let blocks = store.blocks.clone();
    let held = store.held.clone();
    let err = BlockWriter::new(store, Some(&id(43))).unwrap_err();
    let FakeError::Foreign(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((&e.held, e.incoming.as_ref()), (&held, Some(&id(43))));
    let text = err.to_string();
    assert!(
        text.contains("seed=42") && text.contains("seed=43"),
        "{text}"
    );

    // The same stream resumes; a stream of unknown identity is refused too.
    let store = FakeStore {
        blocks: blocks.clone(),
        held: held.clone(),
        ..FakeStore::default()
    };
    let w = BlockWriter::new(store, Some(&id(42))).unwrap();
    assert_eq!(w.resume_after(), Some(1));
    let store = FakeStore {
        blocks,
        held,
        ..FakeStore::default()
    };
    assert!(matches!(
        BlockWriter::new(store, None),
        Err(FakeError::Foreign(f)) if f.incoming.is_none()
    ));
}

#[test]
fn a_store_of_unknown_stream_takes_only_events_of_unknown_stream() {
    let unidentified = || FakeStore {
        blocks: vec![events(0, [begin(1), end(1)])],
        held: HeldStream::Unidentified,
        ..FakeStore::default()
    };
    let err = BlockWriter::new(unidentified(), Some(&id(42))).unwrap_err();
    assert!(err.to_string().contains("rebuild it"), "{err}");
    let mut w = BlockWriter::new(unidentified(), None).unwrap();
    write_all(&mut w, &events(0, [begin(1), end(1), begin(2), end(2)])).unwrap();
    assert_eq!((w.skipped(), w.store().blocks.len()), (2, 2));
    assert_eq!(w.store().held_stream(), &HeldStream::Unidentified);
}

#[test]
fn the_committed_height_moves_only_once_a_commit_succeeded() {
    let mut w = BlockWriter::new(FakeStore::default(), None).unwrap();
    let height = w.committed_height();
    w.store_mut().watch = Some(height.clone());
    assert_eq!(height.get(), None, "nothing committed yet");
    write_all(&mut w, &events(0, [begin(1), trade()])).unwrap();
    assert_eq!(height.get(), None, "a staged block is not committed");
    write_all(&mut w, &events(2, [end(1)])).unwrap();
    assert_eq!(height.get(), Some(1));
    assert_eq!(w.store().seen, [None], "not yet during its commit");

    // Refused twice, committed on the third attempt: block 1 until then.
    w.store_mut().refuse = 2;
    write_all(&mut w, &events(3, [begin(2), end(2)])).unwrap();
    assert_eq!(w.store().seen[1..], [Some(1); 3]);
    assert_eq!(height.get(), Some(2));

    // Refused on every attempt, then a fatal error: still block 2.
    w.store_mut().refuse = u32::MAX;
    let err = write_all(&mut w, &events(5, [begin(3), end(3)])).unwrap_err();
    assert!(matches!(err, FakeError::Refused(..)), "{err:?}");
    assert_eq!(height.get(), Some(2));
    w.store_mut().fail = Some(|| CommitError::Fatal(FakeError::CursorMoved));
    let err = write_all(&mut w, &events(5, [begin(3), end(3)])).unwrap_err();
    assert!(matches!(err, FakeError::CursorMoved), "{err:?}");
    assert_eq!(height.get(), Some(2));
    assert_eq!(w.store().seen[4..], [Some(2); 4]);

    // A writer over the same store starts at the height it holds.
    let store = FakeStore {
        blocks: std::mem::take(&mut w.store_mut().blocks),
        ..FakeStore::default()
    };
    let w = BlockWriter::new(store, None).unwrap();
    assert_eq!(w.committed_height().get(), Some(2));
}

//! The SQLite store: open, resume point, one transaction per block (its [`BlockStore`]
//! side), and reading the tables back.

use super::codec::*;
use super::schema;
use crate::{
    Backoff, Block, BlockStore, CommitError, CommitResult, ForeignStream, HeldStream, Refused,
    RetryPolicy, StoreError, StoreTables,
};
use ringbus_events::{
    Event, LedgerMovement, MarketId, Order, OrderId, PartyId, Payload, StreamIdentity, Trade,
    TradeId,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the SQLite store commits and how hard it tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Attempts per block before giving up with [`StoreError::Refused`] (at least 1).
    pub max_attempts: u32,
    /// Pause before the second attempt; doubled for each further one.
    pub retry_backoff: Duration,
    /// How long one attempt waits on a lock held by another connection.
    pub busy_timeout: Duration,
    /// `PRAGMA synchronous=FULL` (fsync at every commit: survives power loss) instead of
    /// `NORMAL` (WAL: survives a process crash, the default).
    pub durable: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            max_attempts: 5,
            retry_backoff: Duration::from_millis(20),
            busy_timeout: Duration::from_millis(250),
            durable: false,
        }
    }
}

/// The embedded default store: one SQLite transaction per block.
///
/// ```
/// use ringbus_consumers::{BlockStore, HeldStream, SqliteOptions, SqliteStore};
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default())?;
/// assert_eq!(store.last_committed(), None);
/// assert_eq!(store.held_stream(), &HeldStream::Empty);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    options: SqliteOptions,
    last_committed: Option<u64>,
    block_height: u64,
    held: HeldStream,
    /// The identity to record with the next commit (the first).
    record: Option<StreamIdentity>,
}

/// Why one commit attempt failed.
enum Attempt {
    /// SQLite refused: retry.
    Sql(rusqlite::Error),
    /// The store holds another stream by now: stop, nothing written.
    Foreign(HeldStream),
    /// The recorded identity does not parse.
    Corrupt(StoreError),
}

impl From<rusqlite::Error> for Attempt {
    fn from(e: rusqlite::Error) -> Self {
        Attempt::Sql(e)
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and reads its cursor.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(options.busy_timeout).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(
            None,
            "synchronous",
            if options.durable { "FULL" } else { "NORMAL" },
        )
        .map_err(open_err)?;
        // A bigger page cache and rarer checkpoints (measured, default run, sqlite alone:
        // 0.27 -> 0.38 M store events/s of busy time; docs/consumers.md).
        conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;")
            .map_err(open_err)?;
        conn.execute_batch(schema::CREATE).map_err(open_err)?;
        let (cursor, identity) = read_state(&conn).map_err(open_err)?;
        let held = held_stream(cursor, identity)?;
        let (last_committed, block_height) = match cursor {
            Some((s, h)) => (
                Some(to_u64("cursor sequence", s)?),
                to_u64("cursor height", h)?,
            ),
            None => (None, 0),
        };
        Ok(SqliteStore {
            conn,
            path,
            options: SqliteOptions {
                max_attempts: options.max_attempts.max(1),
                ..options
            },
            last_committed,
            block_height,
            held,
            record: None,
        })
    }

    /// The connection, for queries of your own (and pragmas such as `query_only`).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence of the last committed `EndBlock`: resume after it.
    pub fn last_committed(&self) -> Option<u64> {
        self.last_committed
    }

    /// The height of the last committed block (0 before the first).
    pub fn block_height(&self) -> u64 {
        self.block_height
    }

    fn try_commit(&mut self, events: &[Event]) -> Result<(), Attempt> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(identity) = &self.record {
            // The first commit: the store must still be empty (under the write lock now).
            let (cursor, recorded) = read_state(&tx)?;
            match (
                cursor,
                held_stream(cursor, recorded).map_err(Attempt::Corrupt)?,
            ) {
                (None, HeldStream::Empty) => {
                    tx.execute(schema::INSERT_IDENTITY, [identity.to_string()])?;
                }
                (_, HeldStream::Stream(held)) if held == *identity => {}
                (_, held) => return Err(Attempt::Foreign(held)),
            }
        }
        {
            let mut account = tx.prepare_cached(schema::UPSERT_ACCOUNT)?;
            let mut order = tx.prepare_cached(schema::UPSERT_ORDER)?;
            let mut trade = tx.prepare_cached(schema::INSERT_TRADE)?;
            let mut ledger = tx.prepare_cached(schema::INSERT_LEDGER)?;
            let mut first_sequence = 0;
            for e in events {
                let seq = e.sequence;
                match &e.payload {
                    Payload::BeginBlock(_) => first_sequence = seq,
                    Payload::Account(a) => {
                        let [o, m, s, k] = account_cols(&a.id);
                        account.execute(params![o, m, s, k, a.balance, seq])?;
                    }
                    Payload::Order(x) => {
                        order.execute(params![
                            x.id.0,
                            x.market.0,
                            x.party.0,
                            side_code(x.side),
                            x.price,
                            x.size,
                            x.remaining,
                            status_code(x.status),
                            order_type_code(x.order_type),
                            tif_code(x.time_in_force),
                            seq
                        ])?;
                    }
                    Payload::Trade(t) => {
                        trade.execute(params![
                            seq,
                            t.id.0,
                            t.market.0,
                            t.price,
                            t.size,
                            t.buyer.0,
                            t.seller.0,
                            side_code(t.aggressor),
                            t.buy_order.0,
                            t.sell_order.0
                        ])?;
                    }
                    Payload::LedgerMovement(l) => {
                        ledger.execute(ledger_cols(seq, l))?;
                    }
                    Payload::EndBlock(b) => {
                        tx.prepare_cached(schema::INSERT_BLOCK)?.execute(params![
                            b.height,
                            b.time.0,
                            // A 64-bit hash, stored bit for bit in SQLite's signed integer.
                            b.hash.0 as i64,
                            b.tx_count,
                            first_sequence,
                            seq
                        ])?;
                        tx.prepare_cached(schema::SET_CURSOR)?
                            .execute(params![seq, b.height])?;
                    }
                    _ => {}
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Reads the whole store back as [`StoreTables`] (to compare with the in-memory stores).
    pub fn load(&self) -> Result<StoreTables, StoreError> {
        let mut t = StoreTables {
            block_height: self.block_height,
            last_sequence: self.last_committed,
            ..StoreTables::default()
        };
        let blocks: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM blocks", [], |r| r.get(0))?;
        t.blocks = to_u64("block count", blocks)?;

        let mut st = self
            .conn
            .prepare("SELECT owner, market, asset, kind, balance FROM accounts")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id = account_from([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])?;
            t.accounts.insert(id, r.get(4)?);
        }

        let mut st = self.conn.prepare(
            "SELECT id, market, party, side, price, size, remaining, status, order_type, time_in_force FROM orders",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let o = Order {
                id: OrderId(r.get(0)?),
                market: MarketId(r.get(1)?),
                party: PartyId(r.get(2)?),
                side: side_from(r.get(3)?)?,
                price: r.get(4)?,
                size: r.get(5)?,
                remaining: r.get(6)?,
                status: status_from(r.get(7)?)?,
                order_type: order_type_from(r.get(8)?)?,
                time_in_force: tif_from(r.get(9)?)?,
            };
            t.orders.insert(o.id, o);
        }

        let mut st = self.conn.prepare(
            "SELECT sequence, id, market, price, size, buyer, seller, aggressor, buy_order, sell_order
             FROM trades ORDER BY sequence",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            t.trades.push((
                r.get(0)?,
                Trade {
                    id: TradeId(r.get(1)?),
                    market: MarketId(r.get(2)?),
                    price: r.get(3)?,
                    size: r.get(4)?,
                    buyer: PartyId(r.get(5)?),
                    seller: PartyId(r.get(6)?),
                    aggressor: side_from(r.get(7)?)?,
                    buy_order: OrderId(r.get(8)?),
                    sell_order: OrderId(r.get(9)?),
                },
            ));
        }

        let mut st = self.conn.prepare(
            "SELECT sequence, from_owner, from_market, from_asset, from_kind, to_owner, to_market, to_asset, to_kind, amount, kind
             FROM ledger_movements ORDER BY sequence",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            t.ledger.push((
                r.get(0)?,
                LedgerMovement {
                    from: account_from([r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])?,
                    to: account_from([r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?])?,
                    amount: r.get::<_, i64>(9)? as u64,
                    kind: transfer_from(r.get(10)?)?,
                },
            ));
        }
        Ok(t)
    }
}

/// One SQLite transaction per block (`BEGIN IMMEDIATE`: the write lock up front), the
/// cursor row in it. A refused attempt is rolled back: the transaction is dropped.
impl BlockStore for SqliteStore {
    type Error = StoreError;
    type Failure = rusqlite::Error;
    const NAME: &'static str = "SQLite";

    fn commit(&mut self, block: &Block<'_>) -> CommitResult<Self> {
        match self.try_commit(block.events()) {
            Ok(()) => {}
            Err(Attempt::Sql(e)) => return Err(CommitError::Retry(e)),
            Err(Attempt::Corrupt(e)) => return Err(CommitError::Fatal(e)),
            Err(Attempt::Foreign(held)) => {
                let incoming = self.record.clone();
                return Err(CommitError::Fatal(self.foreign(held, incoming)));
            }
        }
        if let Some(identity) = self.record.take() {
            self.held = HeldStream::Stream(identity);
        }
        self.last_committed = Some(block.last());
        self.block_height = block.height();
        Ok(())
    }

    fn held_stream(&self) -> &HeldStream {
        &self.held
    }

    fn record_stream(&mut self, identity: StreamIdentity) {
        self.record = Some(identity);
    }

    fn foreign(&self, held: HeldStream, incoming: Option<StreamIdentity>) -> StoreError {
        StoreError::from(ForeignStream {
            store: format!("the SQLite store {}", self.path.display()),
            held,
            incoming,
        })
    }

    fn refused(&self, refused: Refused, source: rusqlite::Error) -> StoreError {
        let Refused {
            height,
            first,
            last,
            attempts,
            last_committed,
        } = refused;
        StoreError::Refused {
            height,
            first,
            last,
            attempts,
            last_committed,
            source,
        }
    }

    fn last_committed(&self) -> Option<u64> {
        self.last_committed
    }

    fn last_committed_height(&self) -> Option<u64> {
        self.last_committed.map(|_| self.block_height)
    }

    fn retry_policy(&self) -> RetryPolicy {
        let first = self.options.retry_backoff;
        RetryPolicy {
            max_attempts: self.options.max_attempts,
            // Doubling, at most 10 times.
            backoff: Backoff::new(first, first.saturating_mul(1 << 10)),
        }
    }
}

/// The cursor row and the recorded identity.
type State = (Option<(i64, i64)>, Option<String>);

fn read_state(conn: &Connection) -> rusqlite::Result<State> {
    let cursor = conn
        .query_row(schema::GET_CURSOR, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let identity = conn
        .query_row(schema::GET_IDENTITY, [], |r| r.get(0))
        .optional()?;
    Ok((cursor, identity))
}

/// What a store with this cursor and recorded identity holds.
fn held_stream(
    cursor: Option<(i64, i64)>,
    identity: Option<String>,
) -> Result<HeldStream, StoreError> {
    Ok(match identity {
        Some(text) => HeldStream::Stream(
            text.parse()
                .map_err(|source| StoreError::CorruptIdentity { text, source })?,
        ),
        None if cursor.is_some() => HeldStream::Unidentified,
        None => HeldStream::Empty,
    })
}

fn to_u64(what: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt { what, value: v })
}

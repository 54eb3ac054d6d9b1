//! The PostgreSQL store: connect (and reconnect), migrate, one transaction per block with its
//! cursor (its [`BlockStore`] side), and reading the tables back.

use super::schema;
use crate::{tls, RemoteError, ServiceUrl};
use postgres::config::SslMode;
use postgres::{Client, Config, NoTls, Statement};
use ringbus_consumers::codec::*;
use ringbus_consumers::{
    Backoff, Block, BlockStore, CommitError, CommitResult, ForeignStream, FxHashMap, HeldStream,
    Refused, RetryPolicy, StoreError, StoreTables,
};
use ringbus_events::{
    AccountId, Event, LedgerMovement, MarketId, Order, OrderId, PartyId, Payload, Position,
    StreamIdentity, Trade, TradeId,
};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the PostgreSQL store connects, commits and retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// Attempts per block for errors that are not a lost connection (constraint, disk
    /// full, ...) before [`RemoteError::PgRefused`] (at least 1).
    pub max_attempts: u32,
    /// Pause before the second attempt; doubled for each further one (at most 1 s).
    pub retry_backoff: Duration,
    /// How long to keep reconnecting after a lost connection (a restarted or unreachable
    /// server) before giving up on the block.
    pub reconnect_timeout: Duration,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// `synchronous_commit = on` (the default: a commit returns once its WAL is flushed, so
    /// it survives a server crash). With `false` a server crash can lose the last few
    /// commits, each whole, cursor included: the writer then resumes before them from the
    /// event log, so the store is still exactly once, only behind.
    pub synchronous_commit: bool,
    /// PEM file of the CA(s) the server's certificate must chain to (`None`: the system's
    /// roots). TLS itself follows the URL's `sslmode`: `disable`, `prefer` (the default:
    /// TLS when the server offers it) or `require`. Whenever TLS is used the certificate
    /// and host name are verified; a failure is [`RemoteError::PgTls`], never a fallback.
    pub ca_file: Option<PathBuf>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_attempts: 5,
            retry_backoff: Duration::from_millis(20),
            reconnect_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            synchronous_commit: true,
            ca_file: None,
        }
    }
}

/// Counters of a store's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PgStats {
    /// Blocks committed.
    pub blocks: u64,
    /// Connections made after the first (lost connections recovered).
    pub reconnects: u64,
    /// Blocks found already committed after a lost connection (the commit had reached the
    /// server but its answer had not reached the writer): skipped, not applied twice.
    pub already_committed: u64,
    /// Commit attempts that failed and were retried.
    pub retries: u64,
}

struct Conn {
    client: Client,
    commit: Statement,
}

/// The rows of one block, as column arrays (one `unnest` statement per table).
#[derive(Default)]
struct Rows {
    accounts: Columns<6>,
    account_slot: FxHashMap<AccountId, usize>,
    orders: Columns<11>,
    order_slot: FxHashMap<OrderId, usize>,
    trades: Columns<10>,
    ledger: Columns<11>,
    positions: Columns<7>,
    position_slot: FxHashMap<(PartyId, MarketId), usize>,
}

struct Columns<const N: usize>([Vec<i64>; N]);

impl<const N: usize> Default for Columns<N> {
    fn default() -> Self {
        Columns(std::array::from_fn(|_| Vec::new()))
    }
}

impl<const N: usize> Columns<N> {
    fn len(&self) -> usize {
        self.0[0].len()
    }
    fn push(&mut self, row: [i64; N]) {
        for (col, v) in self.0.iter_mut().zip(row) {
            col.push(v);
        }
    }
    /// Pushes `row`, or overwrites the row already in `slot` (an upsert table can take a key
    /// only once per statement: the block's last value wins, as it would row by row).
    fn upsert<K: std::hash::Hash + Eq>(
        &mut self,
        slots: &mut FxHashMap<K, usize>,
        key: K,
        row: [i64; N],
    ) {
        match slots.get(&key) {
            Some(&i) => {
                for (col, v) in self.0.iter_mut().zip(row) {
                    col[i] = v;
                }
            }
            None => {
                slots.insert(key, self.len());
                self.push(row);
            }
        }
    }
    fn clear(&mut self) {
        self.0.iter_mut().for_each(Vec::clear);
    }
    fn params(&self) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
        self.0
            .iter()
            .map(|c| c as &(dyn postgres::types::ToSql + Sync))
            .collect()
    }
}

impl Rows {
    fn clear(&mut self) {
        self.accounts.clear();
        self.account_slot.clear();
        self.orders.clear();
        self.order_slot.clear();
        self.trades.clear();
        self.ledger.clear();
        self.positions.clear();
        self.position_slot.clear();
    }
}

/// An unsigned value in a `bigint`, bit for bit (read back with `as u64`).
#[inline]
fn b(v: u64) -> i64 {
    v as i64
}

/// The PostgreSQL store: the SQLite store's tables plus positions, one transaction per
/// block, the cursor in the same transaction, reconnecting after a lost connection.
///
/// Connecting creates or migrates the schema (`ringbus_schema_version`).
///
/// ```no_run
/// use ringbus_remote::{PgOptions, PgStore, ServiceUrl};
/// let url = ServiceUrl::new(std::env::var("RINGBUS_POSTGRES_URL")?);
/// let store = PgStore::connect(url, PgOptions::default())?;
/// println!("resume after {:?}", store.last_committed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PgStore {
    url: ServiceUrl,
    config: Config,
    tls: MakeRustlsConnect,
    options: PgOptions,
    conn: Option<Conn>,
    last_committed: Option<u64>,
    block_height: u64,
    rows: Rows,
    stats: PgStats,
    /// The block being committed when the connection was lost, and since when.
    lost: Option<(u64, Instant)>,
    held: HeldStream,
    /// The identity to record with the next commit (the first).
    record: Option<StreamIdentity>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .field("options", &self.options)
            .field("connected", &self.conn.is_some())
            .field("last_committed", &self.last_committed)
            .field("block_height", &self.block_height)
            .field("held", &self.held)
            .field("stats", &self.stats)
            .finish()
    }
}

impl PgStore {
    /// Connects (retrying for [`PgOptions::reconnect_timeout`]), creates or migrates the
    /// schema, and reads the cursor.
    pub fn connect(url: ServiceUrl, options: PgOptions) -> Result<Self, RemoteError> {
        let (mut config, tls) = pg_config(&url, &options)?;
        if config.get_application_name().is_none() {
            config.application_name("ringbus-postgres-writer");
        }
        let mut store = PgStore {
            url,
            config,
            tls,
            options,
            conn: None,
            last_committed: None,
            block_height: 0,
            rows: Rows::default(),
            stats: PgStats::default(),
            lost: None,
            held: HeldStream::Empty,
            record: None,
        };
        store.reconnect(Instant::now())?;
        store.stats.reconnects = 0;
        Ok(store)
    }

    /// The URL (redacted when shown).
    pub fn url(&self) -> &ServiceUrl {
        &self.url
    }

    /// Sequence of the last committed block's `EndBlock` (`None`: nothing committed).
    pub fn last_committed(&self) -> Option<u64> {
        self.last_committed
    }

    /// Height of the last committed block (0: none).
    pub fn block_height(&self) -> u64 {
        self.block_height
    }

    /// Counters so far.
    pub fn stats(&self) -> PgStats {
        self.stats
    }

    /// The schema version this build creates.
    pub const SCHEMA_VERSION: i32 = schema::VERSION;

    /// (Re)connects until `since + reconnect_timeout`, migrates, prepares, reads the cursor.
    fn reconnect(&mut self, since: Instant) -> Result<(), RemoteError> {
        self.conn = None;
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
        loop {
            match pg_connect(&self.config, &self.tls) {
                Ok(client) => match self.setup(client) {
                    Ok(()) => {
                        self.stats.reconnects += 1;
                        return Ok(());
                    }
                    Err(RemoteError::Pg(e)) if is_connection_error(&e) => {
                        if since.elapsed() >= self.options.reconnect_timeout {
                            return Err(RemoteError::PgConnect {
                                url: self.url.clone(),
                                waited: since.elapsed(),
                                source: e,
                            });
                        }
                    }
                    Err(e) => return Err(e),
                },
                Err(e) if is_pg_tls_error(&e) => {
                    return Err(RemoteError::PgTls {
                        url: self.url.clone(),
                        source: e,
                    })
                }
                Err(e) => {
                    // A refusal with a SQLSTATE other than a lost or not-yet-ready server
                    // (wrong password, no such database) will not go away by waiting.
                    if since.elapsed() >= self.options.reconnect_timeout || !is_connection_error(&e)
                    {
                        return Err(RemoteError::PgConnect {
                            url: self.url.clone(),
                            waited: since.elapsed(),
                            source: e,
                        });
                    }
                    tracing::debug!(url = %self.url, %e, "PostgreSQL not reachable yet; retrying");
                }
            }
            std::thread::sleep(backoff.next_pause());
        }
    }

    fn setup(&mut self, mut client: Client) -> Result<(), RemoteError> {
        client.batch_execute(if self.options.synchronous_commit {
            "SET synchronous_commit = on"
        } else {
            "SET synchronous_commit = off"
        })?;
        migrate(&mut client)?;
        let row = client.query_one(
            "SELECT last_sequence, block_height FROM ringbus_cursor WHERE id = 1",
            &[],
        )?;
        let last: i64 = row.get(0);
        let height: i64 = row.get(1);
        self.last_committed = u64::try_from(last).ok();
        self.block_height = height as u64;
        let identity: Option<String> = client
            .query_opt(schema::GET_IDENTITY, &[])?
            .map(|r| r.get(0));
        self.held = match identity {
            Some(text) => HeldStream::Stream(text.parse().map_err(|source| {
                RemoteError::Corrupt(StoreError::CorruptIdentity { text, source })
            })?),
            None if self.last_committed.is_some() => HeldStream::Unidentified,
            None => HeldStream::Empty,
        };
        if self
            .record
            .as_ref()
            .is_some_and(|id| self.held == HeldStream::Stream(id.clone()))
        {
            // The first commit reached the server before the connection was lost.
            self.record = None;
        }
        let conn = Conn {
            commit: client.prepare(schema::COMMIT_BLOCK)?,
            client,
        };
        self.conn = Some(conn);
        Ok(())
    }

    /// The instant the connection was first found lost while committing `block`: the
    /// reconnect timeout counts from it across the block's attempts.
    fn lost_since(&mut self, block: &Block<'_>) -> Instant {
        match self.lost {
            Some((last, since)) if last == block.last() => since,
            _ => self.lost.insert((block.last(), Instant::now())).1,
        }
    }

    fn is_closed(&self) -> bool {
        self.conn.as_ref().is_none_or(|c| c.client.is_closed())
    }

    /// Sorts the block's rows into column arrays.
    fn stage(&mut self, events: &[Event]) {
        let r = &mut self.rows;
        r.clear();
        for e in events {
            let seq = b(e.sequence);
            match &e.payload {
                Payload::Account(a) => {
                    let [o, m, s, k] = account_cols(&a.id);
                    r.accounts
                        .upsert(&mut r.account_slot, a.id, [o, m, s, k, b(a.balance), seq]);
                }
                Payload::Order(x) => r.orders.upsert(
                    &mut r.order_slot,
                    x.id,
                    [
                        b(x.id.0),
                        i64::from(x.market.0),
                        i64::from(x.party.0),
                        side_code(x.side),
                        b(x.price),
                        b(x.size),
                        b(x.remaining),
                        status_code(x.status),
                        order_type_code(x.order_type),
                        tif_code(x.time_in_force),
                        seq,
                    ],
                ),
                Payload::Trade(t) => r.trades.push([
                    seq,
                    b(t.id.0),
                    i64::from(t.market.0),
                    b(t.price),
                    b(t.size),
                    i64::from(t.buyer.0),
                    i64::from(t.seller.0),
                    side_code(t.aggressor),
                    b(t.buy_order.0),
                    b(t.sell_order.0),
                ]),
                Payload::LedgerMovement(l) => r.ledger.push(ledger_cols(e.sequence, l)),
                Payload::Position(p) => r.positions.upsert(
                    &mut r.position_slot,
                    (p.party, p.market),
                    [
                        i64::from(p.party.0),
                        i64::from(p.market.0),
                        p.open_volume,
                        b(p.average_entry_price),
                        p.realised_pnl,
                        p.unrealised_pnl,
                        seq,
                    ],
                ),
                _ => {}
            }
        }
    }

    fn try_commit(&mut self, block: &Block<'_>) -> Result<(), RemoteError> {
        let end = block.end();
        let expected = self.last_committed;
        let rows = &self.rows;
        let conn = self.conn.as_mut().expect("connected before a commit");
        let head: [i64; 7] = [
            b(end.height),
            end.time.0,
            b(end.hash.0),
            i64::from(end.tx_count),
            b(block.first()),
            b(block.last()),
            expected.map_or(-1, b),
        ];
        let identity = self.record.as_ref().map(|id| id.to_string());
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = Vec::with_capacity(53);
        params.extend(
            head.iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync)),
        );
        params.extend(rows.accounts.params());
        params.extend(rows.orders.params());
        params.extend(rows.trades.params());
        params.extend(rows.ledger.params());
        params.extend(rows.positions.params());
        params.push(&identity);
        // One statement: its own transaction, so the block and the cursor commit together.
        let moved: i64 = conn.client.query_one(&conn.commit, &params)?.get(0);
        if moved != 1 {
            let found = self.read_cursor()?;
            if let Some(incoming) = self.record.clone() {
                // The first commit, and another writer committed first: of which stream?
                let conn = self.conn.as_mut().expect("connected");
                let held = conn.client.query_opt(schema::GET_IDENTITY, &[])?;
                let held: Option<String> = held.map(|r| r.get(0));
                if held.as_deref() != Some(incoming.to_string().as_str()) {
                    let held = match held.map(|text| text.parse()) {
                        Some(Ok(id)) => HeldStream::Stream(id),
                        _ => HeldStream::Unidentified,
                    };
                    return Err(self.foreign(held, Some(incoming)));
                }
            }
            return Err(RemoteError::CursorMoved { expected, found });
        }
        Ok(())
    }

    fn read_cursor(&mut self) -> Result<Option<u64>, RemoteError> {
        let conn = self.conn.as_mut().expect("connected");
        let last: i64 = conn
            .client
            .query_one("SELECT last_sequence FROM ringbus_cursor WHERE id = 1", &[])?
            .get(0);
        Ok(u64::try_from(last).ok())
    }

    fn client(&mut self) -> Result<&mut Client, RemoteError> {
        if self.is_closed() {
            self.reconnect(Instant::now())?;
        }
        Ok(&mut self.conn.as_mut().expect("connected").client)
    }

    /// Reads the stores back as [`StoreTables`] (to compare with the in-memory or SQLite
    /// stores with `==`).
    pub fn load(&mut self) -> Result<StoreTables, RemoteError> {
        let (last_committed, block_height) = (self.last_committed, self.block_height);
        let c = self.client()?;
        let mut t = StoreTables {
            block_height,
            last_sequence: last_committed,
            ..StoreTables::default()
        };
        let blocks: i64 = c.query_one("SELECT count(*) FROM blocks", &[])?.get(0);
        t.blocks = blocks as u64;
        for r in c.query(
            "SELECT owner, market, asset, kind, balance FROM accounts",
            &[],
        )? {
            let id = account_from([r.get(0), r.get(1), r.get(2), r.get(3)])?;
            t.accounts.insert(id, r.get::<_, i64>(4) as u64);
        }
        for r in c.query(
            "SELECT id, market, party, side, price, size, remaining, status, order_type, time_in_force FROM orders",
            &[],
        )? {
            let o = Order {
                id: OrderId(r.get::<_, i64>(0) as u64),
                market: MarketId(narrow(r.get(1), "market")?),
                party: PartyId(narrow(r.get(2), "party")?),
                side: side_from(r.get(3))?,
                price: r.get::<_, i64>(4) as u64,
                size: r.get::<_, i64>(5) as u64,
                remaining: r.get::<_, i64>(6) as u64,
                status: status_from(r.get(7))?,
                order_type: order_type_from(r.get(8))?,
                time_in_force: tif_from(r.get(9))?,
            };
            t.orders.insert(o.id, o);
        }
        for r in c.query(
            "SELECT sequence, id, market, price, size, buyer, seller, aggressor, buy_order, sell_order
             FROM trades ORDER BY sequence",
            &[],
        )? {
            t.trades.push((
                r.get::<_, i64>(0) as u64,
                Trade {
                    id: TradeId(r.get::<_, i64>(1) as u64),
                    market: MarketId(narrow(r.get(2), "market")?),
                    price: r.get::<_, i64>(3) as u64,
                    size: r.get::<_, i64>(4) as u64,
                    buyer: PartyId(narrow(r.get(5), "party")?),
                    seller: PartyId(narrow(r.get(6), "party")?),
                    aggressor: side_from(r.get(7))?,
                    buy_order: OrderId(r.get::<_, i64>(8) as u64),
                    sell_order: OrderId(r.get::<_, i64>(9) as u64),
                },
            ));
        }
        for r in c.query(
            "SELECT sequence, from_owner, from_market, from_asset, from_kind, to_owner, to_market, to_asset, to_kind, amount, kind
             FROM ledger_movements ORDER BY sequence",
            &[],
        )? {
            t.ledger.push((
                r.get::<_, i64>(0) as u64,
                LedgerMovement {
                    from: account_from([r.get(1), r.get(2), r.get(3), r.get(4)])?,
                    to: account_from([r.get(5), r.get(6), r.get(7), r.get(8)])?,
                    amount: r.get::<_, i64>(9) as u64,
                    kind: transfer_from(r.get(10))?,
                },
            ));
        }
        Ok(t)
    }

    /// Reads the positions table back: the latest `Position` of each party and market.
    pub fn load_positions(
        &mut self,
    ) -> Result<FxHashMap<(PartyId, MarketId), Position>, RemoteError> {
        let c = self.client()?;
        let mut out = FxHashMap::default();
        for r in c.query(
            "SELECT party, market, open_volume, average_entry_price, realised_pnl, unrealised_pnl FROM positions",
            &[],
        )? {
            let p = Position {
                party: PartyId(narrow(r.get(0), "party")?),
                market: MarketId(narrow(r.get(1), "market")?),
                open_volume: r.get(2),
                average_entry_price: r.get::<_, i64>(3) as u64,
                realised_pnl: r.get(4),
                unrealised_pnl: r.get(5),
            };
            out.insert((p.party, p.market), p);
        }
        Ok(out)
    }

    /// Drops every table of the ringbus schema (stores, cursor, schema version) at `url`: the
    /// next writer starts from an empty database. For benchmarks and fresh runs only.
    pub fn drop_tables(url: &ServiceUrl, options: &PgOptions) -> Result<(), RemoteError> {
        let (config, tls) = pg_config(url, options)?;
        let mut client = pg_connect(&config, &tls).map_err(|source| {
            if is_pg_tls_error(&source) {
                RemoteError::PgTls {
                    url: url.clone(),
                    source,
                }
            } else {
                RemoteError::PgConnect {
                    url: url.clone(),
                    waited: options.connect_timeout,
                    source,
                }
            }
        })?;
        client.batch_execute(
            "DROP TABLE IF EXISTS ringbus_schema_version, ringbus_cursor, ringbus_stream, blocks,
                 accounts, orders, trades, ledger_movements, positions",
        )?;
        Ok(())
    }

    /// The connection, for reading the store with SQL of one's own.
    pub fn client_mut(&mut self) -> Result<&mut Client, RemoteError> {
        self.client()
    }
}

/// One statement per block (its own transaction, the cursor in it). A lost connection is
/// re-established within the attempt (for [`PgOptions::reconnect_timeout`]) and the cursor
/// read again: a block found committed already is not applied again. Other refusals are
/// the writer's to retry, [`PgOptions::max_attempts`] times.
impl BlockStore for PgStore {
    type Error = RemoteError;
    type Failure = postgres::Error;
    const NAME: &'static str = "PostgreSQL";

    fn commit(&mut self, block: &Block<'_>) -> CommitResult<Self> {
        self.stage(block.events());
        let before = self.last_committed;
        loop {
            if self.conn.is_none() {
                let since = self.lost_since(block);
                match self.reconnect(since) {
                    Ok(()) => {}
                    Err(RemoteError::PgConnect { source, .. }) => {
                        return Err(CommitError::GiveUp(source))
                    }
                    Err(e) => return Err(CommitError::Fatal(e)),
                }
                if self.last_committed < before {
                    // Only an asynchronous commit can be lost by a server crash: the blocks
                    // after the cursor are gone from the server and from the bus.
                    return Err(CommitError::Fatal(RemoteError::PgLostCommits {
                        cursor: self.last_committed,
                        committed: before,
                    }));
                }
                if self.last_committed.is_some_and(|c| c >= block.last()) {
                    // The commit reached the server before the connection was lost.
                    tracing::info!(
                        height = block.height(),
                        "block was committed before the connection was lost; not applying it again"
                    );
                    self.stats.already_committed += 1;
                    return Ok(());
                }
            }
            match self.try_commit(block) {
                Ok(()) => {
                    self.last_committed = Some(block.last());
                    self.block_height = block.height();
                    self.stats.blocks += 1;
                    if let Some(identity) = self.record.take() {
                        self.held = HeldStream::Stream(identity);
                    }
                    return Ok(());
                }
                Err(RemoteError::Pg(e)) if is_connection_error(&e) || self.is_closed() => {
                    tracing::warn!(url = %self.url, height = block.height(), %e, "lost the PostgreSQL connection; reconnecting");
                    self.conn = None;
                    self.stats.retries += 1;
                }
                Err(RemoteError::Pg(e)) => {
                    self.stats.retries += 1;
                    return Err(CommitError::Retry(e));
                }
                Err(e) => return Err(CommitError::Fatal(e)),
            }
        }
    }

    fn refused(&self, block: Refused, source: postgres::Error) -> RemoteError {
        RemoteError::PgRefused { block, source }
    }

    fn last_committed(&self) -> Option<u64> {
        self.last_committed
    }

    fn last_committed_height(&self) -> Option<u64> {
        self.last_committed.map(|_| self.block_height)
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.options.max_attempts.max(1),
            backoff: Backoff::new(self.options.retry_backoff, Duration::from_secs(1)),
        }
    }

    fn held_stream(&self) -> &HeldStream {
        &self.held
    }

    fn record_stream(&mut self, identity: StreamIdentity) {
        self.record = Some(identity);
    }

    fn foreign(&self, held: HeldStream, incoming: Option<StreamIdentity>) -> RemoteError {
        RemoteError::from(ForeignStream {
            store: format!("the PostgreSQL database {}", self.url),
            held,
            incoming,
        })
    }
}

/// The parsed connection string: it names at least one host (a string without one would
/// otherwise be retried until the reconnect timeout).
fn parse_config(url: &ServiceUrl) -> Result<Config, RemoteError> {
    let config = Config::from_str(url.expose()).map_err(|source| RemoteError::PgUrl {
        url: url.clone(),
        source,
    })?;
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        return Err(RemoteError::PgNoHost { url: url.clone() });
    }
    Ok(config)
}

impl ServiceUrl {
    /// Checks, without connecting, that this is a PostgreSQL connection string the client
    /// accepts (a `postgres://` or `postgresql://` URL, or `key=value` pairs) and that it
    /// names a host: one that can never work is refused at once.
    ///
    /// ```
    /// use ringbus_remote::{RemoteError, ServiceUrl};
    /// assert!(ServiceUrl::new("postgres://u:pw@db:5432/x").check_postgres().is_ok());
    /// assert!(ServiceUrl::new("host=db user=u dbname=x").check_postgres().is_ok());
    /// let err = ServiceUrl::new("http://nowhere").check_postgres().unwrap_err();
    /// assert!(matches!(err, RemoteError::PgUrl { .. }), "{err}");
    /// let err = ServiceUrl::new("user=u dbname=x").check_postgres().unwrap_err();
    /// assert!(matches!(err, RemoteError::PgNoHost { .. }), "{err}");
    /// ```
    pub fn check_postgres(&self) -> Result<(), RemoteError> {
        parse_config(self).map(drop)
    }
}

/// The parsed URL with the connect timeout, and the TLS connector for `options.ca_file`.
fn pg_config(
    url: &ServiceUrl,
    options: &PgOptions,
) -> Result<(Config, MakeRustlsConnect), RemoteError> {
    let mut config = parse_config(url)?;
    config.connect_timeout(options.connect_timeout);
    let tls = MakeRustlsConnect::new(tls::client_config(options.ca_file.as_deref())?);
    Ok((config, tls))
}

fn pg_connect(config: &Config, tls: &MakeRustlsConnect) -> Result<Client, postgres::Error> {
    if config.get_ssl_mode() == SslMode::Disable {
        // Not even the roots are needed; NoTls also keeps this path as it always was.
        config.connect(NoTls)
    } else {
        config.connect(tls.clone())
    }
}

/// A failed TLS handshake or `sslmode=require` against a server without TLS.
fn is_pg_tls_error(e: &postgres::Error) -> bool {
    // tokio-postgres's TLS error kind is private; its message is the stable part.
    tls::is_tls_error(e) || e.to_string().starts_with("error performing TLS handshake")
}

fn narrow<T: TryFrom<i64>>(v: i64, what: &'static str) -> Result<T, RemoteError> {
    T::try_from(v).map_err(|_| {
        RemoteError::Corrupt(ringbus_consumers::StoreError::Corrupt { what, value: v })
    })
}

/// Creates or migrates the schema, under an advisory lock, in one transaction.
fn migrate(client: &mut Client) -> Result<(), RemoteError> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::MIGRATION_LOCK],
    )?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ringbus_schema_version (
            version    integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM ringbus_schema_version",
            &[],
        )?
        .get(0);
    if current > schema::VERSION {
        return Err(RemoteError::SchemaTooNew {
            found: current,
            known: schema::VERSION,
        });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i32 + 1;
        tracing::info!(version, "migrating the PostgreSQL schema");
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO ringbus_schema_version (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Whether `e` means the connection is gone (a restarted, stopping or unreachable server)
/// rather than a refusal of the statement.
fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        // 08: connection exception; 57P01..03: admin/crash shutdown, cannot connect now.
        return c.starts_with("08") || c.starts_with("57P");
    }
    // No SQLSTATE: an I/O error, a timeout, a closed socket.
    e.as_db_error().is_none()
}

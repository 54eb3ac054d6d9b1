//! The SQLite schema. Every table row carries the sequence of the event that wrote it; the
//! `cursor` row holds the last committed sequence, written in the same transaction as the
//! block it closes; the `stream` row the identity of the stream the store holds, written
//! with the first block (a store from before identities has no row).

/// Creates the tables if they do not exist.
pub(crate) const CREATE: &str = "
CREATE TABLE IF NOT EXISTS cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_sequence INTEGER NOT NULL,
    block_height  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stream (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    identity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    height         INTEGER PRIMARY KEY,
    time           INTEGER NOT NULL,
    hash           INTEGER NOT NULL,
    tx_count       INTEGER NOT NULL,
    first_sequence INTEGER NOT NULL,
    last_sequence  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    owner    INTEGER NOT NULL,
    market   INTEGER NOT NULL,
    asset    INTEGER NOT NULL,
    kind     INTEGER NOT NULL,
    balance  INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (owner, market, asset, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
    id            INTEGER PRIMARY KEY,
    market        INTEGER NOT NULL,
    party         INTEGER NOT NULL,
    side          INTEGER NOT NULL,
    price         INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    remaining     INTEGER NOT NULL,
    status        INTEGER NOT NULL,
    order_type    INTEGER NOT NULL,
    time_in_force INTEGER NOT NULL,
    sequence      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS trades (
    sequence   INTEGER PRIMARY KEY,
    id         INTEGER NOT NULL,
    market     INTEGER NOT NULL,
    price      INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    buyer      INTEGER NOT NULL,
    seller     INTEGER NOT NULL,
    aggressor  INTEGER NOT NULL,
    buy_order  INTEGER NOT NULL,
    sell_order INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_movements (
    sequence    INTEGER PRIMARY KEY,
    from_owner  INTEGER NOT NULL,
    from_market INTEGER NOT NULL,
    from_asset  INTEGER NOT NULL,
    from_kind   INTEGER NOT NULL,
    to_owner    INTEGER NOT NULL,
    to_market   INTEGER NOT NULL,
    to_asset    INTEGER NOT NULL,
    to_kind     INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    kind        INTEGER NOT NULL
);
";

pub(crate) const UPSERT_ACCOUNT: &str = "INSERT INTO accounts (owner, market, asset, kind, balance, sequence)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (owner, market, asset, kind) DO UPDATE SET balance = excluded.balance, sequence = excluded.sequence";

pub(crate) const UPSERT_ORDER: &str = "INSERT INTO orders (id, market, party, side, price, size, remaining, status, order_type, time_in_force, sequence)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
     ON CONFLICT (id) DO UPDATE SET market = excluded.market, party = excluded.party, side = excluded.side,
        price = excluded.price, size = excluded.size, remaining = excluded.remaining, status = excluded.status,
        order_type = excluded.order_type, time_in_force = excluded.time_in_force, sequence = excluded.sequence";

pub(crate) const INSERT_TRADE: &str = "INSERT INTO trades (sequence, id, market, price, size, buyer, seller, aggressor, buy_order, sell_order)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

pub(crate) const INSERT_LEDGER: &str = "INSERT INTO ledger_movements (sequence, from_owner, from_market, from_asset, from_kind, to_owner, to_market, to_asset, to_kind, amount, kind)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

pub(crate) const INSERT_BLOCK: &str =
    "INSERT INTO blocks (height, time, hash, tx_count, first_sequence, last_sequence)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

pub(crate) const GET_IDENTITY: &str = "SELECT identity FROM stream WHERE id = 1";

pub(crate) const GET_CURSOR: &str = "SELECT last_sequence, block_height FROM cursor WHERE id = 1";

pub(crate) const INSERT_IDENTITY: &str = "INSERT INTO stream (id, identity) VALUES (1, ?1)";

pub(crate) const SET_CURSOR: &str = "INSERT INTO cursor (id, last_sequence, block_height) VALUES (1, ?1, ?2)
     ON CONFLICT (id) DO UPDATE SET last_sequence = excluded.last_sequence, block_height = excluded.block_height";

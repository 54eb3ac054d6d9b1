//! The PostgreSQL schema and its migrations. Every row carries the sequence of the event that
//! wrote it; the `ringbus_cursor` row holds the last committed sequence (-1: none), written in
//! the same transaction as the block it closes; the `ringbus_stream` row the identity of the
//! stream the database holds, written with the first block (a database from before schema
//! version 3, or written from a stream of unknown identity, has none). Enum columns use the SQLite store's codes
//! ([`ringbus_consumers::codec`]); unsigned 64-bit values are stored bit for bit in `bigint`.

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`. Append, never edit.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the stores of the SQLite writer.
    "
CREATE TABLE ringbus_cursor (
    id            integer PRIMARY KEY CHECK (id = 1),
    last_sequence bigint NOT NULL,
    block_height  bigint NOT NULL
);
INSERT INTO ringbus_cursor VALUES (1, -1, 0);
CREATE TABLE blocks (
    height         bigint PRIMARY KEY,
    time           bigint NOT NULL,
    hash           bigint NOT NULL,
    tx_count       bigint NOT NULL,
    first_sequence bigint NOT NULL,
    last_sequence  bigint NOT NULL
);
CREATE TABLE accounts (
    owner    bigint NOT NULL,
    market   bigint NOT NULL,
    asset    bigint NOT NULL,
    kind     bigint NOT NULL,
    balance  bigint NOT NULL,
    sequence bigint NOT NULL,
    PRIMARY KEY (owner, market, asset, kind)
);
CREATE TABLE orders (
    id            bigint PRIMARY KEY,
    market        bigint NOT NULL,
    party         bigint NOT NULL,
    side          bigint NOT NULL,
    price         bigint NOT NULL,
    size          bigint NOT NULL,
    remaining     bigint NOT NULL,
    status        bigint NOT NULL,
    order_type    bigint NOT NULL,
    time_in_force bigint NOT NULL,
    sequence      bigint NOT NULL
);
CREATE TABLE trades (
    sequence   bigint PRIMARY KEY,
    id         bigint NOT NULL,
    market     bigint NOT NULL,
    price      bigint NOT NULL,
    size       bigint NOT NULL,
    buyer      bigint NOT NULL,
    seller     bigint NOT NULL,
    aggressor  bigint NOT NULL,
    buy_order  bigint NOT NULL,
    sell_order bigint NOT NULL
);
CREATE TABLE ledger_movements (
    sequence    bigint PRIMARY KEY,
    from_owner  bigint NOT NULL,
    from_market bigint NOT NULL,
    from_asset  bigint NOT NULL,
    from_kind   bigint NOT NULL,
    to_owner    bigint NOT NULL,
    to_market   bigint NOT NULL,
    to_asset    bigint NOT NULL,
    to_kind     bigint NOT NULL,
    amount      bigint NOT NULL,
    kind        bigint NOT NULL
);
",
    // 2: positions (latest per party and market).
    "
CREATE TABLE positions (
    party               bigint NOT NULL,
    market              bigint NOT NULL,
    open_volume         bigint NOT NULL,
    average_entry_price bigint NOT NULL,
    realised_pnl        bigint NOT NULL,
    unrealised_pnl      bigint NOT NULL,
    sequence            bigint NOT NULL,
    PRIMARY KEY (party, market)
);
",
    // 3: the identity of the stream the stores hold.
    "
CREATE TABLE ringbus_stream (
    id       integer PRIMARY KEY CHECK (id = 1),
    identity text NOT NULL
);
",
];

/// The schema version this build writes.
pub(crate) const VERSION: i32 = MIGRATIONS.len() as i32;

/// Serialises concurrent migrations (a transaction-scoped advisory lock; the key is
/// arbitrary, "ringbus" in ASCII).
pub(crate) const MIGRATION_LOCK: i64 = 0x72_69_6e_67_62_75_73;

/// One whole block in one statement (so one round trip, and atomic on its own): the cursor
/// moves only if it is still where this writer saw it (`$7`), and every insert takes its rows
/// only if it did (`EXISTS (SELECT 1 FROM c)`): a second writer on the same database changes
/// nothing and sees 0. Rows come as column arrays (`unnest`), one array per column. With the
/// first block (the cursor at -1), `$53` is the stream's identity, recorded with it.
pub(crate) const COMMIT_BLOCK: &str = "WITH c AS (
    UPDATE ringbus_cursor SET last_sequence = $6::bigint, block_height = $1::bigint
    WHERE id = 1 AND last_sequence = $7::bigint
    RETURNING 1
), b AS (
    INSERT INTO blocks (height, time, hash, tx_count, first_sequence, last_sequence)
    SELECT $1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::bigint FROM c
), a AS (
    INSERT INTO accounts (owner, market, asset, kind, balance, sequence)
    SELECT * FROM unnest($8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
    WHERE EXISTS (SELECT 1 FROM c)
    ON CONFLICT (owner, market, asset, kind) DO UPDATE SET balance = excluded.balance, sequence = excluded.sequence
), o AS (
    INSERT INTO orders (id, market, party, side, price, size, remaining, status, order_type, time_in_force, sequence)
    SELECT * FROM unnest($14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[],
                         $20::bigint[], $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[])
    WHERE EXISTS (SELECT 1 FROM c)
    ON CONFLICT (id) DO UPDATE SET market = excluded.market, party = excluded.party, side = excluded.side,
       price = excluded.price, size = excluded.size, remaining = excluded.remaining, status = excluded.status,
       order_type = excluded.order_type, time_in_force = excluded.time_in_force, sequence = excluded.sequence
), t AS (
    INSERT INTO trades (sequence, id, market, price, size, buyer, seller, aggressor, buy_order, sell_order)
    SELECT * FROM unnest($25::bigint[], $26::bigint[], $27::bigint[], $28::bigint[], $29::bigint[], $30::bigint[],
                         $31::bigint[], $32::bigint[], $33::bigint[], $34::bigint[])
    WHERE EXISTS (SELECT 1 FROM c)
), l AS (
    INSERT INTO ledger_movements (sequence, from_owner, from_market, from_asset, from_kind, to_owner, to_market, to_asset, to_kind, amount, kind)
    SELECT * FROM unnest($35::bigint[], $36::bigint[], $37::bigint[], $38::bigint[], $39::bigint[], $40::bigint[],
                         $41::bigint[], $42::bigint[], $43::bigint[], $44::bigint[], $45::bigint[])
    WHERE EXISTS (SELECT 1 FROM c)
), s AS (
    INSERT INTO ringbus_stream (id, identity)
    SELECT 1, $53::text FROM c WHERE $53::text IS NOT NULL
), p AS (
    INSERT INTO positions (party, market, open_volume, average_entry_price, realised_pnl, unrealised_pnl, sequence)
    SELECT * FROM unnest($46::bigint[], $47::bigint[], $48::bigint[], $49::bigint[], $50::bigint[], $51::bigint[], $52::bigint[])
    WHERE EXISTS (SELECT 1 FROM c)
    ON CONFLICT (party, market) DO UPDATE SET open_volume = excluded.open_volume,
       average_entry_price = excluded.average_entry_price, realised_pnl = excluded.realised_pnl,
       unrealised_pnl = excluded.unrealised_pnl, sequence = excluded.sequence
)
SELECT count(*) FROM c";

/// The recorded identity, if any.
pub(crate) const GET_IDENTITY: &str = "SELECT identity FROM ringbus_stream WHERE id = 1";

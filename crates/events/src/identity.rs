//! The identity of an event stream: which chain it comes from and how it was generated, so
//! that a log or a store can tell its own stream from another one.

use crate::BlockHash;
use std::fmt;
use std::str::FromStr;

/// Which stream events belong to: the chain's id and genesis block hash, and the seed and
/// configuration of the generator that made them (the simulator's).
///
/// Two runs give the same stream, byte for byte, exactly when their identities are equal.
/// It is deterministic (no wall-clock time, no host name): the source computes it before
/// the first event. It is written in the event log's header, and every store records the
/// identity of the stream it holds and refuses events of another one.
///
/// Its text form ([`Display`](fmt::Display), [`FromStr`]) is canonical, one line, and the
/// same everywhere it is stored:
/// `chain=<id> genesis=<16 hex digits> seed=<decimal>[ <configuration>]`.
///
/// ```
/// use ringbus_events::{BlockHash, StreamIdentity};
/// let id = StreamIdentity::new("ringbus-sim", BlockHash(0xbeef), 42, "blocks=10 markets=2")?;
/// let text = id.to_string();
/// assert_eq!(text, "chain=ringbus-sim genesis=000000000000beef seed=42 blocks=10 markets=2");
/// assert_eq!(text.parse::<StreamIdentity>()?, id);
/// # Ok::<(), ringbus_events::IdentityError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamIdentity {
    // Boxed: an identity never changes, and errors that name two stay small.
    chain_id: Box<str>,
    genesis_hash: BlockHash,
    seed: u64,
    config: Box<str>,
}

/// Longest chain id.
pub const MAX_CHAIN_ID_LEN: usize = 64;
/// Longest configuration text.
pub const MAX_CONFIG_LEN: usize = 512;

/// Why a [`StreamIdentity`] cannot be made or parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The chain id is empty, too long, or has a character outside `A-Z a-z 0-9 . _ -`.
    #[error("chain id {0:?}: expected 1 to {MAX_CHAIN_ID_LEN} letters, digits, '.', '_' or '-'")]
    ChainId(String),
    /// The configuration is not printable ASCII words separated by single spaces, or too long.
    #[error(
        "configuration {0:?}: expected printable ASCII words separated by single spaces, \
         at most {MAX_CONFIG_LEN} bytes"
    )]
    Config(String),
    /// The text is not `chain=… genesis=… seed=…[ configuration]`.
    #[error("not a stream identity ({reason}): {text:?}")]
    Malformed {
        /// The text (at most its first 80 characters).
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl StreamIdentity {
    /// The identity of a stream of chain `chain_id` whose genesis block has `genesis_hash`,
    /// generated with `seed` and `config` (canonical text, e.g. `key=value` words; empty if
    /// there is nothing more to say).
    ///
    /// ```
    /// use ringbus_events::{BlockHash, IdentityError, StreamIdentity};
    /// assert!(matches!(
    ///     StreamIdentity::new("two words", BlockHash(1), 0, ""),
    ///     Err(IdentityError::ChainId(_))
    /// ));
    /// assert!(StreamIdentity::new("sim", BlockHash(1), 0, "a  b").is_err());
    /// ```
    pub fn new(
        chain_id: impl Into<String>,
        genesis_hash: BlockHash,
        seed: u64,
        config: impl Into<String>,
    ) -> Result<Self, IdentityError> {
        let (chain_id, config) = (chain_id.into(), config.into());
        if !valid_chain_id(&chain_id) {
            return Err(IdentityError::ChainId(chain_id));
        }
        if !valid_config(&config) {
            return Err(IdentityError::Config(config));
        }
        Ok(StreamIdentity {
            chain_id: chain_id.into(),
            genesis_hash,
            seed,
            config: config.into(),
        })
    }

    /// The chain's id (`ringbus-sim` for the simulator).
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The hash of the chain's genesis block (the block at height 1).
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis_hash
    }

    /// The generator's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The generator's configuration, as canonical text.
    pub fn config(&self) -> &str {
        &self.config
    }
}

fn valid_chain_id(s: &str) -> bool {
    (1..=MAX_CHAIN_ID_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn valid_config(s: &str) -> bool {
    s.len() <= MAX_CONFIG_LEN
        && (s.is_empty()
            || s.split(' ')
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_graphic())))
}

impl fmt::Display for StreamIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chain={} genesis={:016x} seed={}",
            self.chain_id, self.genesis_hash.0, self.seed
        )?;
        if !self.config.is_empty() {
            write!(f, " {}", self.config)?;
        }
        Ok(())
    }
}

impl FromStr for StreamIdentity {
    type Err = IdentityError;

    /// Parses the canonical text form, and only it: `parse` then `to_string` gives the
    /// same text back.
    ///
    /// ```
    /// use ringbus_events::StreamIdentity;
    /// assert!("chain=sim genesis=00000000000000ff seed=7".parse::<StreamIdentity>().is_ok());
    /// assert!("chain=sim genesis=ff seed=7".parse::<StreamIdentity>().is_err());
    /// assert!("chain=sim genesis=00000000000000ff seed=07".parse::<StreamIdentity>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = |reason| IdentityError::Malformed {
            text: text.chars().take(80).collect(),
            reason,
        };
        let mut parts = text.splitn(4, ' ');
        let mut field = |key: &str, reason| {
            parts
                .next()
                .and_then(|p| p.strip_prefix(key))
                .ok_or_else(|| malformed(reason))
        };
        let chain_id = field("chain=", "no chain=")?;
        let genesis = field("genesis=", "no genesis= after the chain")?;
        let seed = field("seed=", "no seed= after the genesis hash")?;
        let config = parts.next().unwrap_or("");
        if genesis.len() != 16
            || !genesis
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(malformed("the genesis hash is not 16 lowercase hex digits"));
        }
        let genesis = u64::from_str_radix(genesis, 16)
            .map_err(|_| malformed("the genesis hash is not 16 lowercase hex digits"))?;
        let seed_value: u64 = seed
            .parse()
            .map_err(|_| malformed("the seed is not a decimal number"))?;
        if seed_value.to_string() != seed {
            return Err(malformed("the seed is not in canonical decimal"));
        }
        if config.is_empty() && text.ends_with(' ') {
            return Err(malformed("a trailing space"));
        }
        StreamIdentity::new(chain_id, BlockHash(genesis), seed_value, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_is_canonical() {
        let id = StreamIdentity::new("ringbus-sim", BlockHash(u64::MAX), u64::MAX, "").unwrap();
        assert_eq!(
            id.to_string(),
            "chain=ringbus-sim genesis=ffffffffffffffff seed=18446744073709551615"
        );
        assert_eq!(id.to_string().parse::<StreamIdentity>().unwrap(), id);
        for bad in [
            "",
            "chain=",
            "chain=a genesis=0000000000000000",
            "chain=a genesis=0000000000000000 seed=",
            "chain=a genesis=0000000000000000 seed=1 ",
            "chain=a genesis=0000000000000000 seed=1 x  y",
            "chain=a genesis=000000000000000G seed=1",
            "chain=a genesis=00000000000000000 seed=1",
            "chain=a genesis=0000000000000000 seed=+1",
            "chain=a genesis=0000000000000000 seed=18446744073709551616",
            "chain=a b genesis=0000000000000000 seed=1",
            "genesis=0000000000000000 chain=a seed=1",
            "chain=a genesis=0000000000000000 seed=1 caf\u{e9}",
        ] {
            assert!(bad.parse::<StreamIdentity>().is_err(), "{bad:?}");
        }
        let long = "x".repeat(MAX_CONFIG_LEN + 1);
        assert!(StreamIdentity::new("a", BlockHash(0), 0, long).is_err());
        assert!(
            StreamIdentity::new("a".repeat(MAX_CHAIN_ID_LEN + 1), BlockHash(0), 0, "").is_err()
        );
    }
}

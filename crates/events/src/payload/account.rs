//! Accounts and the ledger movements between them.

use crate::{AssetId, MarketId, PartyId};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// Who owns an account: a party, or the network (insurance pools, settlement accounts).
///
/// ```
/// use ringbus_events::{AccountOwner, PartyId};
/// assert_eq!(AccountOwner::Party(PartyId(3)).party(), Some(PartyId(3)));
/// assert_eq!(AccountOwner::Network.party(), None);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum AccountOwner {
    /// The network itself.
    #[default]
    Network,
    /// A trading party.
    Party(PartyId),
}

impl AccountOwner {
    /// The owning party, if a party owns it.
    ///
    /// ```
    /// use ringbus_events::AccountOwner;
    /// assert!(AccountOwner::default().party().is_none());
    /// ```
    pub const fn party(self) -> Option<PartyId> {
        match self {
            AccountOwner::Network => None,
            AccountOwner::Party(p) => Some(p),
        }
    }
}

/// What an account is for.
///
/// ```
/// use ringbus_events::AccountType;
/// assert_eq!(AccountType::default(), AccountType::General);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum AccountType {
    /// A party's free funds in an asset (no market).
    #[default]
    General,
    /// A party's margin posted in one market.
    Margin,
    /// A market's insurance pool (owned by the network).
    Insurance,
    /// A market's transient settlement account for mark-to-market (owned by the network).
    Settlement,
    /// Fees collected by the network.
    Fees,
}

/// The identity of an account: owner, market (none for general accounts), asset and type.
///
/// ```
/// use ringbus_events::{AccountId, AccountType, AssetId, MarketId, PartyId};
/// let general = AccountId::general(PartyId(1), AssetId(0));
/// let margin = AccountId::margin(PartyId(1), MarketId(2), AssetId(0));
/// let pool = AccountId::insurance(MarketId(2), AssetId(0));
/// assert_eq!(general.market, None);
/// assert_eq!(margin.kind, AccountType::Margin);
/// assert!(pool.owner.party().is_none());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct AccountId {
    /// Owner.
    pub owner: AccountOwner,
    /// Market, for market-scoped accounts.
    pub market: Option<MarketId>,
    /// Asset held.
    pub asset: AssetId,
    /// Account type.
    pub kind: AccountType,
}

impl AccountId {
    /// A party's general account in `asset`.
    ///
    /// ```
    /// use ringbus_events::{AccountId, AssetId, PartyId};
    /// assert!(AccountId::general(PartyId(1), AssetId(0)).market.is_none());
    /// ```
    pub const fn general(party: PartyId, asset: AssetId) -> Self {
        AccountId {
            owner: AccountOwner::Party(party),
            market: None,
            asset,
            kind: AccountType::General,
        }
    }

    /// A party's margin account in `market`.
    ///
    /// ```
    /// use ringbus_events::{AccountId, AssetId, MarketId, PartyId};
    /// let a = AccountId::margin(PartyId(1), MarketId(4), AssetId(0));
    /// assert_eq!(a.market, Some(MarketId(4)));
    /// ```
    pub const fn margin(party: PartyId, market: MarketId, asset: AssetId) -> Self {
        AccountId {
            owner: AccountOwner::Party(party),
            market: Some(market),
            asset,
            kind: AccountType::Margin,
        }
    }

    /// A market's insurance pool.
    ///
    /// ```
    /// use ringbus_events::{AccountId, AccountType, AssetId, MarketId};
    /// assert_eq!(AccountId::insurance(MarketId(1), AssetId(0)).kind, AccountType::Insurance);
    /// ```
    pub const fn insurance(market: MarketId, asset: AssetId) -> Self {
        AccountId {
            owner: AccountOwner::Network,
            market: Some(market),
            asset,
            kind: AccountType::Insurance,
        }
    }

    /// A market's settlement account (mark-to-market passes through it).
    ///
    /// ```
    /// use ringbus_events::{AccountId, AccountType, AssetId, MarketId};
    /// assert_eq!(AccountId::settlement(MarketId(1), AssetId(0)).kind, AccountType::Settlement);
    /// ```
    pub const fn settlement(market: MarketId, asset: AssetId) -> Self {
        AccountId {
            owner: AccountOwner::Network,
            market: Some(market),
            asset,
            kind: AccountType::Settlement,
        }
    }
}

/// An account's balance after a change.
///
/// ```
/// use ringbus_events::{Account, AccountId, AssetId, PartyId};
/// let a = Account { id: AccountId::general(PartyId(1), AssetId(0)), balance: 1_000 };
/// assert_eq!(a.balance, 1_000);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct Account {
    /// Which account.
    #[event(market, party)]
    pub id: AccountId,
    /// Its balance now, in the asset's smallest unit.
    pub balance: u64,
}

/// Why money moved.
///
/// ```
/// use ringbus_events::TransferType;
/// assert_eq!(TransferType::default(), TransferType::Deposit);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransferType {
    /// Into a general account from outside.
    #[default]
    Deposit,
    /// Out of a general account to outside.
    Withdrawal,
    /// General to margin: margin topped up to the initial level.
    MarginLow,
    /// Margin to general: margin above the release level returned.
    MarginHigh,
    /// Margin to settlement: a mark-to-market loss.
    MtmLoss,
    /// Settlement to margin: a mark-to-market win.
    MtmWin,
    /// A closed-out party's remaining margin to the insurance pool.
    Closeout,
    /// Insurance pool to settlement: covering a loss a distressed party could not pay.
    InsuranceDrawdown,
    /// Trading fees to the fees account.
    Fee,
}

/// Money moved from one account to another.
///
/// ```
/// use ringbus_events::{AccountId, AssetId, LedgerMovement, MarketId, PartyId, TransferType};
/// let m = LedgerMovement {
///     from: AccountId::general(PartyId(1), AssetId(0)),
///     to: AccountId::margin(PartyId(1), MarketId(0), AssetId(0)),
///     amount: 50,
///     kind: TransferType::MarginLow,
/// };
/// assert_eq!(m.amount, 50);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct LedgerMovement {
    /// Debited account.
    #[event(market, party)]
    pub from: AccountId,
    /// Credited account.
    #[event(market, party)]
    pub to: AccountId,
    /// Amount moved.
    pub amount: u64,
    /// Why.
    pub kind: TransferType,
}

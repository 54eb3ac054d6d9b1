//! The event interfaces, asked of every payload kind: the market, the parties, the transaction.

use ringbus_events::*;

const M: MarketId = MarketId(7);
const A: PartyId = PartyId(11);
const B: PartyId = PartyId(12);

/// One payload of `topic` whose market fields are `M` and party fields `A` (and `B` where a
/// kind has a second party), with the answers the interfaces must give. The match is
/// exhaustive: a new topic does not compile until it is listed here.
fn sample(topic: EventTopic) -> (Payload, Option<MarketId>, Vec<PartyId>) {
    use EventTopic as T;
    let asset = AssetId(0);
    match topic {
        T::BeginBlock => (BeginBlock::default().into(), None, vec![]),
        T::EndBlock => (EndBlock::default().into(), None, vec![]),
        T::TxResult => (TxResult::default().into(), None, vec![]),
        T::TimeUpdate => (TimeUpdate::default().into(), None, vec![]),
        T::Order => (
            Order {
                market: M,
                party: A,
                ..Order::default()
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::Trade => (
            Trade {
                market: M,
                buyer: A,
                seller: B,
                ..Trade::default()
            }
            .into(),
            Some(M),
            vec![A, B],
        ),
        T::Account => (
            Account {
                id: AccountId::margin(A, M, asset),
                balance: 1,
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::LedgerMovement => (
            LedgerMovement {
                from: AccountId::margin(A, M, asset),
                to: AccountId::settlement(M, asset),
                amount: 3,
                kind: TransferType::MtmLoss,
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::Position => (
            Position {
                party: A,
                market: M,
                ..Position::default()
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::MarkPrice => (
            MarkPrice {
                market: M,
                price: 5,
            }
            .into(),
            Some(M),
            vec![],
        ),
        T::MarginLevels => (
            MarginLevels {
                party: A,
                market: M,
                ..MarginLevels::default()
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::SettlePosition => (
            SettlePosition {
                party: A,
                market: M,
                ..SettlePosition::default()
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::Distressed => (
            Distressed {
                market: M,
                parties: PartyList::from_slice(&[A, B]).unwrap(),
            }
            .into(),
            Some(M),
            vec![A, B],
        ),
        T::Closeout => (
            Closeout {
                party: A,
                market: M,
                ..Closeout::default()
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::LossSocialisation => (
            LossSocialisation {
                party: A,
                market: M,
                amount: -1,
            }
            .into(),
            Some(M),
            vec![A],
        ),
        T::InsurancePool => (
            InsurancePool {
                market: M,
                ..InsurancePool::default()
            }
            .into(),
            Some(M),
            vec![],
        ),
    }
}

#[test]
fn every_payload_kind_answers_its_market_and_parties() {
    for topic in EventTopic::ALL {
        let (payload, market, parties) = sample(topic);
        assert_eq!(payload.topic(), topic);
        assert_eq!(payload.market(), market, "{topic}");
        assert_eq!(payload.parties().as_slice(), parties.as_slice(), "{topic}");
        let event = Event::new(payload);
        assert_eq!(event.market(), market, "{topic}");
        assert_eq!(event.parties(), payload.parties(), "{topic}");
        for p in [A, B, PartyId(13)] {
            assert_eq!(event.touches(p), parties.contains(&p), "{topic} {p}");
        }
    }
}

#[test]
fn accounts_and_movements_answer_by_their_accounts() {
    let asset = AssetId(0);
    let general = Account {
        id: AccountId::general(A, asset),
        balance: 0,
    };
    assert_eq!(
        (general.market(), general.parties().as_slice()),
        (None, &[A][..])
    );
    let pool = Account {
        id: AccountId::insurance(M, asset),
        balance: 0,
    };
    assert_eq!((pool.market(), pool.parties().len()), (Some(M), 0));

    let movement = |from, to| LedgerMovement {
        from,
        to,
        amount: 1,
        kind: TransferType::MarginLow,
    };
    // A top-up moves one party's money between two of its accounts: one party, once.
    let top_up = movement(AccountId::general(A, asset), AccountId::margin(A, M, asset));
    assert_eq!(top_up.market(), Some(M));
    assert_eq!(top_up.parties().as_slice(), &[A]);
    // A deposit comes from outside: no market, the receiver only.
    let deposit = movement(
        AccountId {
            owner: AccountOwner::Network,
            market: None,
            asset,
            kind: AccountType::General,
        },
        AccountId::general(B, asset),
    );
    assert_eq!(
        (deposit.market(), deposit.parties().as_slice()),
        (None, &[B][..])
    );
    // Between two parties' accounts (none of the core's transfers, but the type allows it):
    // both, in field order.
    let between = movement(AccountId::margin(B, M, asset), AccountId::general(A, asset));
    assert_eq!(between.parties().as_slice(), &[B, A]);
}

#[test]
fn a_self_trade_names_its_party_once() {
    let t = Trade {
        buyer: A,
        seller: A,
        ..Trade::default()
    };
    assert_eq!(t.parties().as_slice(), &[A]);
}

#[test]
fn tx_comes_from_the_trigger_or_the_tx_result() {
    let hash = TxHash(42);
    for topic in EventTopic::ALL {
        let (payload, _, _) = sample(topic);
        let in_tx = Event {
            trigger: Trigger::Transaction(hash),
            ..Event::new(payload)
        };
        assert_eq!(in_tx.tx(), Some(hash), "{topic}");
        for trigger in [
            Trigger::Block(3),
            Trigger::Order(OrderId(1)),
            Trigger::PriceUpdate {
                market: M,
                sequence: 9,
            },
        ] {
            let outside = Event {
                trigger,
                ..Event::new(payload)
            };
            let expected = match payload {
                Payload::TxResult(r) => Some(r.tx_hash),
                _ => None,
            };
            assert_eq!(outside.tx(), expected, "{topic} {trigger:?}");
        }
    }
}

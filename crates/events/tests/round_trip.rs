//! Every payload variant survives the log and prints as readable JSON; encoding is
//! deterministic and compact.

mod common;

use common::*;
use ringbus_events::*;

#[test]
fn every_variant_round_trips_through_the_log() {
    for seed in 0..200 {
        let events = every_topic(seed * 100, seed);
        let bytes = log_bytes(&events);
        let back: Vec<Event> = EventLogReader::new(&bytes[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, events, "seed {seed}");
        for (e, t) in back.iter().zip(EventTopic::ALL) {
            assert_eq!(e.topic(), t);
        }
    }
}

#[test]
fn identical_input_gives_identical_bytes() {
    let a = log_bytes(&stream(500, 0, 42));
    let b = log_bytes(&stream(500, 0, 42));
    assert_eq!(a, b);
    assert_ne!(a, log_bytes(&stream(500, 0, 43)));
}

#[test]
fn the_format_is_pinned() {
    // A change here is a format change: bump FORMAT_VERSION and say so in docs/events.md.
    let e = Event {
        sequence: 1,
        block_height: 2,
        block_time: BlockTime(3),
        tx_index: Some(4),
        trigger: Trigger::Transaction(TxHash(5)),
        source: Source::Matching,
        payload: MarkPrice {
            market: MarketId(6),
            price: 7,
        }
        .into(),
    };
    let bytes = log_bytes(&[e]);
    let body = [1, 2, 6, 1, 4, 1, 5, 2, 9, 6, 7];
    let text = b"chain=test-chain genesis=0123456789abcdef seed=42 blocks=3 kind=test";
    let mut expected = b"RBUSEVLG\x02\0\0\0".to_vec();
    expected.extend_from_slice(&(text.len() as u32).to_le_bytes());
    expected.extend_from_slice(&crc32fast::hash(text).to_le_bytes());
    expected.extend_from_slice(text);
    expected.extend_from_slice(&(body.len() as u32).to_le_bytes());
    expected.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    expected.extend_from_slice(&body);
    assert_eq!(bytes, expected);

    // The same record in a version 1 log (no identity) reads back, identity unknown.
    let mut v1 = b"RBUSEVLG\x01\0\0\0".to_vec();
    v1.extend_from_slice(&expected[expected.len() - 8 - body.len()..]);
    let mut reader = EventLogReader::new(&v1[..]).unwrap();
    assert_eq!((reader.format_version(), reader.identity()), (1, None));
    assert_eq!(reader.next().unwrap().unwrap(), e);
    assert!(reader.next().is_none());
    let reader = EventLogReader::new(&bytes[..]).unwrap();
    assert_eq!(
        (reader.format_version(), reader.identity()),
        (2, Some(&identity()))
    );
}

#[test]
fn encoded_events_stay_far_below_the_body_limit() {
    let mut largest = 0;
    for seed in 0..2_000 {
        for e in every_topic(u64::MAX - 20, seed) {
            let len = postcard::to_allocvec(&e).unwrap().len();
            largest = largest.max(len);
        }
    }
    assert!(largest <= 128, "largest body {largest}");
    assert!(largest < log::format::MAX_BODY_LEN as usize);
}

#[test]
fn json_lines_name_topics_and_enums() {
    let events = every_topic(0, 7);
    let mut w = JsonLinesWriter::new(Vec::new());
    for e in &events {
        w.write(e).unwrap();
        assert_eq!(to_json_line(e).len() + 1, {
            let mut one = Vec::new();
            write_json_line(&mut one, e).unwrap();
            one.len()
        });
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    for (line, e) in text.lines().zip(&events) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["topic"], e.topic().name());
        assert_eq!(v["sequence"], e.sequence);
        assert!(v["payload"].is_object(), "{line}");
    }
    let trade = Event::new(Trade {
        aggressor: Side::Sell,
        ..Trade::default()
    });
    assert!(to_json_line(&trade).contains(r#""aggressor":"Sell""#));
    let rejected = Event::new(Order {
        status: OrderStatus::Rejected(ErrorCode::InsufficientMargin),
        ..Order::default()
    });
    assert!(to_json_line(&rejected).contains(r#""status":{"Rejected":"InsufficientMargin"}"#));
}

#[test]
fn events_round_trip_through_serde_json_too() {
    // The derived serde form (not the JSON-lines view) is lossless as well.
    for e in every_topic(0, 9) {
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }
}

#[test]
fn party_lists_refuse_more_than_capacity_when_decoded() {
    let too_many = serde_json::to_string(&vec![1u32; PartyList::CAPACITY + 1]).unwrap();
    assert!(serde_json::from_str::<PartyList>(&too_many).is_err());
    let ok = serde_json::to_string(&vec![1u32; PartyList::CAPACITY]).unwrap();
    assert_eq!(
        serde_json::from_str::<PartyList>(&ok).unwrap().len(),
        PartyList::CAPACITY
    );
}

#[test]
fn verify_counts_topics_blocks_and_failures() {
    // One event of every topic, framed as one block of height 7.
    let mut events = every_topic(0, 3);
    events.rotate_left(1); // BeginBlock last, EndBlock first
    events.swap(0, EventTopic::COUNT - 1); // BeginBlock first, EndBlock last
    for (i, e) in events.iter_mut().enumerate() {
        e.sequence = i as u64;
        match &mut e.payload {
            Payload::BeginBlock(b) => b.height = 7,
            Payload::EndBlock(b) => b.height = 7,
            _ => {}
        }
    }
    let failed = events
        .iter()
        .filter(|e| matches!(e.payload, Payload::TxResult(r) if !r.outcome.is_success()))
        .count() as u64;
    let bytes = log_bytes(&events);
    let s = verify(EventLogReader::new(&bytes[..]).unwrap()).unwrap();
    assert_eq!(s.records, EventTopic::COUNT as u64);
    assert_eq!(s.bytes, bytes.len() as u64);
    assert_eq!((s.first_sequence, s.last_sequence), (Some(0), Some(15)));
    assert_eq!((s.blocks, s.failed_txs), (1, failed));
    assert_eq!(
        (s.format_version, s.identity.as_ref()),
        (2, Some(&identity()))
    );
    for t in EventTopic::ALL {
        assert_eq!(s.count(t), 1, "{t}");
    }
    assert_eq!(
        s.to_string(),
        format!(
            "16 records, {} bytes, sequences 0..=15, 1 blocks, {failed} failed transactions; stream {}",
            bytes.len(),
            identity()
        )
    );
}

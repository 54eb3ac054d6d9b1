//! Derives for the ringbus event model (`ringbus-events`), so that what each payload kind
//! answers and what each topic is are written once, beside the data.
//!
//! * [`EventInterfaces`] on a payload struct: its `MarketEvent` and `PartyEvent` answers from
//!   the fields marked `#[event(market)]` and `#[event(party)]`.
//! * [`EventPayload`] on the payload enum: the topic enum (stable ids, names, parsing, the
//!   ring tag), its topic sets, the enum's `topic()`, its interface dispatch and the `From`
//!   conversions of every payload type.
//!
//! The generated code names `::ringbus_events` and `::ringbus_ring`; `ringbus-events` itself
//! uses the derives (it names itself with `extern crate self as ringbus_events`). See the
//! `ringbus-events` crate documentation for an example.

mod interfaces;
mod payload;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Implements `MarketEvent`, `PartyEvent` and `PayloadInterfaces` for a payload struct.
///
/// Mark the fields that carry its market with `#[event(market)]` (a `MarketId`, an
/// `Option<MarketId>` or an `AccountId`: the first present one, in field order, is the
/// market) and those that carry its parties with `#[event(party)]` (a `PartyId`, a
/// `PartyList`, an `AccountOwner` or an `AccountId`: all of them, each once, in field order).
/// A field may be both: `#[event(market, party)]`. A struct with no marked field belongs to no
/// market and touches no party.
#[proc_macro_derive(EventInterfaces, attributes(event))]
pub fn derive_event_interfaces(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    interfaces::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Generates, from a payload enum with one single-field variant per payload type, the topic
/// enum named by `#[event(topic = Name)]`, with the stable id each variant gives with
/// `#[event(id = N)]` (1..=255, unique); the variants' doc comments document the topics.
///
/// Generated: the topic enum (`ALL`, `COUNT`, `from_id`, `id`, `name`, `ring_topic`, the topic
/// sets `ALL_SET`, `WITH_MARKET` and `WITH_PARTIES`, `set`, conversions to and from the ring's
/// `Topic`, `Display`, `FromStr` ignoring case); on the enum `topic()`, `serialize_body` (the
/// variant's data without its name), `MarketEvent` and `PartyEvent` by variant; `From` each
/// payload type into the enum.
#[proc_macro_derive(EventPayload, attributes(event))]
pub fn derive_event_payload(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    payload::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

//! `#[derive(EventPayload)]`: a payload enum's topics, topic sets, interface dispatch and
//! conversions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Attribute, Data, DeriveInput, Error, Fields, Ident, LitInt, Result, Type};

/// One variant: its name (the topic's), its stable id, its payload type and its docs.
struct Topic {
    name: Ident,
    id: u8,
    payload: Type,
    docs: Vec<Attribute>,
}

pub(crate) fn expand(input: &DeriveInput) -> Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(Error::new_spanned(
            &input.ident,
            "`EventPayload` derives from the payload enum (one variant per topic); \
             derive `EventInterfaces` on a payload struct instead",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &input.generics,
            "payloads are plain fixed-size data: `EventPayload` takes no generics",
        ));
    }
    let topic_enum = topic_enum_name(input)?;
    let mut topics: Vec<Topic> = Vec::new();
    for variant in &data.variants {
        let id = variant_id(variant)?;
        let payload = match &variant.fields {
            Fields::Unnamed(f) if f.unnamed.len() == 1 => f.unnamed[0].ty.clone(),
            _ => {
                return Err(Error::new_spanned(
                    variant,
                    format!(
                        "each variant carries one payload type: `{0}({0})`",
                        variant.ident
                    ),
                ))
            }
        };
        if let Some(other) = topics.iter().find(|t| t.id == id) {
            return Err(Error::new_spanned(
                variant,
                format!(
                    "topic id {id} is already `{}`'s: ids are unique",
                    other.name
                ),
            ));
        }
        if let Some(other) = topics.iter().find(|t| t.payload == payload) {
            return Err(Error::new_spanned(
                &variant.fields,
                format!(
                    "this payload type is already `{}`'s: each type is one topic's, \
                     so that converting it into the enum is unambiguous",
                    other.name
                ),
            ));
        }
        topics.push(Topic {
            name: variant.ident.clone(),
            id,
            payload,
            docs: variant
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
        });
    }
    if topics.is_empty() {
        return Err(Error::new_spanned(
            &input.ident,
            "a payload enum needs at least one variant (topic)",
        ));
    }
    topics.sort_by_key(|t| t.id);
    Ok(generate(input, &topic_enum, &topics))
}

/// The name given by `#[event(topic = Name)]`.
fn topic_enum_name(input: &DeriveInput) -> Result<Ident> {
    let mut name = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("topic") {
                if name.is_some() {
                    return Err(meta.error("the topic enum is already named"));
                }
                name = Some(meta.value()?.parse::<Ident>()?);
                Ok(())
            } else {
                Err(meta
                    .error("unknown attribute: the payload enum takes `#[event(topic = Name)]`"))
            }
        })?;
    }
    name.ok_or_else(|| {
        Error::new_spanned(
            &input.ident,
            "name the topic enum to generate: `#[event(topic = EventTopic)]`",
        )
    })
}

/// The id given by `#[event(id = N)]` on a variant.
fn variant_id(variant: &syn::Variant) -> Result<u8> {
    let mut id = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("id") {
                return Err(meta.error("unknown attribute: a variant takes `#[event(id = N)]`"));
            }
            if id.is_some() {
                return Err(meta.error("the topic id is already given"));
            }
            let lit: LitInt = meta.value()?.parse()?;
            match lit.base10_parse::<u8>() {
                Ok(n @ 1..) => id = Some(n),
                _ => {
                    return Err(Error::new_spanned(
                        &lit,
                        "topic ids are 1..=255 (0 is the tag of a slot never written)",
                    ))
                }
            }
            Ok(())
        })?;
    }
    id.ok_or_else(|| {
        Error::new_spanned(
            &variant.ident,
            format!(
                "give the topic `{}` its stable id: `#[event(id = N)]`, 1..=255, \
                 never renumbered or reused",
                variant.ident
            ),
        )
    })
}

fn generate(input: &DeriveInput, topic: &Ident, topics: &[Topic]) -> TokenStream {
    let payload = &input.ident;
    let vis = &input.vis;
    let names: Vec<&Ident> = topics.iter().map(|t| &t.name).collect();
    let ids: Vec<u8> = topics.iter().map(|t| t.id).collect();
    let types: Vec<&Type> = topics.iter().map(|t| &t.payload).collect();
    let docs = topics.iter().map(|t| &t.docs);
    let count = topics.len();
    let strings: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let enum_doc = format!(
        "The topic of a [`{payload}`]: one per variant, named after it, with a stable id \
         (never renumbered or reused: logs and other nodes depend on it) that is also the \
         ring's tag ([`{topic}::ring_topic`]). Generated by `#[derive(EventPayload)]`."
    );
    let from_docs = names
        .iter()
        .map(|n| format!("A [`{payload}::{n}`] (topic [`{topic}::{n}`])."));
    let helper = format_ident!("__{}_topic_set", topic);
    quote! {
        #[doc = #enum_doc]
        #[derive(
            ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug,
            ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::cmp::PartialOrd, ::core::cmp::Ord,
            ::core::hash::Hash, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[repr(u8)]
        #vis enum #topic {
            #(#(#docs)* #names = #ids,)*
        }

        /// The set of `topics`, usable in `const` items.
        #[doc(hidden)]
        #[allow(non_snake_case)]
        const fn #helper(topics: &[#topic]) -> ::ringbus_ring::TopicSet {
            let mut set = ::ringbus_ring::TopicSet::empty();
            let mut i = 0;
            while i < topics.len() {
                set = set.with(topics[i].ring_topic());
                i += 1;
            }
            set
        }

        impl #topic {
            /// Every topic, in id order.
            pub const ALL: [#topic; #count] = [#(#topic::#names),*];
            /// The number of topics.
            pub const COUNT: usize = #count;
            /// The ring's topic set of every topic (and no other tag).
            pub const ALL_SET: ::ringbus_ring::TopicSet = #helper(&Self::ALL);
            /// The topics whose payload may belong to a market (`MarketEvent`).
            pub const WITH_MARKET: ::ringbus_ring::TopicSet = {
                let mut set = ::ringbus_ring::TopicSet::empty();
                #(if <#types as ::ringbus_events::PayloadInterfaces>::MARKET {
                    set = set.with(#topic::#names.ring_topic());
                })*
                set
            };
            /// The topics whose payload may touch parties (`PartyEvent`).
            pub const WITH_PARTIES: ::ringbus_ring::TopicSet = {
                let mut set = ::ringbus_ring::TopicSet::empty();
                #(if <#types as ::ringbus_events::PayloadInterfaces>::PARTIES {
                    set = set.with(#topic::#names.ring_topic());
                })*
                set
            };

            /// The topic with this id, if there is one.
            pub const fn from_id(id: u8) -> ::core::option::Option<#topic> {
                match id {
                    #(#ids => ::core::option::Option::Some(#topic::#names),)*
                    _ => ::core::option::Option::None,
                }
            }

            /// The topic's stable id.
            #[inline]
            pub const fn id(self) -> u8 {
                self as u8
            }

            /// The topic's name, as written in JSON lines and on the command line.
            pub const fn name(self) -> &'static str {
                match self {
                    #(#topic::#names => #strings,)*
                }
            }

            /// The ring tag for this topic (the same number as its id).
            #[inline]
            pub const fn ring_topic(self) -> ::ringbus_ring::Topic {
                ::ringbus_ring::Topic::new(self as u8)
            }

            /// The ring's topic set holding exactly `topics` (a `const fn`, for named
            /// subscriptions).
            pub const fn set(topics: &[#topic]) -> ::ringbus_ring::TopicSet {
                #helper(topics)
            }
        }

        impl ::core::convert::From<#topic> for ::ringbus_ring::Topic {
            fn from(topic: #topic) -> ::ringbus_ring::Topic {
                topic.ring_topic()
            }
        }

        impl ::core::convert::TryFrom<::ringbus_ring::Topic> for #topic {
            type Error = ::ringbus_events::UnknownTopic;

            fn try_from(topic: ::ringbus_ring::Topic) -> ::core::result::Result<Self, Self::Error> {
                #topic::from_id(topic.get())
                    .ok_or_else(|| ::ringbus_events::UnknownTopic(topic.get().to_string()))
            }
        }

        impl ::core::fmt::Display for #topic {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::core::str::FromStr for #topic {
            type Err = ::ringbus_events::UnknownTopic;

            /// Parses a topic name, ignoring ASCII case (`trade`, `Trade`, `TRADE`).
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                #topic::ALL
                    .into_iter()
                    .find(|t| t.name().eq_ignore_ascii_case(s))
                    .ok_or_else(|| ::ringbus_events::UnknownTopic(s.to_owned()))
            }
        }

        impl #payload {
            /// The topic this payload is published on: its variant.
            #[inline]
            pub const fn topic(&self) -> #topic {
                match self {
                    #(#payload::#names(_) => #topic::#names,)*
                }
            }

            /// Serializes the variant's data alone, without the variant name (JSON lines
            /// carry the topic in a field of their own).
            #[allow(dead_code)]
            pub(crate) fn serialize_body<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                match self {
                    #(#payload::#names(p) => ::serde::Serialize::serialize(p, serializer),)*
                }
            }
        }

        impl ::ringbus_events::MarketEvent for #payload {
            #[inline]
            fn market(&self) -> ::core::option::Option<::ringbus_events::MarketId> {
                match self {
                    #(#payload::#names(p) => ::ringbus_events::MarketEvent::market(p),)*
                }
            }
        }

        impl ::ringbus_events::PartyEvent for #payload {
            #[inline]
            fn each_party<F: ::core::ops::FnMut(::ringbus_events::PartyId)>(&self, f: F) {
                match self {
                    #(#payload::#names(p) => ::ringbus_events::PartyEvent::each_party(p, f),)*
                }
            }
        }

        #(
            impl ::core::convert::From<#types> for #payload {
                #[doc = #from_docs]
                fn from(p: #types) -> #payload {
                    #payload::#names(p)
                }
            }
        )*
    }
}

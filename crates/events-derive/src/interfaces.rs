//! `#[derive(EventInterfaces)]`: a payload struct's market and parties, from its marked fields.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Index, Member, Result, Type};

/// The fields of a payload struct marked as carrying its market or its parties.
#[derive(Default)]
struct Marked {
    markets: Vec<(Member, Type)>,
    parties: Vec<(Member, Type)>,
}

pub(crate) fn expand(input: &DeriveInput) -> Result<TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(Error::new_spanned(
            &input.ident,
            "`EventInterfaces` reads the fields of a payload struct; \
             derive `EventPayload` on the payload enum instead",
        ));
    };
    if let Some(attr) = input.attrs.iter().find(|a| a.path().is_ident("event")) {
        return Err(Error::new_spanned(
            attr,
            "`#[event(...)]` goes on the fields of a payload struct: \
             `#[event(market)]`, `#[event(party)]`",
        ));
    }
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &input.generics,
            "payloads are plain fixed-size data: `EventInterfaces` takes no generics",
        ));
    }
    let marked = marked_fields(data)?;
    let name = &input.ident;
    let market = match marked.markets.split_first() {
        None => quote!(::core::option::Option::None),
        Some(((first, _), rest)) => {
            let rest = rest.iter().map(|(m, _)| m);
            quote! {
                ::ringbus_events::MarketField::market_of(&self.#first)
                    #(.or_else(|| ::ringbus_events::MarketField::market_of(&self.#rest)))*
            }
        }
    };
    let party_members = marked.parties.iter().map(|(m, _)| m);
    let party_types = marked.parties.iter().map(|(_, t)| t);
    let has_market = !marked.markets.is_empty();
    let has_parties = !marked.parties.is_empty();
    let too_many = format!(
        "`{name}` may touch more parties than a `PartyList` holds: \
         its `#[event(party)]` fields can carry more than `PartyList::CAPACITY`"
    );
    Ok(quote! {
        impl ::ringbus_events::MarketEvent for #name {
            #[inline]
            fn market(&self) -> ::core::option::Option<::ringbus_events::MarketId> {
                #market
            }
        }

        impl ::ringbus_events::PartyEvent for #name {
            #[inline]
            fn each_party<F: ::core::ops::FnMut(::ringbus_events::PartyId)>(
                &self,
                #[allow(unused_mut, unused_variables)] mut f: F,
            ) {
                #(::ringbus_events::PartyField::each(&self.#party_members, &mut f);)*
            }
        }

        impl ::ringbus_events::PayloadInterfaces for #name {
            const MARKET: bool = #has_market;
            const PARTIES: bool = #has_parties;
        }

        const _: () = ::core::assert!(
            0 #(+ <#party_types as ::ringbus_events::PartyField>::MAX)*
                <= ::ringbus_events::PartyList::CAPACITY,
            #too_many
        );
    })
}

/// The fields with `#[event(market)]` and `#[event(party)]`, in field order.
fn marked_fields(data: &syn::DataStruct) -> Result<Marked> {
    let mut marked = Marked::default();
    for (i, field) in data.fields.iter().enumerate() {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(Index::from(i)),
        };
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("event")) {
            let (mut market, mut party) = (false, false);
            attr.parse_nested_meta(|meta| {
                let seen = if meta.path.is_ident("market") {
                    &mut market
                } else if meta.path.is_ident("party") {
                    &mut party
                } else {
                    return Err(meta.error(
                        "unknown event interface: a field carries the payload's `market` \
                         or its `party`",
                    ));
                };
                if std::mem::replace(seen, true) {
                    return Err(meta.error("this interface is already given"));
                }
                Ok(())
            })?;
            if !(market || party) {
                return Err(Error::new_spanned(
                    attr,
                    "say what the field carries: `#[event(market)]`, `#[event(party)]` or both",
                ));
            }
            if market {
                marked.markets.push((member.clone(), field.ty.clone()));
            }
            if party {
                marked.parties.push((member.clone(), field.ty.clone()));
            }
        }
    }
    Ok(marked)
}

//! `api/model.rs`: the domain types (see [`crate::shapes`]), and the aliases that keep the
//! old names of their places compiling for one release.

use super::{files::list, ident, structs::struct_tokens, type_tokens};
use crate::ir::{ModelStruct, RustType};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// `api/model.rs`: one struct per domain type, compiled with any feature that holds one.
pub fn model_file(model: &[ModelStruct]) -> TokenStream {
    let types = model.iter().map(|m| {
        let places: Vec<String> = m.places.iter().map(|p| format!("`{}`", p.trim_start_matches("message "))).collect();
        let mut doc = match &m.doc {
            Some(doc) => format!("{}\n\n", doc.trim()),
            None => String::new(),
        };
        doc.push_str(&format!(
            "One type for this object wherever the platform sends it: {}. Its fields are the union of \
             what each of them sends, so a field one of them never sends stays `None` there.",
            list(&places)
        ));
        struct_tokens(&m.body, &doc, quote!(), true)
    });
    quote! {
        //! Domain types: one type for an object that several methods and pushes return (an
        //! order from `order.searchList` or `order.orderDetail`, an address in an order, an
        //! after-sale request or a push), so one function handles it whichever call it came
        //! from. Each group re-exports the ones it returns (`api::order::Order`). Declared in
        //! `api-spec/shapes.json`.
        #(#types)*

        #[doc(hidden)]
        mod wire;
    }
}

/// In a method's or message's module: the names its nested types had before they became
/// domain types: the same name re-exported, another name as a deprecated alias.
pub fn moved_aliases(moved: &BTreeMap<String, String>, owner: &str) -> TokenStream {
    let items = moved.iter().map(|(old, new)| {
        let path = type_tokens(&RustType::Model(new.clone()));
        if old == new {
            quote!(pub use #path;)
        } else {
            let old = ident(old);
            let note = format!("the objects of {owner} and of other methods are now one type: `api::model::{new}`");
            quote! {
                #[deprecated(note = #note)]
                pub type #old = #path;
            }
        }
    });
    quote!(#(#items)*)
}

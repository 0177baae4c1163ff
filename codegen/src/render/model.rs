//! `api/model.rs`: the domain types (see [`crate::shapes`]), and the aliases that keep the
//! old names of their places compiling for one release.

use super::{files::list, ident, structs::struct_tokens, type_tokens};
use crate::ir::{ModelStruct, RustType};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// The domain types split by the features that hold them: a module name (the features
/// joined by `_`) -> its types. Each module compiles only with one of its features, so a
/// build with `order` alone does not compile the product's types.
pub fn model_parts(model: &[ModelStruct]) -> BTreeMap<String, Vec<&ModelStruct>> {
    let mut parts: BTreeMap<String, Vec<&ModelStruct>> = BTreeMap::new();
    for m in model {
        let name = m.features.iter().map(String::as_str).collect::<Vec<_>>().join("_");
        parts.entry(name).or_default().push(m);
    }
    parts
}

/// `api/model.rs`: one module per feature set, its types re-exported here.
pub fn model_file(model: &[ModelStruct]) -> TokenStream {
    let parts = model_parts(model).into_iter().map(|(module, types)| {
        let features: Vec<&str> = types[0].features.iter().map(String::as_str).collect();
        let cfg = match features.as_slice() {
            [one] => quote!(feature = #one),
            many => quote!(any(#(feature = #many),*)),
        };
        let module = ident(&module);
        quote! {
            #[cfg(#cfg)]
            #[rustfmt::skip]
            mod #module;
            #[cfg(#cfg)]
            pub use #module::*;
        }
    });
    quote! {
        //! Domain types: one type for an object that several methods and pushes return (an
        //! order from `order.searchList` or `order.orderDetail`, an address in an order, an
        //! after-sale request or a push), so one function handles it whichever call it came
        //! from. Each group re-exports the ones it returns (`api::order::Order`). Declared in
        //! `api-spec/shapes.json`; each type compiles with any feature that holds it.
        #(#parts)*
    }
}

/// `api/model/<features>.rs`: the domain types one set of features holds.
pub fn model_part_file(types: &[&ModelStruct]) -> TokenStream {
    let structs = types.iter().map(|m| {
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
        //! Domain types of `api::model` held by these features.
        #[allow(unused_imports)]
        use super::*;
        #(#structs)*

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

/// In a method's or message's module: the old names of nested types renamed to be unique in
/// their group, as deprecated aliases.
pub fn renamed_aliases(renamed: &BTreeMap<String, String>) -> TokenStream {
    let items = renamed.iter().map(|(old, new)| {
        let (old_ident, new_ident) = (ident(old), ident(new));
        let note = format!("renamed to `{new}`: a type's name is unique within its group");
        quote! {
            #[deprecated(note = #note)]
            pub type #old_ident = #new_ident;
        }
    });
    quote!(#(#items)*)
}

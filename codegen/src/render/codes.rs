//! `api/codes.rs`: the code sets as data for the core's `code_set!` macro.

use super::doc_lines;
use crate::codes::CodeSets;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

/// `api/codes.rs`: the code sets as data for the core's `code_set!` macro.
pub fn codes_file(codes: &CodeSets) -> TokenStream {
    let sets = codes.sets.iter().map(|set| {
        let name = format_ident!("{}", set.name);
        let mut doc = set.doc.trim().to_owned();
        if !set.fields.is_empty() {
            let fields: Vec<String> = set.fields.iter().map(|f| format!("`{f}`")).collect();
            let scope = match &set.groups {
                Some(groups) => {
                    let groups: Vec<String> = groups.iter().map(|g| format!("`{g}`")).collect();
                    format!(" of the {} groups", groups.join(", "))
                }
                None => String::new(),
            };
            doc.push_str(&format!(
                "\n\nThe generated types use it for {}{scope}, in requests, replies and pushes.",
                fields.join(", ")
            ));
        }
        let doc = doc_lines(&doc);
        let values = set.values.iter().map(|v| {
            let constant = format_ident!("{}", v.name);
            let value = Literal::i64_unsuffixed(v.value);
            let label = &v.label;
            let doc = doc_lines(v.doc.trim());
            quote!(#doc #constant = #value, #label;)
        });
        quote! {
            crate::codes::code_set! {
                #doc
                #name {
                    #(#values)*
                }
            }
        }
    });
    quote! {
        //! The code sets of `api-spec/codes.json`; see [`crate::codes`].
        #(#sets)*
    }
}

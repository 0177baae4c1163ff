//! IR -> tokens. Generated code is declarative data: types, a field walk per type for
//! each direction, and one trait impl per method; behaviour lives in the SDK's hand-written
//! core (`crate::ser`, `crate::de`, `crate::page`, `crate::request`, `crate::codes`).
//!
//! Prelude names (`Option`, `Vec`, `String`, `Result`, ...) are used bare: lowering never
//! names a nested type after them (see [`crate::naming::is_reserved`]), which keeps the
//! generated code readable and small.
//!
//! The files: one module per group (`api/<group>/mod.rs`), one file per method with its
//! request, response and nested types (`api/<group>/<method>.rs`), and beside it a hidden
//! module with the serialisers and decoders (`api/<group>/<method>/wire.rs`) so that readers
//! and rustdoc see the data shapes first; the same for push messages under `api/messages/`.

mod codes;
mod files;
mod method;
mod model;
mod schema;
mod structs;
mod wire;

pub use codes::codes_file;
pub use files::{
    group_mod_file, groups_page, message_file, messages_mod_file, method_table, mod_file, shared_file, tests_file,
};
pub use method::method_file;
pub use model::{model_file, model_part_file, model_parts, moved_aliases, renamed_aliases};
pub use schema::{schema_file, schema_index, Titles};
pub use wire::{wire_file, Wrapper};

use crate::ir::{FieldIr, RustType};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

pub(crate) fn type_tokens(ty: &RustType) -> TokenStream {
    match ty {
        RustType::String => quote!(String),
        RustType::I32 => quote!(i32),
        RustType::I64 => quote!(i64),
        RustType::F64 => quote!(f64),
        RustType::Bool => quote!(bool),
        RustType::Value => quote!(::serde_json::Value),
        RustType::Named(name) => {
            let name = ident(name);
            quote!(#name)
        }
        RustType::CodeSet { name, .. } => {
            let name = ident(name);
            quote!(crate::codes::#name)
        }
        RustType::Model(name) => {
            let name = ident(name);
            quote!(crate::api::model::#name)
        }
        RustType::CodeList { name } => {
            let name = ident(name);
            quote!(crate::codes::Joined<crate::codes::#name>)
        }
        RustType::Id { name, .. } => {
            let name = ident(name);
            quote!(crate::ids::#name)
        }
        RustType::Vec(inner) => {
            let inner = type_tokens(inner);
            quote!(Vec<#inner>)
        }
        RustType::Map(inner) => {
            let inner = type_tokens(inner);
            quote!(::std::collections::BTreeMap<String, #inner>)
        }
    }
}

pub(crate) fn field_type(field: &FieldIr) -> TokenStream {
    let ty = type_tokens(&field.ty);
    if field.optional {
        quote!(Option<#ty>)
    } else {
        ty
    }
}

/// Doc text as inner `#![doc]` attributes (a module's own docs), one per line.
pub(crate) fn inner_doc_lines(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.is_empty() { String::new() } else { format!(" {line}") };
        quote!(#![doc = #line])
    });
    quote!(#(#lines)*)
}

/// Doc text as `#[doc]` attributes, one per line (each with the leading space rustdoc
/// expects).
pub(crate) fn doc_lines(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.is_empty() { String::new() } else { format!(" {line}") };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

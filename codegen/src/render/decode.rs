//! The decoders of a method's (or message's) types: `crate::de::Object` and `Deserialize`
//! impls, in a hidden module beside the types so that readers and rustdoc see the shapes.

use super::{ident, type_tokens};
use crate::ir::{RustType, Struct};
use proc_macro2::TokenStream;
use quote::quote;

/// The decoders of `structs` (and of a newtype response, given as its name and inner type).
pub fn decoders_file(owner: &str, structs: &[&Struct], newtype: Option<(&str, &RustType)>) -> TokenStream {
    let doc = format!(" Decoders of the `{owner}` types (generated; see `crate::de`).");
    let impls = structs.iter().map(|s| object_tokens(s));
    let newtype = newtype.map(|(name, ty)| {
        let name = ident(name);
        let ty = newtype_inner(ty);
        quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    <#ty as crate::de::Lenient>::lenient(deserializer).map(Self)
                }
            }
        }
    });
    quote! {
        #![doc = #doc]
        #[allow(unused_imports)]
        use super::*;
        #(#impls)*
        #newtype
    }
}

/// The inner type of a newtype response: collections and JSON as they are, a scalar or an
/// object as an `Option`.
pub fn newtype_inner(ty: &RustType) -> TokenStream {
    match ty {
        RustType::Vec(_) | RustType::Map(_) | RustType::Value => type_tokens(ty),
        other => {
            let inner = type_tokens(other);
            quote!(Option<#inner>)
        }
    }
}

fn object_tokens(s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let name_text = &s.name;
    let arms = s.fields.iter().map(|f| {
        let wire = &f.wire;
        let rust = ident(&f.rust);
        quote!(#wire => crate::de::read(map, &mut self.#rust),)
    });
    let field_body = if s.fields.is_empty() {
        quote! {
            let _ = (key, map);
            Ok(false)
        }
    } else {
        quote! {
            match key {
                #(#arms)*
                _ => Ok(false),
            }
        }
    };
    let empty = if super::structs::derives_default(s) {
        quote!(Self::default())
    } else {
        // A request with required fields has no public `Default`: start from zero values.
        let inits = s.fields.iter().map(|f| {
            let rust = ident(&f.rust);
            match (&f.ty, f.optional) {
                (RustType::Named(_), false) => quote!(#rust: crate::de::Object::empty(),),
                _ => quote!(#rust: Default::default(),),
            }
        });
        quote!(Self { #(#inits)* })
    };
    quote! {
        impl crate::de::Object for #name {
            const NAME: &'static str = #name_text;
            fn empty() -> Self {
                #empty
            }
            fn field<'de, A: ::serde::de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
                #field_body
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::de::object(deserializer)
            }
        }
    }
}

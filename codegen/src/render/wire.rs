//! How a method's (or message's) types go on and off the wire: `crate::ser::Object` and
//! `Serialize` impls, and `crate::de::Object` and `Deserialize` impls, in a hidden module
//! beside the types so that readers and rustdoc see the shapes. A type only requests hold
//! is never decoded by the SDK: its decoder is built for the round-trip tests only.

use super::structs::field_write;
use super::{ident, type_tokens};
use crate::ir::{RustType, Struct};
use proc_macro2::TokenStream;
use quote::quote;

/// A response the reply may also wrap in a one-key object: the response type's name and the key.
#[derive(Clone, Copy)]
pub struct Wrapper<'a> {
    /// The response type.
    pub response: &'a str,
    /// The key of the wrapping object (`data`).
    pub key: &'a str,
}

/// The serialisers and decoders of `structs` (and the decoder of a newtype response, given as
/// its name and inner type).
pub fn wire_file(
    owner: &str,
    structs: &[&Struct],
    newtype: Option<(&str, &RustType)>,
    wrapper: Option<Wrapper<'_>>,
) -> TokenStream {
    let doc = format!(" How the `{owner}` types go on and off the wire (generated; see `crate::ser`, `crate::de`).");
    let impls = structs.iter().map(|s| {
        let encode = encoder_tokens(s);
        let decode = object_tokens(s, wrapper.filter(|w| w.response == s.name).map(|w| w.key));
        let test_only = (!s.decoded).then(|| quote!(#[cfg(test)]));
        quote! {
            #encode
            #test_only
            const _: () = {
                #decode
            };
        }
    });
    let newtype = newtype.map(|(name, ty)| {
        let name = ident(name);
        let ty = newtype_inner(ty);
        let decode = match wrapper {
            Some(w) => {
                let key = w.key;
                quote!(crate::de::maybe_wrapped::<#ty, D>(deserializer, #key))
            }
            None => quote!(<#ty as crate::de::Lenient>::lenient(deserializer)),
        };
        quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    #decode.map(Self)
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

/// The inner type of a newtype response: collections, JSON and a domain type as they are
/// (`null` gives an empty one), a scalar or an object as an `Option`.
pub fn newtype_inner(ty: &RustType) -> TokenStream {
    match ty {
        RustType::Vec(_) | RustType::Map(_) | RustType::Value | RustType::Model(_) => type_tokens(ty),
        other => {
            let inner = type_tokens(other);
            quote!(Option<#inner>)
        }
    }
}

/// The struct's `crate::ser::Object` walk and its `Serialize`.
fn encoder_tokens(s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let writes = s.fields.iter().map(|f| field_write(f, s.builder));
    let out = if s.fields.is_empty() { quote!(_out) } else { quote!(out) };
    quote! {
        impl crate::ser::Object for #name {
            fn fields<M: ::serde::ser::SerializeMap>(&self, #out: &mut crate::ser::Fields<M>) {
                #(#writes)*
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::ser::object(self, serializer)
            }
        }
    }
}

/// `wrapper`: the key of a one-key object the reply may wrap the whole struct in; its value
/// is decoded as the struct.
fn object_tokens(s: &Struct, wrapper: Option<&str>) -> TokenStream {
    let name = ident(&s.name);
    let name_text = &s.name;
    let arms = s.fields.iter().map(|f| {
        let wire = &f.wire;
        let rust = ident(&f.rust);
        quote!(#wire => crate::de::read(map, &mut self.#rust),)
    });
    let wrapper_arm = wrapper.map(|key| quote!(#key => crate::de::read(map, self),));
    let arms = arms.chain(wrapper_arm);
    let field_body = if s.fields.is_empty() && wrapper.is_none() {
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
                (RustType::Named(_) | RustType::Model(_), false) => quote!(#rust: crate::de::Object::empty(),),
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

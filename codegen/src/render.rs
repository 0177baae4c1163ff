//! IR -> tokens. Prelude names (`Option`, `Vec`, `String`, `Result`, ...) are used bare:
//! lowering rejects nested type names that would shadow them (see
//! [`crate::naming::is_reserved`]), which keeps the generated code readable and small.
//!
//! IR -> tokens. Generated code is declarative data: types, serde attributes, and one
//! trait impl per method; behaviour lives in the SDK's hand-written core (`crate::de`,
//! `crate::page`, `crate::request`).

use crate::ir::{Api, FieldIr, Group, Messages, Method, PagingIr, ResponseShape, RustType, Struct};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// Where nested types are, relative to the code being rendered.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Code inside the module of the nested types: bare names.
    Local,
    /// Code one module up: `module::Name`.
    Module(&'a str),
}

fn type_tokens(ty: &RustType, scope: Scope<'_>) -> TokenStream {
    match ty {
        RustType::String => quote!(String),
        RustType::I32 => quote!(i32),
        RustType::I64 => quote!(i64),
        RustType::F64 => quote!(f64),
        RustType::Bool => quote!(bool),
        RustType::Value => quote!(::serde_json::Value),
        RustType::Named(name) => {
            let name = ident(name);
            match scope {
                Scope::Local => quote!(#name),
                Scope::Module(module) => {
                    let module = ident(module);
                    quote!(#module::#name)
                }
            }
        }
        RustType::Vec(inner) => {
            let inner = type_tokens(inner, scope);
            quote!(Vec<#inner>)
        }
        RustType::Map(inner) => {
            let inner = type_tokens(inner, scope);
            quote!(::std::collections::BTreeMap<String, #inner>)
        }
    }
}

fn field_type(field: &FieldIr, scope: Scope<'_>) -> TokenStream {
    let ty = type_tokens(&field.ty, scope);
    if field.optional {
        quote!(Option<#ty>)
    } else {
        ty
    }
}

fn field_doc(field: &FieldIr) -> String {
    let mut doc = format!(" `{}`", field.wire);
    if field.required {
        doc.push_str(" (required)");
    }
    if field.sensitive {
        doc.push_str(" (sensitive: redacted in `Debug`)");
    }
    if let Some(example) = field.example.as_deref().filter(|e| !e.is_empty()) {
        let example: String = example.chars().take(80).collect::<String>().replace('`', "'");
        doc.push_str(&format!(". Example: `{}`", example.replace('\n', " ")));
    }
    doc
}

/// A struct with its serde, `Object`, `Debug` and builder impls.
fn struct_tokens(s: &Struct, scope: Scope<'_>, doc: &str, extra_attrs: TokenStream, partial_eq: bool) -> TokenStream {
    let name = ident(&s.name);
    let name_text = &s.name;
    let sensitive = s.has_sensitive();
    let mut derives = vec![quote!(Clone), quote!(Default)];
    if !sensitive {
        derives.push(quote!(Debug));
    }
    if partial_eq {
        derives.push(quote!(PartialEq));
    }
    derives.push(quote!(::serde::Serialize));
    let fields = s.fields.iter().map(|f| {
        let rust = ident(&f.rust);
        let ty = field_type(f, scope);
        let doc = field_doc(f);
        let rename = (f.rust != f.wire).then(|| {
            let wire = &f.wire;
            quote!(#[serde(rename = #wire)])
        });
        let skip = skip_predicate(f, s.builder).map(|p| quote!(#[serde(skip_serializing_if = #p)]));
        quote! {
            #[doc = #doc]
            #rename
            #skip
            pub #rust: #ty,
        }
    });
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
    let debug = sensitive.then(|| {
        let entries = s.fields.iter().map(|f| {
            let rust = ident(&f.rust);
            let label = &f.rust;
            if f.sensitive {
                quote!(.field(#label, &crate::secret::Redacted(&self.#rust)))
            } else {
                quote!(.field(#label, &self.#rust))
            }
        });
        quote! {
            impl ::std::fmt::Debug for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(#name_text) #(#entries)* .finish()
                }
            }
        }
    });
    let builder = s.builder.then(|| builder_tokens(s, scope));
    quote! {
        #[doc = #doc]
        #[derive(#(#derives),*)]
        #[non_exhaustive]
        #extra_attrs
        pub struct #name {
            #(#fields)*
        }

        impl crate::de::Object for #name {
            const NAME: &'static str = #name_text;
            fn field<'de, A: ::serde::de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
                #field_body
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::de::object(deserializer)
            }
        }

        #debug
        #builder
    }
}

/// What `skip_serializing_if` to use: absent stays absent; request collections that are
/// optional and empty are left out too.
fn skip_predicate(f: &FieldIr, request_side: bool) -> Option<&'static str> {
    if f.optional {
        return Some("Option::is_none");
    }
    match &f.ty {
        RustType::Value => Some("::serde_json::Value::is_null"),
        RustType::Vec(_) if request_side && !f.required => Some("Vec::is_empty"),
        RustType::Map(_) if request_side && !f.required => Some("::std::collections::BTreeMap::is_empty"),
        _ => None,
    }
}

/// A parameter type for `new` and setters: strings take `impl Into<String>`.
fn param_type(ty: &RustType, scope: Scope<'_>) -> (TokenStream, bool) {
    match ty {
        RustType::String => (quote!(impl Into<String>), true),
        RustType::Value => (quote!(impl Into<::serde_json::Value>), true),
        other => (type_tokens(other, scope), false),
    }
}

fn builder_tokens(s: &Struct, scope: Scope<'_>) -> TokenStream {
    let name = ident(&s.name);
    let required: Vec<&FieldIr> = s.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let rust = ident(&f.rust);
        let (ty, _) = param_type(&f.ty, scope);
        quote!(#rust: #ty)
    });
    let inits = required.iter().map(|f| {
        let rust = ident(&f.rust);
        let (_, into) = param_type(&f.ty, scope);
        if into {
            quote!(#rust: #rust.into(),)
        } else {
            quote!(#rust,)
        }
    });
    let rest = (required.len() < s.fields.len()).then(|| quote!(..Default::default()));
    let allow = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let new_doc = if required.is_empty() {
        " A request with no parameters set (none is required).".to_owned()
    } else {
        let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.wire)).collect();
        format!(" Builds it from the required parameters ({}).", names.join(", "))
    };
    let setters = s.fields.iter().filter(|f| !f.required).map(|f| {
        let rust = ident(&f.rust);
        let (ty, into) = param_type(&f.ty, scope);
        let value = if into { quote!(#rust.into()) } else { quote!(#rust) };
        let value = if f.optional { quote!(Some(#value)) } else { value };
        let doc = format!(" Sets `{}`.", f.wire);
        quote! {
            #[doc = #doc]
            pub fn #rust(mut self, #rust: #ty) -> Self {
                self.#rust = #value;
                self
            }
        }
    });
    quote! {
        impl #name {
            #[doc = #new_doc]
            #allow
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits)* #rest }
            }
            #(#setters)*
        }
    }
}

fn method_tokens(group: &Group, m: &Method) -> TokenStream {
    let request = ident(&m.request_type);
    let response = ident(&m.response_type);
    let method = &m.name;
    let read_only = m.read_only.then(|| {
        quote!(
            const READ_ONLY: bool = true;
        )
    });
    let extra_doc = m.doc.as_deref().map(|d| {
        let d = format!(" {d}");
        quote!(#[doc = ""] #[doc = #d])
    });
    let alias = quote!(#[doc(alias = #method)]);
    let Some(typed) = &m.typed else {
        let request_doc = format!(
            " `{method}` request (untyped: the spec has no field definitions for this method yet, so the \
             parameters are an open JSON object; typing it later is a spec change only)."
        );
        let response_doc = format!(" `{method}` response (untyped: the reply's `data` as a JSON value).");
        return quote! {
            #[doc = #request_doc]
            #extra_doc
            #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[serde(transparent)]
            #[non_exhaustive]
            #alias
            pub struct #request(pub ::serde_json::Map<String, ::serde_json::Value>);

            impl #request {
                /// A request with no parameters yet.
                pub fn new() -> Self {
                    Default::default()
                }
                /// Sets one parameter.
                pub fn param(mut self, key: impl Into<String>, value: impl Into<::serde_json::Value>) -> Self {
                    self.0.insert(key.into(), value.into());
                    self
                }
            }

            impl From<::serde_json::Map<String, ::serde_json::Value>> for #request {
                fn from(params: ::serde_json::Map<String, ::serde_json::Value>) -> Self {
                    Self(params)
                }
            }

            #[doc = #response_doc]
            #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[serde(transparent)]
            #[non_exhaustive]
            pub struct #response(pub ::serde_json::Value);

            impl crate::request::Request for #request {
                const METHOD: &'static str = #method;
                #read_only
                type Response = #response;
            }
        };
    };
    let module_name = m.module.as_str();
    let scope = Scope::Module(module_name);
    let request_doc = if typed.nested.is_empty() {
        format!(" `{method}` request; the reply decodes into [`{}`].", m.response_type)
    } else {
        format!(
            " `{method}` request. Nested types are in [`{module_name}`]; the reply decodes into [`{}`].",
            m.response_type
        )
    };
    let request_tokens = struct_tokens(&typed.request, scope, &request_doc, quote!(#extra_doc #alias), false);
    let response_doc = format!(" `{method}` response: the reply's `data`.");
    let response_tokens = match &typed.response {
        ResponseShape::Object(s) => struct_tokens(s, scope, &response_doc, quote!(), false),
        ResponseShape::Newtype(ty, _) => {
            let ty = match ty {
                RustType::Vec(_) | RustType::Map(_) | RustType::Value => type_tokens(ty, scope),
                other => {
                    let inner = type_tokens(other, scope);
                    quote!(Option<#inner>)
                }
            };
            quote! {
                #[doc = #response_doc]
                #[derive(Clone, Debug, Default, ::serde::Serialize)]
                #[serde(transparent)]
                #[non_exhaustive]
                pub struct #response(pub #ty);

                impl<'de> ::serde::Deserialize<'de> for #response {
                    fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        <#ty as crate::de::Lenient>::lenient(deserializer).map(Self)
                    }
                }
            }
        }
    };
    let paging = m.paging.as_ref().map(|p| paging_tokens(m, p, scope));
    let nested = (!typed.nested.is_empty()).then(|| {
        let module = ident(module_name);
        let module_doc = format!(" Nested types of `{method}`.");
        let structs = typed.nested.iter().map(|s| {
            let doc = format!(" Nested object of `{method}`.");
            struct_tokens(s, Scope::Local, &doc, quote!(), false)
        });
        quote! {
            #[doc = #module_doc]
            pub mod #module {
                #(#structs)*
            }
        }
    });
    let _ = group;
    quote! {
        #request_tokens
        #response_tokens

        impl crate::request::Request for #request {
            const METHOD: &'static str = #method;
            #read_only
            type Response = #response;
        }

        #paging
        #nested
    }
}

fn paging_tokens(m: &Method, p: &PagingIr, scope: Scope<'_>) -> TokenStream {
    let request = ident(&m.request_type);
    let item = type_tokens(&p.item, scope);
    let base = p.spec.base;
    let max = match p.spec.max_size {
        Some(n) => quote!(const MAX_PAGE_SIZE: Option<i64> = Some(#n);),
        None => quote!(),
    };
    let page = ident(&p.page_field);
    let size = ident(&p.size_field);
    // Items: `response.a.map(|v| v.b).unwrap_or_default()` through optional objects.
    let items = {
        let (last, intermediate) = p.items_fields.split_last().expect("items path is not empty");
        let last = ident(last);
        match intermediate.split_first() {
            None => quote!(response.#last),
            Some((first, rest)) => {
                let first = ident(first);
                let rest = rest.iter().map(|r| {
                    let r = ident(r);
                    quote!(.and_then(|v| v.#r))
                });
                quote!(response.#first #(#rest)* .map(|v| v.#last).unwrap_or_default())
            }
        }
    };
    let total = match &p.total_fields {
        None => quote!(None),
        Some(fields) => {
            let (last, intermediate) = fields.split_last().expect("total path is not empty");
            let last = ident(last);
            match intermediate.split_first() {
                None => quote!(crate::page::PageNumber::get(&response.#last)),
                Some((first, rest)) => {
                    let first = ident(first);
                    let rest = rest.iter().map(|r| {
                        let r = ident(r);
                        quote!(.and_then(|v| v.#r.as_ref()))
                    });
                    quote!(response.#first.as_ref() #(#rest)* .and_then(|v| crate::page::PageNumber::get(&v.#last)))
                }
            }
        }
    };
    quote! {
        impl crate::page::Paginated for #request {
            type Item = #item;
            const PAGE_BASE: i64 = #base;
            #max
            fn page_number(&self) -> Option<i64> {
                crate::page::PageNumber::get(&self.#page)
            }
            fn set_page_number(&mut self, page: i64) {
                crate::page::PageNumber::set(&mut self.#page, page)
            }
            fn page_size(&self) -> Option<i64> {
                crate::page::PageNumber::get(&self.#size)
            }
            fn into_items(response: Self::Response) -> (Vec<Self::Item>, Option<i64>) {
                let total = #total;
                (#items, total)
            }
        }
    }
}

/// One group's file.
pub fn group_file(group: &Group) -> TokenStream {
    let doc = format!(
        " The `{}` API group ({} methods), behind the `{}` cargo feature.",
        group.name,
        group.methods.len(),
        group.module
    );
    let methods = group.methods.iter().map(|m| method_tokens(group, m));
    quote! {
        #![doc = #doc]
        #(#methods)*
    }
}

/// `api/mod.rs`: the group modules and the METHODS table.
pub fn mod_file(api: &Api) -> TokenStream {
    let modules = api.groups.iter().map(|g| {
        let module = ident(&g.module);
        let feature = &g.module;
        let doc = format!(" The `{}` group (cargo feature `{feature}`).", g.name);
        quote! {
            #[doc = #doc]
            #[cfg(feature = #feature)]
            #[cfg_attr(docsrs, doc(cfg(feature = #feature)))]
            #[rustfmt::skip]
            pub mod #module;
        }
    });
    let mut methods: Vec<(&Group, &Method)> =
        api.groups.iter().flat_map(|g| g.methods.iter().map(move |m| (g, m))).collect();
    methods.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let entries = methods.iter().map(|(g, m)| {
        let name = &m.name;
        let group = &g.name;
        let feature = &g.module;
        let request_type = format!("api::{}::{}", g.module, m.request_type);
        let response_type = format!("api::{}::{}", g.module, m.response_type);
        let read_only = m.read_only;
        let typed = m.typed.is_some();
        let paging = match &m.paging {
            None => quote!(None),
            Some(p) => {
                let page = &p.spec.page;
                let size = &p.spec.size;
                let base = p.spec.base;
                let max = match p.spec.max_size {
                    Some(n) => quote!(Some(#n)),
                    None => quote!(None),
                };
                let items = &p.spec.items;
                let total = match &p.spec.total {
                    Some(t) => quote!(Some(#t)),
                    None => quote!(None),
                };
                quote!(Some(crate::catalog::PagingInfo {
                    page_param: #page,
                    size_param: #size,
                    page_base: #base,
                    max_size: #max,
                    items_path: #items,
                    total_path: #total,
                }))
            }
        };
        quote! {
            crate::catalog::MethodInfo {
                name: #name,
                group: #group,
                feature: #feature,
                request_type: #request_type,
                response_type: #response_type,
                read_only: #read_only,
                typed: #typed,
                paging: #paging,
            },
        }
    });
    let count = methods.len();
    let doc = format!(" Every method the spec knows ({count}), sorted by name, whatever features are enabled.");
    quote! {
        //! The generated API: one module per API group (each behind its cargo feature),
        //! the push messages, and a table of every method.
        #(#modules)*

        #[rustfmt::skip]
        pub mod messages;

        #[cfg(test)]
        #[rustfmt::skip]
        mod tests;

        #[doc = #doc]
        pub static METHODS: &[crate::catalog::MethodInfo] = &[
            #(#entries)*
        ];
    }
}

/// `api/messages.rs`: one struct per push message type and the `Message` enum.
pub fn messages_file(messages: &Messages) -> TokenStream {
    let structs = messages.messages.iter().map(|m| {
        let mut doc = format!(" Push message `{}` (tag {}): the decoded `data` of the record.", m.body.name, m.tag);
        if let Some(url) = &m.doc_url {
            doc.push_str(&format!(" Platform docs: <{url}>."));
        }
        let body = struct_tokens(&m.body, Scope::Module(&m.module), &doc, quote!(), true);
        let nested = (!m.nested.is_empty()).then(|| {
            let module = ident(&m.module);
            let module_doc = format!(" Nested types of push message `{}`.", m.body.name);
            let nested_doc = format!(" Nested object of push message `{}`.", m.body.name);
            let structs = m.nested.iter().map(|s| struct_tokens(s, Scope::Local, &nested_doc, quote!(), true));
            quote! {
                #[doc = #module_doc]
                pub mod #module {
                    #(#structs)*
                }
            }
        });
        quote!(#body #nested)
    });
    let variants = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        let doc = format!(" Tag {}.", m.tag);
        quote!(#[doc = #doc] #name(#name),)
    });
    let tags = messages.messages.iter().map(|m| m.tag);
    let tag_arms = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        let tag = m.tag;
        quote!(Message::#name(_) => #tag,)
    });
    let decode_arms = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        let tag = m.tag;
        quote!(#tag => crate::de::from_str(data).map(Message::#name),)
    });
    quote! {
        //! Push messages (消息推送): one type per message tag, and [`Message`] over all of them.
        #(#structs)*

        /// A decoded push message, by tag.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Message {
            #(#variants)*
        }

        impl Message {
            /// Every known tag, ascending.
            pub const TAGS: &'static [u32] = &[#(#tags),*];

            /// The message's tag.
            pub fn tag(&self) -> u32 {
                match self {
                    #(#tag_arms)*
                }
            }

            /// `None` when the tag is not a known message type; otherwise the decoded `data`
            /// (a JSON text).
            pub fn decode(tag: u32, data: &str) -> Option<Result<Message, crate::de::DecodeFailure>> {
                Some(match tag {
                    #(#decode_arms)*
                    _ => return None,
                })
            }
        }
    }
}

/// `api/tests.rs`: for every method, the sample round-trips (the checks are in
/// `crate::de::testing`).
pub fn tests_file(api: &Api) -> TokenStream {
    let groups = api.groups.iter().map(|g| {
        let module = ident(&g.module);
        let feature = &g.module;
        let test = format_ident!("samples_round_trip_{}", g.module);
        let checks = g.methods.iter().map(|m| {
            let request = ident(&m.request_type);
            quote!(.check::<super::#module::#request>())
        });
        quote! {
            #[cfg(feature = #feature)]
            #[test]
            fn #test() {
                crate::de::testing::Checker::new(SAMPLES) #(#checks)* .finish();
            }
        }
    });
    quote! {
        //! Per-method checks of the generated types against the sample data, which is
        //! generated into the gateway crate (it answers with it).
        #[allow(dead_code)] // only the group checks read it, and each needs its feature
        const SAMPLES: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../doudian-gateway/data/samples.json"));
        const MESSAGE_SAMPLES: &str =
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../doudian-gateway/data/message_samples.json"));

        #(#groups)*

        #[test]
        fn message_samples_decode() {
            crate::de::testing::check_messages(
                MESSAGE_SAMPLES,
                super::messages::Message::TAGS,
                super::messages::Message::decode,
                super::messages::Message::tag,
            );
        }
    }
}

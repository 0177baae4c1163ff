//! One method's file: its request (with the docs a caller needs), its response, its
//! nested types, and the trait impls that bind them to the platform and to paging.

use super::files::list;
use super::structs::{required_struct_name, struct_tokens, REQUIRED_STRUCT_FROM};
use super::wire::newtype_inner;
use super::{doc_lines, ident, type_tokens};
use crate::ir::{FieldIr, Method, PagingIr, ResponseShape, RustType, Typed};
use proc_macro2::TokenStream;
use quote::quote;

/// Where the platform's API documentation can be searched when a method has no page of
/// its own in the spec.
const DOCS_HOME: &str = "https://op.jinritemai.com/docs/api-docs";

/// The request type's rustdoc: what the method does, whether it writes, its paging, its
/// required parameters and where the platform documents it.
fn request_doc(m: &Method) -> String {
    let mut doc = format!("`{}`", m.name);
    if !m.aliases.is_empty() {
        doc.push_str(&format!(" ({})", m.aliases.join(", ")));
    }
    match m.doc.as_deref() {
        Some(text) => doc.push_str(&format!(": {}\n", text.trim())),
        None => doc.push_str(&format!(": the request of the platform method `{}`.\n", m.name)),
    }
    doc.push('\n');
    if !m.known_as.is_empty() {
        let others: Vec<String> = m.known_as.iter().map(|n| format!("`{n}`")).collect();
        doc.push_str(&format!(
            "* **Also spelt** {} (callable by that name too). Sent as `{}`, the documentation's \
             spelling: which case the server accepts is unverified.\n",
            list(&others),
            m.name
        ));
    }
    if m.read_only {
        doc.push_str("* **Reads only.** After a failure whose outcome is unknown the SDK simply tries again.\n");
    } else {
        doc.push_str(
            "* **Writes.** A failure with [`Error::is_ambiguous`](crate::Error::is_ambiguous) may have \
             been applied: read the state back before sending it again.\n",
        );
    }
    if let Some(p) = &m.paging {
        let max = p.spec.max_size.map(|n| format!(", at most {n} a page")).unwrap_or_default();
        let first_page = if first_page_possible(m) {
            format!(
                " Start from [`{}::first_page`]; [`Client::pages`](crate::Client::pages) walks them all.",
                m.request_type
            )
        } else {
            " [`Client::pages`](crate::Client::pages) walks them all.".to_owned()
        };
        doc.push_str(&format!("* **Pages** count from {}{max}.{first_page}\n", p.spec.base));
    }
    match &m.typed {
        Some(typed) => {
            let required: Vec<String> =
                typed.request.fields.iter().filter(|f| f.required).map(|f| format!("`{}`", f.wire)).collect();
            if required.is_empty() {
                doc.push_str("* **Required:** nothing; every parameter has a setter.\n");
            } else if required.len() >= REQUIRED_STRUCT_FROM {
                doc.push_str(&format!(
                    "* **Required:** {}, given by name in [`{}`].\n",
                    required.join(", "),
                    required_struct_name(&m.request_type)
                ));
            } else {
                doc.push_str(&format!(
                    "* **Required:** {}: the arguments of [`new`](Self::new).\n",
                    required.join(", ")
                ));
            }
            doc.push_str(&format!("* **Reply:** [`{}`]; nested types are in this module.", m.response_type));
            if let Some(key) = &typed.wrapper {
                doc.push_str(&format!(
                    " The documentation lists `data` as a single field `{key}`: the reply's value itself (as \
                     the official Go SDK decodes it) and `{{\"{key}\": …}}` both decode."
                ));
            }
            doc.push('\n');
        }
        None => doc.push_str(
            "* **Untyped:** the spec has no field definitions for this method yet; the parameters are an \
             open JSON object and the reply is JSON. Typing it later is a spec change only.\n",
        ),
    }
    match &m.doc_url {
        Some(url) => doc.push_str(&format!("* **Platform docs:** <{url}>\n")),
        None => doc.push_str(&format!("* **Platform docs:** search `{}` at <{DOCS_HOME}>\n", m.name)),
    }
    doc
}

/// The aliases rustdoc search finds the request by: the method name and its other names.
fn aliases(m: &Method) -> TokenStream {
    let names = std::iter::once(&m.name).chain(&m.aliases).chain(&m.known_as);
    quote!(#(#[doc(alias = #names)])*)
}

/// `api/<group>/<method>.rs`; the nested types named in `shared` are the group's, and
/// re-exported.
pub fn method_file(m: &Method, shared: &[&str]) -> TokenStream {
    let module_doc = format!(" `{}`: its request, its response and their nested types.", m.name);
    let body = match &m.typed {
        Some(typed) => typed_tokens(m, typed, shared),
        None => untyped_tokens(m),
    };
    let decode = m.typed.is_some().then(|| {
        quote! {
            #[doc(hidden)]
            mod wire;
        }
    });
    quote! {
        #![doc = #module_doc]
        #body
        #decode
    }
}

fn request_binding(m: &Method) -> TokenStream {
    let request = ident(&m.request_type);
    let response = ident(&m.response_type);
    let method = &m.name;
    let read_only = m.read_only.then(|| {
        quote!(
            const READ_ONLY: bool = true;
        )
    });
    quote! {
        impl crate::request::Request for #request {
            const METHOD: &'static str = #method;
            #read_only
            type Response = #response;
        }
    }
}

fn untyped_tokens(m: &Method) -> TokenStream {
    let request = ident(&m.request_type);
    let response = ident(&m.response_type);
    let request_doc = doc_lines(&request_doc(m));
    let aliases = aliases(m);
    let response_doc = format!(" `{}` response (untyped: the reply's `data` as a JSON value).", m.name);
    let binding = request_binding(m);
    quote! {
        #request_doc
        #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        #[non_exhaustive]
        #aliases
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

        #binding
    }
}

fn typed_tokens(m: &Method, typed: &Typed, shared: &[&str]) -> TokenStream {
    let request_tokens = struct_tokens(&typed.request, &request_doc(m), aliases(m), false);
    let response_doc = format!("`{}` response: the reply's `data`.", m.name);
    let response_tokens = match &typed.response {
        ResponseShape::Object(s) => struct_tokens(s, &response_doc, quote!(), false),
        ResponseShape::Newtype(ty, _) => newtype_response(m, ty, &response_doc),
    };
    let binding = request_binding(m);
    let paging = m.paging.as_ref().map(|p| paging_tokens(m, typed, p));
    let nested = typed.nested.iter().filter(|s| !shared.contains(&s.name.as_str())).map(|s| {
        let doc = format!("An object inside `{}`.", m.name);
        struct_tokens(s, &doc, quote!(), false)
    });
    let reexports = (!shared.is_empty()).then(|| {
        let names = shared.iter().map(|n| ident(n));
        quote!(pub use super::shared::{#(#names),*};)
    });
    let moved = super::moved_aliases(&m.moved, &m.name);
    quote! {
        #reexports
        #moved
        #request_tokens
        #response_tokens
        #binding
        #paging
        #(#nested)*
    }
}

/// A response whose `data` is not an object: a transparent newtype; a list derefs to it.
fn newtype_response(m: &Method, ty: &RustType, doc: &str) -> TokenStream {
    let response = ident(&m.response_type);
    let inner = newtype_inner(ty);
    let doc = doc_lines(doc);
    let list = match ty {
        RustType::Vec(item) => {
            let item = type_tokens(item);
            Some(quote! {
                impl ::std::ops::Deref for #response {
                    type Target = Vec<#item>;
                    fn deref(&self) -> &Vec<#item> {
                        &self.0
                    }
                }

                impl IntoIterator for #response {
                    type Item = #item;
                    type IntoIter = ::std::vec::IntoIter<#item>;
                    fn into_iter(self) -> Self::IntoIter {
                        self.0.into_iter()
                    }
                }
            })
        }
        RustType::Model(name) => {
            let model = type_tokens(ty);
            let doc = format!(" The reply is one [`{name}`](crate::api::model::{name}): its fields read through this.");
            Some(quote! {
                impl ::std::ops::Deref for #response {
                    type Target = #model;
                    #[doc = #doc]
                    fn deref(&self) -> &#model {
                        &self.0
                    }
                }

                impl From<#response> for #model {
                    fn from(response: #response) -> #model {
                        response.0
                    }
                }
            })
        }
        _ => None,
    };
    quote! {
        #doc
        #[derive(Clone, Debug, Default, ::serde::Serialize)]
        #[serde(transparent)]
        #[non_exhaustive]
        pub struct #response(pub #inner);

        #list
    }
}

/// Whether `first_page` can be generated: the request is built with positional arguments.
fn first_page_possible(m: &Method) -> bool {
    m.typed.as_ref().is_some_and(|t| t.request.fields.iter().filter(|f| f.required).count() < REQUIRED_STRUCT_FROM)
}

/// A zero placeholder for the page argument of `new` (set to the base right after).
fn page_placeholder(field: &FieldIr) -> TokenStream {
    match field.ty {
        RustType::String => quote!(String::new()),
        _ => quote!(0),
    }
}

fn paging_tokens(m: &Method, typed: &Typed, p: &PagingIr) -> TokenStream {
    let request = ident(&m.request_type);
    let item = type_tokens(&p.item);
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
    let first_page = first_page_possible(m).then(|| {
        let required: Vec<&FieldIr> = typed.request.fields.iter().filter(|f| f.required).collect();
        let params = required.iter().filter(|f| f.rust != p.page_field).map(|f| {
            let rust = ident(&f.rust);
            let ty = super::structs::param(&f.ty).ty();
            quote!(#rust: #ty)
        });
        let args = required.iter().map(|f| {
            if f.rust == p.page_field {
                page_placeholder(f)
            } else {
                let rust = ident(&f.rust);
                quote!(#rust)
            }
        });
        let doc = format!(
            " The first page (page {base}) of the list, with the other required parameters: the start \
             of [`Client::pages`](crate::Client::pages)."
        );
        quote! {
            impl #request {
                #[doc = #doc]
                pub fn first_page(#(#params),*) -> Self {
                    let mut request = Self::new(#(#args),*);
                    crate::page::PageNumber::set(&mut request.#page, #base);
                    request
                }
            }
        }
    });
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

        #first_page
    }
}

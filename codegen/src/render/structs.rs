//! One generated struct: its fields and docs, a redacting `Debug` where fields are
//! sensitive, and — on the request side — the constructor and setters. How it goes on
//! and off the wire is in [`super::wire`].

use super::{doc_lines, field_type, ident, type_tokens};
use crate::ir::{FieldIr, RustType, Struct};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// From this many required parameters on, `new` takes a named `…Required` struct instead
/// of positional arguments, which could be swapped silently.
pub const REQUIRED_STRUCT_FROM: usize = 5;

/// A field's rustdoc: its meaning when known, then the JSON name, whether it is required
/// or sensitive, and an example.
fn field_doc(field: &FieldIr) -> String {
    let mut doc = String::new();
    if let Some(text) = field.doc.as_deref() {
        doc.push_str(text.trim());
        doc.push_str("\n\n");
    }
    doc.push_str(&format!("`{}`", field.wire));
    if field.required {
        doc.push_str(" (required)");
    }
    if field.sensitive {
        doc.push_str(" (sensitive: redacted in `Debug`)");
    }
    match &field.ty {
        RustType::CodeSet { name, .. } => doc.push_str(&format!(": a [`{name}`](crate::codes::{name}) code")),
        RustType::CodeList { name } => {
            doc.push_str(&format!(": [`{name}`](crate::codes::{name}) codes, sent joined by `,`"))
        }
        RustType::Id { name, text } => doc.push_str(&format!(
            ": [`{name}`](crate::ids::{name}), sent as a {}",
            if *text { "string" } else { "number" }
        )),
        RustType::Vec(item) => match &**item {
            RustType::Id { name, text } => doc.push_str(&format!(
                ": [`{name}`](crate::ids::{name})s, each sent as a {}",
                if *text { "string" } else { "number" }
            )),
            RustType::CodeSet { name, .. } => doc.push_str(&format!(": [`{name}`](crate::codes::{name}) codes")),
            _ => {}
        },
        _ => {}
    }
    if let Some(example) = field.example.as_deref().filter(|e| !e.is_empty()) {
        let example: String = example.chars().take(80).collect::<String>().replace('`', "'");
        doc.push_str(&format!(". Example: `{}`", example.replace('\n', " ")));
    }
    doc
}

/// Whether the struct derives `Default`: not a request struct with required fields (its
/// default would be an invalid request).
pub fn derives_default(s: &Struct) -> bool {
    !(s.builder && s.fields.iter().any(|f| f.required))
}

/// How a field goes on the wire (its `crate::ser::Fields` call), for a field whose Rust
/// type does not fix its wire form: a code sent as a string of digits, an identifier sent
/// as a number or a string, as the field is. A request's numeric id field refuses a textual
/// id (the platform would refuse it, and the sign covers the exact form); a reply's or a
/// push's keeps what came, so a reply that holds a textual id in a numeric field still
/// serialises (an id's natural form). Absent fields are left out: `None`, `null`, and a
/// request's optional empty list or map.
pub fn field_write(f: &FieldIr, request_side: bool) -> TokenStream {
    let rust = ident(&f.rust);
    let wire = &f.wire;
    let value = match (&f.ty, f.optional) {
        (RustType::CodeSet { text: true, .. }, true) => quote!(&self.#rust.map(crate::codes::Digits)),
        (RustType::CodeSet { text: true, .. }, false) => quote!(&crate::codes::Digits(self.#rust)),
        (RustType::Id { text: false, .. }, _) if !request_side => quote!(&self.#rust),
        (RustType::Id { text, .. }, optional) => {
            let form = if *text { quote!(crate::ids::Text) } else { quote!(crate::ids::Number) };
            if optional {
                quote!(&self.#rust.as_ref().map(#form))
            } else {
                quote!(&#form(&self.#rust))
            }
        }
        (RustType::Vec(item), _) => match &**item {
            RustType::Id { text: false, .. } if !request_side => quote!(&self.#rust),
            RustType::Id { text: false, .. } => quote!(&crate::ids::Numbers(&self.#rust)),
            RustType::Id { text: true, .. } => quote!(&crate::ids::Texts(&self.#rust)),
            _ => quote!(&self.#rust),
        },
        _ => quote!(&self.#rust),
    };
    if skips_when_absent(f, request_side) {
        quote!(out.present(#wire, #value);)
    } else {
        quote!(out.field(#wire, #value);)
    }
}

/// The struct, its `Debug` (redacting) and, on the request side, its builder.
pub fn struct_tokens(s: &Struct, doc: &str, extra_attrs: TokenStream, partial_eq: bool) -> TokenStream {
    let name = ident(&s.name);
    let name_text = &s.name;
    let sensitive = s.has_sensitive();
    let mut derives = vec![quote!(Clone)];
    if derives_default(s) {
        derives.push(quote!(Default));
    }
    if !sensitive {
        derives.push(quote!(Debug));
    }
    if partial_eq {
        derives.push(quote!(PartialEq));
    }
    let fields = s.fields.iter().map(|f| {
        let rust = ident(&f.rust);
        let ty = field_type(f);
        let doc = doc_lines(&field_doc(f));
        quote! {
            #doc
            pub #rust: #ty,
        }
    });
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
    let builder = s.builder.then(|| builder_tokens(s));
    let doc = doc_lines(doc);
    quote! {
        #doc
        #[derive(#(#derives),*)]
        #[non_exhaustive]
        #extra_attrs
        pub struct #name {
            #(#fields)*
        }

        #debug
        #builder
    }
}

/// Whether the field is left out when absent: absent stays absent; request collections that
/// are optional and empty are left out too.
fn skips_when_absent(f: &FieldIr, request_side: bool) -> bool {
    f.optional
        || match &f.ty {
            RustType::Value => true,
            RustType::Vec(_) | RustType::Map(_) => request_side && !f.required,
            _ => false,
        }
}

/// How a parameter of `new`, `first_page` or a setter is taken and turned into the field.
pub(crate) enum Param {
    /// As the field's type.
    Plain(TokenStream),
    /// `impl Into<T>`, then `.into()`.
    Into(TokenStream),
    /// `impl IntoIterator<Item = impl Into<T>>`, then collected.
    Items(TokenStream),
}

impl Param {
    /// The parameter's type.
    pub(crate) fn ty(&self) -> TokenStream {
        match self {
            Param::Plain(ty) => ty.clone(),
            Param::Into(ty) => quote!(impl Into<#ty>),
            Param::Items(item) => quote!(impl IntoIterator<Item = impl Into<#item>>),
        }
    }

    /// The field's value from the parameter `name`.
    pub(crate) fn value(&self, name: &proc_macro2::Ident) -> TokenStream {
        match self {
            Param::Plain(_) => quote!(#name),
            Param::Into(_) => quote!(#name.into()),
            Param::Items(_) => quote!(#name.into_iter().map(Into::into).collect()),
        }
    }
}

/// How a field is taken as a parameter: strings, JSON, ids and codes through `Into` (an id
/// from an integer or a string, a code from its set or its raw number), lists of ids or
/// codes from any iterator of them.
pub(crate) fn param(ty: &RustType) -> Param {
    match ty {
        RustType::String
        | RustType::Value
        | RustType::Id { .. }
        | RustType::CodeSet { .. }
        | RustType::CodeList { .. } => Param::Into(type_tokens(ty)),
        RustType::Vec(item) if matches!(**item, RustType::Id { .. } | RustType::CodeSet { .. }) => {
            Param::Items(type_tokens(item))
        }
        other => Param::Plain(type_tokens(other)),
    }
}

/// The name of a request's required-parameters struct (`ProductAddV2Request` ->
/// `ProductAddV2Required`).
pub fn required_struct_name(request: &str) -> String {
    format!("{}Required", request.strip_suffix("Request").unwrap_or(request))
}

fn builder_tokens(s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let required: Vec<&FieldIr> = s.fields.iter().filter(|f| f.required).collect();
    // The other fields start absent: each is an `Option`, a collection or a JSON value.
    let rest: Vec<TokenStream> = s
        .fields
        .iter()
        .filter(|f| !f.required)
        .map(|f| {
            let rust = ident(&f.rust);
            quote!(#rust: Default::default(),)
        })
        .collect();
    let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.wire)).collect();
    let (required_struct, constructor) = if required.len() >= REQUIRED_STRUCT_FROM {
        let holder = format_ident!("{}", required_struct_name(&s.name));
        let holder_doc = format!(
            " The required parameters of [`{}`], by name: {} of them, too many to pass in order without \
             mixing two up.",
            s.name,
            required.len()
        );
        let fields = required.iter().map(|f| {
            let rust = ident(&f.rust);
            let ty = type_tokens(&f.ty);
            let doc = doc_lines(&field_doc(f));
            quote!(#doc pub #rust: #ty,)
        });
        let names_ident: Vec<_> = required.iter().map(|f| ident(&f.rust)).collect();
        let new_doc = format!(" Builds it from its required parameters ({}).", names.join(", "));
        (
            Some(quote! {
                #[doc = #holder_doc]
                #[derive(Clone)]
                pub struct #holder {
                    #(#fields)*
                }
            }),
            quote! {
                #[doc = #new_doc]
                pub fn new(required: #holder) -> Self {
                    let #holder { #(#names_ident),* } = required;
                    Self { #(#names_ident,)* #(#rest)* }
                }
            },
        )
    } else {
        let params = required.iter().map(|f| {
            let rust = ident(&f.rust);
            let ty = param(&f.ty).ty();
            quote!(#rust: #ty)
        });
        let inits = required.iter().map(|f| {
            let rust = ident(&f.rust);
            match param(&f.ty) {
                Param::Plain(_) => quote!(#rust,),
                taken => {
                    let value = taken.value(&rust);
                    quote!(#rust: #value,)
                }
            }
        });
        let new_doc = if required.is_empty() {
            " A request with no parameters set (none is required).".to_owned()
        } else {
            format!(" Builds it from the required parameters ({}).", names.join(", "))
        };
        (
            None,
            quote! {
                #[doc = #new_doc]
                pub fn new(#(#params),*) -> Self {
                    Self { #(#inits)* #(#rest)* }
                }
            },
        )
    };
    let setters = s.fields.iter().filter(|f| !f.required).map(|f| {
        let rust = ident(&f.rust);
        let taken = param(&f.ty);
        let ty = taken.ty();
        let value = taken.value(&rust);
        let value = if f.optional { quote!(Some(#value)) } else { value };
        let doc = doc_lines(&format!("Sets {}", field_doc(f)));
        quote! {
            #doc
            pub fn #rust(mut self, #rust: #ty) -> Self {
                self.#rust = #value;
                self
            }
        }
    });
    quote! {
        #required_struct

        impl #name {
            #constructor
            #(#setters)*
        }
    }
}

//! The module files: `api/mod.rs`, one `mod.rs` per group, the push messages, the method
//! table and the per-method sample checks.

use super::structs::{required_struct_name, struct_tokens, REQUIRED_STRUCT_FROM};
use super::{ident, inner_doc_lines};
use crate::ir::{Api, Group, MessageIr, Messages, Method};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// `api/mod.rs`: the group modules (each behind its feature) and the messages.
pub fn mod_file(api: &Api) -> TokenStream {
    let modules = api.groups.iter().map(|g| {
        let module = ident(&g.module);
        let feature = &g.module;
        let doc = format!(" The `{}` group ({} methods; cargo feature `{feature}`).", g.name, g.methods.len());
        quote! {
            #[doc = #doc]
            #[cfg(feature = #feature)]
            #[cfg_attr(docsrs, doc(cfg(feature = #feature)))]
            #[rustfmt::skip]
            pub mod #module;
        }
    });
    let features: std::collections::BTreeSet<&str> =
        api.model.iter().flat_map(|m| m.features.iter().map(String::as_str)).collect();
    let model = (!api.model.is_empty()).then(|| {
        let features: Vec<&str> = features.iter().copied().collect();
        quote! {
            #[cfg(any(#(feature = #features),*))]
            #[cfg_attr(docsrs, doc(cfg(any(#(feature = #features),*))))]
            #[rustfmt::skip]
            pub mod model;
        }
    });
    quote! {
        //! The generated API: one module per API group, each behind its cargo feature (`full`
        //! turns them all on), and the push messages (feature `messages`). [`crate::catalog::METHODS`] lists every
        //! method whatever the features.
        #(#modules)*

        #[cfg(feature = "messages")]
        #[cfg_attr(docsrs, doc(cfg(feature = "messages")))]
        #[rustfmt::skip]
        pub mod messages;

        #model

        /// The code sets' data (`api-spec/codes.json`), re-exported by [`crate::codes`].
        #[rustfmt::skip]
        pub(crate) mod codes;

        #[cfg(test)]
        #[rustfmt::skip]
        mod tests;
    }
}

/// `api/<group>/mod.rs`: one module per method, its request and response re-exported.
pub fn group_mod_file(group: &Group) -> TokenStream {
    let doc = format!(
        "The `{}` API group: {} methods, behind the `{}` cargo feature.\n\nEach method has a module \
         with its request, response and nested types; the request and response are re-exported \
         here.\n\n{}",
        group.name,
        group.methods.len(),
        group.module,
        method_table_doc(group)
    );
    let doc = inner_doc_lines(&doc);
    let methods = group.methods.iter().map(|m: &Method| {
        let module = ident(&m.module);
        let request = ident(&m.request_type);
        let response = ident(&m.response_type);
        let wide = m
            .typed
            .as_ref()
            .is_some_and(|t| t.request.fields.iter().filter(|f| f.required).count() >= REQUIRED_STRUCT_FROM);
        let required = wide.then(|| {
            let required = ident(&required_struct_name(&m.request_type));
            quote!(, #required)
        });
        quote! {
            pub mod #module;
            pub use #module::{#request, #response #required};
        }
    });
    let shared = (!group.shared.is_empty()).then(|| {
        quote! {
            pub mod shared;
        }
    });
    let domain: Vec<_> = group.domain_types.iter().map(|n| ident(n)).collect();
    let domain = (!domain.is_empty()).then(|| {
        quote! {
            /// The domain types this group's methods return (defined in [`crate::api::model`]).
            pub use crate::api::model::{#(#domain),*};
        }
    });
    quote! {
        #doc
        #shared
        #domain
        #(#methods)*
    }
}

/// The group page's table: each method's platform name, Rust types, whether it writes, and
/// its paging.
fn method_table_doc(group: &Group) -> String {
    let mut out = String::from("| Method | Request → Response | Kind | Paging |\n| --- | --- | --- | --- |\n");
    for m in &group.methods {
        let mut name = format!("`{}`", m.name);
        for other in &m.known_as {
            name.push_str(&format!(" (also `{other}`)"));
        }
        let kind = match (m.read_only, m.typed.is_some()) {
            (true, true) => "read",
            (false, true) => "write",
            (true, false) => "read, untyped",
            (false, false) => "write, untyped",
        };
        let paging = match &m.paging {
            Some(p) => match p.spec.max_size {
                Some(max) => format!("from {}, ≤ {max} a page", p.spec.base),
                None => format!("from {}", p.spec.base),
            },
            None => "—".to_owned(),
        };
        out.push_str(&format!(
            "| {name} | [`{req}`](crate::api::{module}::{req}) → [`{resp}`](crate::api::{module}::{resp}) | {kind} | {paging} |\n",
            req = m.request_type,
            resp = m.response_type,
            module = group.module,
        ));
    }
    out
}

/// `api/GROUPS.md`: the crate's front page table of the groups, their features and method
/// counts (included by `lib.rs`).
pub fn groups_page(api: &Api) -> String {
    let methods: usize = api.groups.iter().map(|g| g.methods.len()).sum();
    let typed: usize = api.groups.iter().flat_map(|g| &g.methods).filter(|m| m.typed.is_some()).count();
    let mut out = format!(
        "<!-- Code generated by cargo xtask gen. DO NOT EDIT. Source: api-spec/ (all files) -->\n\
         ## The API groups\n\n\
         {methods} methods ({typed} typed) in {} groups, one module and one cargo feature each \
         (`full` turns them all on):\n\n\
         | Group | Feature and module | Methods | Typed |\n| --- | --- | ---: | ---: |\n",
        api.groups.len()
    );
    for g in &api.groups {
        let typed = g.methods.iter().filter(|m| m.typed.is_some()).count();
        out.push_str(&format!(
            "| `{}` | [`{module}`](crate::api::{module}) | {} | {typed} |\n",
            g.name,
            g.methods.len(),
            module = g.module
        ));
    }
    out
}

/// `api/<group>/shared.rs`: the nested types several methods hold in the same shape.
pub fn shared_file(group: &Group) -> TokenStream {
    let doc = format!(
        " Nested types several `{}` methods hold in the same shape, defined once; each method's \
         module re-exports the ones it holds.",
        group.name
    );
    let types = group.shared.iter().map(|s| {
        let methods: Vec<String> = s.methods.iter().map(|m| format!("`{m}`")).collect();
        let doc = format!("An object inside {}.", list(&methods));
        struct_tokens(&s.body, &doc, quote!(), false)
    });
    quote! {
        #![doc = #doc]
        #(#types)*

        #[doc(hidden)]
        mod wire;
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `api/messages/<message>.rs`: the message's struct and its nested types.
pub fn message_file(m: &MessageIr) -> TokenStream {
    let mut doc = format!("Push message `{}` ({})", m.body.name, tag_text(m));
    match m.doc.as_deref() {
        Some(text) => doc.push_str(&format!(": {}", text.trim())),
        None => doc.push_str(": the decoded `data` of the record."),
    }
    if let Some(url) = &m.doc_url {
        doc.push_str(&format!("\n\nPlatform docs: <{url}>."));
    }
    let body = struct_tokens(&m.body, &doc, quote!(), true);
    let nested_doc = format!("An object inside push message `{}`.", m.body.name);
    let nested = m.nested.iter().map(|s| struct_tokens(s, &nested_doc, quote!(), true));
    if m.tag.is_none() {
        doc.push_str(
            "\n\nNo copy publishes this message's tag number: a push of it arrives as \
             [`PushEvent::Unknown`](crate::push::PushEvent::Unknown) until its tag is registered with \
             [`register_tag`](crate::push::register_tag); [`Message::decode_named`](super::Message::decode_named) \
             decodes it by name.",
        );
    }
    let module_doc = format!(" Push message `{}` ({}) and its nested types.", m.body.name, tag_text(m));
    let moved = super::moved_aliases(&m.moved, &format!("push message `{}`", m.body.name));
    quote! {
        #![doc = #module_doc]
        #moved
        #body
        #(#nested)*

        #[doc(hidden)]
        mod wire;
    }
}

/// `tag 100`, or for an untagged message its event name.
fn tag_text(m: &MessageIr) -> String {
    match (m.tag, &m.event) {
        (Some(tag), _) => format!("tag {tag}"),
        (None, Some(event)) => format!("`{event}`, tag unpublished"),
        (None, None) => "tag unpublished".to_owned(),
    }
}

/// `api/messages/mod.rs`: one module per message and [`Message`] over all of them.
pub fn messages_mod_file(messages: &Messages) -> TokenStream {
    let modules = messages.messages.iter().map(|m| {
        let module = ident(&m.module);
        let name = ident(&m.body.name);
        quote! {
            pub mod #module;
            pub use #module::#name;
        }
    });
    let variants = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        let doc = match m.tag {
            Some(tag) => format!(" Tag {tag}."),
            None => " Tag unpublished: decoded by name, or by a tag registered with `register_tag`.".to_owned(),
        };
        quote!(#[doc = #doc] #name(#name),)
    });
    let tags = messages.messages.iter().filter_map(|m| m.tag);
    let type_names = messages.messages.iter().map(|m| m.body.name.as_str());
    let untagged = messages.messages.iter().filter(|m| m.tag.is_none()).map(|m| m.body.name.as_str());
    let tag_arms = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        match m.tag {
            Some(tag) => quote!(Message::#name(_) => Some(#tag),),
            None => quote!(Message::#name(_) => None,),
        }
    });
    let name_arms = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        let text = &m.body.name;
        quote!(Message::#name(_) => #text,)
    });
    let decode_arms = messages.messages.iter().filter_map(|m| {
        let name = ident(&m.body.name);
        let tag = m.tag?;
        Some(quote!(#tag => crate::de::from_str(data).map(Message::#name),))
    });
    let type_name_arms = messages.messages.iter().map(|m| {
        let text = &m.body.name;
        let event = m.event.iter();
        quote!(#text #(| #event)* => Some(#text),)
    });
    let named_arms = messages.messages.iter().map(|m| {
        let name = ident(&m.body.name);
        let text = &m.body.name;
        let event = m.event.iter();
        quote!(#text #(| #event)* => crate::de::from_str(data).map(Message::#name),)
    });
    quote! {
        //! Push messages (消息推送): one module per message tag with its type, and [`Message`]
        //! over all of them.
        #(#modules)*

        /// A decoded push message, by tag (or, for a message whose tag is unpublished, by name).
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // The variants are the platform's message names, whatever they share.
        #[allow(clippy::enum_variant_names)]
        pub enum Message {
            #(#variants)*
        }

        impl Message {
            /// Every known tag, ascending.
            pub const TAGS: &'static [u32] = &[#(#tags),*];

            /// Every message type's name, in the order of the variants.
            pub const NAMES: &'static [&'static str] = &[#(#type_names),*];

            /// The message types whose tag no copy publishes: register the tag your console
            /// shows with [`register_tag`](crate::push::register_tag).
            pub const UNTAGGED: &'static [&'static str] = &[#(#untagged),*];

            /// The message's tag; `None` for a type whose tag is unpublished.
            pub fn tag(&self) -> Option<u32> {
                match self {
                    #(#tag_arms)*
                }
            }

            /// The message type's name (`TradeCreate`).
            pub fn name(&self) -> &'static str {
                match self {
                    #(#name_arms)*
                }
            }

            /// The message type's name of a type name or event name (`trade_TradeCreate` ->
            /// `TradeCreate`); `None` for a name no message type has.
            pub fn type_name(name: &str) -> Option<&'static str> {
                match name {
                    #(#type_name_arms)*
                    _ => None,
                }
            }

            /// `None` when `name` is neither a message type's name (`TradeCreate`) nor its
            /// event name (`trade_TradeCreate`); otherwise the decoded `data` (a JSON text).
            pub fn decode_named(name: &str, data: &str) -> Option<Result<Message, crate::de::DecodeFailure>> {
                Some(match name {
                    #(#named_arms)*
                    _ => return None,
                })
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

/// The columns of `api/method_table.tsv`, as its header line names them.
pub const METHOD_TABLE_COLUMNS: [&str; 14] = [
    "name",
    "known_as",
    "group",
    "feature",
    "request_type",
    "response_type",
    "read_only",
    "typed",
    "page_param",
    "size_param",
    "page_base",
    "max_size",
    "items_path",
    "total_path",
];

/// `api/method_table.tsv`: every method, one line each, sorted by name, tab-separated under
/// a header of [`METHOD_TABLE_COLUMNS`] (other spellings joined by `,`, flags `0`/`1`, an
/// absent value empty). `crate::catalog` parses it once: text costs the compiler nothing,
/// where an array of 800 struct literals cost a noticeable share of the core's build.
pub fn method_table(api: &Api) -> String {
    let mut methods: Vec<(&Group, &Method)> =
        api.groups.iter().flat_map(|g| g.methods.iter().map(move |m| (g, m))).collect();
    methods.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let mut out = METHOD_TABLE_COLUMNS.join("\t");
    out.push('\n');
    for (g, m) in methods {
        let paging = match &m.paging {
            None => ["", "", "", "", "", ""].map(str::to_owned),
            Some(p) => [
                p.spec.page.clone(),
                p.spec.size.clone(),
                p.spec.base.to_string(),
                p.spec.max_size.map(|n| n.to_string()).unwrap_or_default(),
                p.spec.items.clone(),
                p.spec.total.clone().unwrap_or_default(),
            ],
        };
        let row = [
            m.name.clone(),
            m.known_as.join(","),
            g.name.clone(),
            g.module.clone(),
            format!("api::{}::{}", g.module, m.request_type),
            format!("api::{}::{}", g.module, m.response_type),
            u8::from(m.read_only).to_string(),
            u8::from(m.typed.is_some()).to_string(),
        ];
        out.push_str(&row.into_iter().chain(paging).collect::<Vec<_>>().join("\t"));
        out.push('\n');
    }
    out
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
        #[cfg(feature = "messages")]
        const MESSAGE_SAMPLES: &str =
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../doudian-gateway/data/message_samples.json"));

        #(#groups)*

        #[cfg(feature = "messages")]
        #[test]
        fn message_samples_decode() {
            use super::messages::Message;
            crate::de::testing::check_messages(
                MESSAGE_SAMPLES,
                crate::de::testing::MessageDecoders {
                    names: Message::NAMES,
                    tags: Message::TAGS,
                    decode: Message::decode,
                    decode_named: Message::decode_named,
                    tag_of: Message::tag,
                    name_of: Message::name,
                },
            );
        }
    }
}

#![doc = include_str!("../README.md")]
//!
//! ## The crate's parts
//!
//! A small hand-written core — [`client`], [`sign`], [`token`], [`retry`], [`page`],
//! [`observe`], [`push`], `spi`, `upload` and `sync` (features), [`error`], [`codes`], [`ids`] — and the generated
//! API under [`api`], one module and one cargo feature per API group (`full` turns them all
//! on), and the typed push messages (feature `messages`). [`catalog`] lists every method
//! with its Rust types and feature.
//!
#![doc = include_str!("api/GROUPS.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod catalog;
pub mod client;
pub mod codes;
// The decoders the generated types use: an implementation detail, not a stable API.
#[doc(hidden)]
pub mod de;
pub mod error;
pub mod ids;
pub mod observe;
pub mod page;
pub mod push;
pub mod ratelimit;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod request;
pub mod retry;
#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
pub mod schema;
pub mod secret;
// The serialisers the generated types use: an implementation detail, not a stable API.
#[doc(hidden)]
pub mod ser;
pub mod sign;
#[cfg(feature = "spi")]
#[cfg_attr(docsrs, doc(cfg(feature = "spi")))]
pub mod spi;
#[cfg(feature = "sync")]
#[cfg_attr(docsrs, doc(cfg(feature = "sync")))]
pub mod sync;
pub mod time;
pub mod token;
#[cfg(feature = "upload")]
#[cfg_attr(docsrs, doc(cfg(feature = "upload")))]
pub mod upload;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod webhook;

pub use client::{CallOptions, Client, ClientBuilder, Items, Pages, Response};
pub use error::{ApiError, Error, Result};
pub use page::{Page, Paginated};
pub use request::Request;
pub use secret::{AccessToken, AppSecret};
pub use sign::SignMethod;
#[cfg(feature = "upload")]
pub use upload::{Material, UploadOptions, UploadedMaterial};

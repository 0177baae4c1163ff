//! Typed Rust SDK for the Doudian (抖店) open platform.
//!
//! The crate has two halves: a small hand-written core (signing, HTTP, tokens, errors,
//! paging, push messages, SPI) and the generated API under [`api`], one module and one
//! cargo feature per API group (`full` turns them all on).

pub mod api;
pub mod catalog;
pub mod client;
pub mod de;
pub mod error;
pub mod page;
pub mod push;
pub mod request;
pub mod retry;
pub mod secret;
pub mod sign;
pub mod spi;
pub mod token;

pub use client::{CallOptions, Client, ClientBuilder, Response};
pub use error::{ApiError, Error, Result};
pub use page::{Page, Paginated};
pub use request::Request;
pub use secret::{AccessToken, AppSecret};
pub use sign::SignMethod;

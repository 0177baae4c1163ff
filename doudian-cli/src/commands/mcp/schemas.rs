//! Every use of the method schemas by `doudian mcp`, in one place: the SDK's generated
//! schemas (feature `schema`).

pub use doudian_sdk::schema::{group_title, params, reply, validate_params};

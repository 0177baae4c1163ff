//! The client.
pub struct Client;
pub struct ClientBuilder;
pub struct CallOptions;
pub struct Response<T>(pub T);

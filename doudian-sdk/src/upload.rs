//! Binary material upload: a shop's local image (or video) reaching the platform, to be
//! used as `file_uri` in `material.uploadImageSync` and friends (PROTOCOL.md §8).
//!
//! Three exchanges, one call ([`Client::upload_material`], [`Client::upload_file`]):
//!
//! 1. `open.materialToken` (`upload_num` 1, `file_extension`), a signed call like any
//!    other, whose `auth_query` is a URL;
//! 2. GET that URL: a store URI, its upload credential and an upload host;
//! 3. PUT the bytes to `http://{upload_host}/{store_uri}` with `Authorization` and
//!    `Content-CRC32`.
//!
//! Always compiled, without the `open` feature: the token call goes by method name.
//!
//! ```no_run
//! # #[cfg(feature = "material")]
//! # async fn demo(client: doudian_sdk::Client) -> doudian_sdk::Result<()> {
//! use doudian_sdk::api::material::MaterialUploadImageSyncRequest;
//!
//! let uploaded = client.upload_file("photos/front.jpg").await?;
//! let image = MaterialUploadImageSyncRequest::new("0", "front").file_uri(&uploaded.store_uri);
//! let material = client.execute(&image).await?;
//! println!("{} -> material {:?}", uploaded.store_uri, material.material_id);
//! # Ok(()) }
//! ```
//!
//! # Retries and outcomes
//!
//! Obtaining the address (token call + GET) is retried as one unit with the client's
//! [`RetryPolicy`], after every failure a second attempt may get past (rate limits, a busy
//! service, connection failures, timeouts, 5xx): an unused upload credential simply
//! expires, and the address URL may be single-use, so a retry starts from the token call.
//! The PUT is retried on its own, to the *same* store URI with the same credential and the
//! same bytes, also after a lost reply: storing the same bytes under the same key twice
//! leaves one identical object, so the PUT is idempotent and a retry cannot duplicate
//! anything. When every attempt failed after the bytes may have arrived,
//! [`Error::is_ambiguous`] is true; the only possible leftover is an object nobody refers
//! to, so uploading again is safe.

mod crc32;
mod imagex;
mod source;

use std::path::Path;
use std::time::Duration;

pub use crc32::{crc32, crc32_hex, Crc32};
pub use source::Material;

use crate::client::{CallOptions, Client};
use crate::error::{DecodeError, Error, Result, UploadError, UploadFailure, UploadStep};
use crate::retry::{self, RetryPolicy};

/// The default size limit: 20 MiB, above what the platform takes for an image.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 20 * 1024 * 1024;

/// The method that hands out upload credentials.
const TOKEN_METHOD: &str = "open.materialToken";

/// Shown instead of a token reply that does not decode: its `auth_query` is a credential.
const WITHHELD: &str = "<withheld: material token replies carry the upload credential>";

/// Settings of one upload.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UploadOptions {
    /// Materials larger than this are refused before anything is sent.
    pub max_bytes: u64,
    /// The total timeout of each PUT attempt (the token call and the GET use the client's).
    pub put_timeout: Duration,
    /// The retry policy (default: the client's).
    pub retry: Option<RetryPolicy>,
    /// Options of the `open.materialToken` call: an explicit access token, a log id, a
    /// timeout. Its retry policy is not used: [`UploadOptions::retry`] covers the call.
    pub token_call: CallOptions,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            max_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            put_timeout: Duration::from_secs(120),
            retry: None,
            token_call: CallOptions::default(),
        }
    }
}

impl UploadOptions {
    /// The defaults: 20 MiB, 120 s per PUT, the client's retry policy.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the size limit in bytes.
    pub fn max_bytes(mut self, limit: u64) -> Self {
        self.max_bytes = limit;
        self
    }
    /// Sets the timeout of each PUT attempt.
    pub fn put_timeout(mut self, timeout: Duration) -> Self {
        self.put_timeout = timeout;
        self
    }
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Sets the options of the `open.materialToken` call.
    pub fn token_call(mut self, options: CallOptions) -> Self {
        self.token_call = options;
        self
    }
}

/// A material stored on the platform, ready to be used as `file_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedMaterial {
    /// The store URI: the `file_uri` of `material.uploadImageSync` and friends.
    pub store_uri: String,
    /// The size in bytes.
    pub size: u64,
    /// The CRC-32 sent as `Content-CRC32` (and confirmed by the upload host).
    pub crc32: u32,
    /// `X-Tt-Logid` of the address reply, to find the upload in the platform's logs.
    pub log_id: String,
}

impl Client {
    /// Uploads `material` (bytes, or a [`Material`]) as a file with `extension` (with its
    /// dot: `.jpg`, `.png`, `.mp4`) and returns its store URI. Refused before any request
    /// when it is over [`DEFAULT_MAX_UPLOAD_BYTES`]; see [`Client::upload_material_with`].
    ///
    /// ```no_run
    /// # async fn demo(client: doudian_sdk::Client, png: Vec<u8>) -> doudian_sdk::Result<()> {
    /// let uploaded = client.upload_material(png, ".png").await?;
    /// println!("file_uri {}", uploaded.store_uri);
    /// # Ok(()) }
    /// ```
    pub async fn upload_material(&self, material: impl Into<Material>, extension: &str) -> Result<UploadedMaterial> {
        self.upload_material_with(material.into(), extension, &UploadOptions::default()).await
    }

    /// Uploads the file at `path`, streamed from disk; the extension comes from the path
    /// (lower-cased).
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<UploadedMaterial> {
        self.upload_file_with(path, &UploadOptions::default()).await
    }

    /// [`Client::upload_file`] with options.
    pub async fn upload_file_with(&self, path: impl AsRef<Path>, options: &UploadOptions) -> Result<UploadedMaterial> {
        let path = path.as_ref();
        let extension = path.extension().and_then(|e| e.to_str()).filter(|e| !e.is_empty()).ok_or_else(|| {
            Error::invalid_request(format!(
                "cannot tell the file type of {} from its name: use upload_material with an extension",
                path.display()
            ))
        })?;
        let extension = format!(".{}", extension.to_ascii_lowercase());
        self.upload_material_with(Material::file(path), &extension, options).await
    }

    /// [`Client::upload_material`] with options: the size limit, the PUT timeout, the
    /// retry policy. The retries are described in the [module docs](crate::upload).
    pub async fn upload_material_with(
        &self,
        material: impl Into<Material>,
        extension: &str,
        options: &UploadOptions,
    ) -> Result<UploadedMaterial> {
        check_extension(extension)?;
        let prepared = material.into().prepare(options.max_bytes).await?;
        let policy = options.retry.as_ref().unwrap_or(self.retry_policy());
        tracing::debug!(size = prepared.size, extension, "uploading material");
        // One attempt per call inside: this loop covers the token call and the GET together.
        let token_call = options.token_call.clone().retry(RetryPolicy::none());
        let address = retry::run(policy, TOKEN_METHOD, true, |_| self.upload_address(extension, &token_call)).await?;
        retry::run(policy, "imagex.put", true, |_| {
            imagex::put_object(self.http(), &address, &prepared, options.put_timeout)
        })
        .await?;
        tracing::debug!(store_uri = address.store_uri.as_str(), log_id = address.log_id.as_str(), "material stored");
        Ok(UploadedMaterial {
            store_uri: address.store_uri,
            size: prepared.size,
            crc32: prepared.crc32,
            log_id: address.log_id,
        })
    }

    /// Steps 1 and 2: a fresh upload credential and the address it opens.
    async fn upload_address(&self, extension: &str, options: &CallOptions) -> Result<imagex::UploadAddress> {
        let params = serde_json::json!({ "upload_num": 1, "file_extension": extension });
        let reply = self.call_value(TOKEN_METHOD, &params, options).await.map_err(|error| match error {
            Error::Decode(decode) => Error::Decode(Box::new(DecodeError { excerpt: WITHHELD.to_owned(), ..*decode })),
            other => other,
        })?;
        let auth_query = reply
            .data()
            .get("auth_query")
            .and_then(serde_json::Value::as_str)
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .ok_or_else(|| {
                let mut error =
                    UploadError::new(UploadStep::Token, UploadFailure::Malformed, "no http(s) URL in `auth_query`");
                error.log_id = reply.log_id().to_owned();
                Error::from(error)
            })?;
        imagex::request_address(self.http(), auth_query).await
    }
}

/// `.` followed by 1 to 15 ASCII letters or digits.
fn check_extension(extension: &str) -> Result<()> {
    let name = extension.strip_prefix('.').unwrap_or("");
    if name.is_empty() || name.len() > 15 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid_request(format!(
            "file extension `{extension}` must be a dot and 1-15 letters or digits, e.g. `.jpg`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_start_with_a_dot() {
        for good in [".jpg", ".PNG", ".mp4", ".webp"] {
            assert!(check_extension(good).is_ok(), "{good}");
        }
        for bad in ["jpg", ".", "", ".j pg", "./x", ".jpg?x=1", ".abcdefghijklmnop"] {
            assert!(matches!(check_extension(bad), Err(Error::InvalidRequest(_))), "{bad}");
        }
    }

    #[tokio::test]
    async fn over_the_limit_nothing_is_sent() {
        // Nothing listens on port 9: had anything been sent, this would be a transport error.
        let client = Client::builder("7012345678901234567", "s")
            .base_url("http://127.0.0.1:9")
            .env_proxy(false)
            .build()
            .unwrap();
        let options = UploadOptions::new().max_bytes(3);
        let err = client.upload_material_with(vec![1, 2, 3, 4], ".png", &options).await.unwrap_err();
        let Error::Upload(upload) = &err else { panic!("{err:?}") };
        assert_eq!((upload.step, &upload.failure), (UploadStep::Read, &UploadFailure::TooLarge { size: 4, limit: 3 }));
        assert_eq!(
            err.to_string(),
            "upload failed at reading the material: 4 bytes is over the 3-byte limit; nothing was sent"
        );
        let no_extension = client.upload_file("/tmp/no-extension").await.unwrap_err();
        assert!(matches!(no_extension, Error::InvalidRequest(_)), "{no_extension:?}");
    }
}

//! A reply's body, read whole within a limit, and gzip-decoded when it was encoded.

use std::io::Read;

use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::BoxError;

pub(super) enum Failure {
    /// The body, or its decoded content, is larger than the limit.
    TooLarge,
    Io(BoxError),
}

/// The whole body of a reply, at most `limit` bytes (before and after decoding).
pub(super) async fn read(mut incoming: Incoming, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, Failure> {
    let announced = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(8 * 1024).min(limit as u64) as usize);
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| Failure::Io(Box::new(e)))?;
        if let Ok(chunk) = frame.into_data() {
            if body.len() + chunk.len() > limit {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    if is_gzip(headers) {
        return gunzip(&body, limit);
    }
    Ok(body)
}

fn is_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(CONTENT_ENCODING).iter().any(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
}

/// The content of a gzip body, at most `limit` bytes.
fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, Failure> {
    let mut content = Vec::with_capacity((compressed.len() * 4).min(limit));
    let mut decoder = flate2::read::GzDecoder::new(compressed).take(limit as u64 + 1);
    decoder.read_to_end(&mut content).map_err(|e| Failure::Io(Box::new(e)))?;
    if content.len() > limit {
        return Err(Failure::TooLarge);
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(content: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_content_is_decoded_within_the_limit() {
        let content = br#"{"code":10000,"data":{}}"#.repeat(100);
        let compressed = gzip(&content);
        assert!(compressed.len() < content.len());
        assert_eq!(gunzip(&compressed, content.len()).ok(), Some(content.clone()));
        // A small body that expands past the limit (a "zip bomb") is refused.
        assert!(matches!(gunzip(&compressed, content.len() - 1), Err(Failure::TooLarge)));
        assert!(matches!(gunzip(b"not gzip", 100), Err(Failure::Io(_))));
    }

    #[test]
    fn only_gzip_is_decoded() {
        let mut headers = HeaderMap::new();
        assert!(!is_gzip(&headers));
        headers.insert(CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert!(is_gzip(&headers));
        headers.insert(CONTENT_ENCODING, "identity".parse().unwrap());
        assert!(!is_gzip(&headers));
    }
}

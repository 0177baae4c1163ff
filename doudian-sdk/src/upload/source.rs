//! What is uploaded: bytes in memory, a file or a reader. `Content-CRC32` goes in the PUT's
//! head, before the body, so the material is measured and checksummed first; a file is
//! then read a second time, chunk by chunk, as the body of each PUT attempt.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use super::crc32::Crc32;
use crate::error::{Error, Result, UploadError, UploadFailure, UploadStep};

/// Bytes read (and sent) at a time from a file or reader.
const CHUNK: usize = 64 * 1024;

/// The material to upload. From bytes (`Vec<u8>` or `&[u8]` convert), a file, or any
/// reader.
///
/// * bytes are sent as they are;
/// * a file is read twice in 64 KiB chunks — once for its size and CRC-32, once as the PUT
///   body — so it is never held in memory; if it changes in between, the PUT is aborted;
/// * a reader can be read only once and the CRC must be known before the body, so it is
///   read into memory first (never more than the size limit plus one byte).
pub struct Material(Source);

enum Source {
    Memory(Bytes),
    File(PathBuf),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Memory(bytes) => write!(f, "Material::bytes({} bytes)", bytes.len()),
            Source::File(path) => write!(f, "Material::file({})", path.display()),
            Source::Reader(_) => f.write_str("Material::reader(..)"),
        }
    }
}

impl Material {
    /// Bytes in memory.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Material(Source::Memory(Bytes::from(bytes.into())))
    }

    /// A file, streamed from disk.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Material(Source::File(path.into()))
    }

    /// Anything readable; buffered in memory up to the size limit (see [`Material`]).
    pub fn reader(reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Material(Source::Reader(Box::new(reader)))
    }

    /// Reads the material as far as needed for its size and CRC-32, refusing it when it is
    /// over `limit` bytes.
    pub(super) async fn prepare(self, limit: u64) -> Result<Prepared> {
        let too_large =
            |size: u64| Error::from(UploadError::new(UploadStep::Read, UploadFailure::TooLarge { size, limit }, ""));
        let in_memory = |bytes: Bytes| {
            let size = bytes.len() as u64;
            if size > limit {
                return Err(too_large(size));
            }
            let crc32 = super::crc32(&bytes);
            Ok(Prepared { body: PreparedBody::Memory(bytes), size, crc32 })
        };
        match self.0 {
            Source::Memory(bytes) => in_memory(bytes),
            Source::Reader(reader) => {
                let mut buffer = Vec::new();
                // One byte past the limit is enough to know it is over.
                reader.take(limit.saturating_add(1)).read_to_end(&mut buffer).await.map_err(|e| read_error(e, None))?;
                in_memory(Bytes::from(buffer))
            }
            Source::File(path) => {
                let mut file = tokio::fs::File::open(&path).await.map_err(|e| read_error(e, Some(&path)))?;
                let declared = file.metadata().await.map_err(|e| read_error(e, Some(&path)))?.len();
                if declared > limit {
                    return Err(too_large(declared));
                }
                let (mut crc, mut size) = (Crc32::new(), 0u64);
                let mut buffer = vec![0u8; CHUNK];
                loop {
                    let n = file.read(&mut buffer).await.map_err(|e| read_error(e, Some(&path)))?;
                    if n == 0 {
                        break;
                    }
                    crc.update(&buffer[..n]);
                    size += n as u64;
                    if size > limit {
                        // The file grew past the limit while it was being read.
                        return Err(too_large(size));
                    }
                }
                Ok(Prepared { body: PreparedBody::File(path), size, crc32: crc.value() })
            }
        }
    }
}

impl From<Vec<u8>> for Material {
    fn from(bytes: Vec<u8>) -> Self {
        Material::bytes(bytes)
    }
}

impl From<&[u8]> for Material {
    fn from(bytes: &[u8]) -> Self {
        Material::bytes(bytes)
    }
}

fn read_error(error: io::Error, path: Option<&Path>) -> Error {
    // The I/O error is the source, not part of the message (printed once in a chain).
    let detail = match path {
        Some(path) => path.display().to_string(),
        None => "the reader".to_owned(),
    };
    Error::from(UploadError::new(UploadStep::Read, UploadFailure::Read, detail).with_source(error))
}

/// A measured material, ready to be sent any number of times.
#[derive(Debug)]
pub(super) struct Prepared {
    body: PreparedBody,
    pub(super) size: u64,
    pub(super) crc32: u32,
}

#[derive(Debug)]
enum PreparedBody {
    Memory(Bytes),
    File(PathBuf),
}

/// Why a file body stopped before its end; read back after the PUT failed.
pub(super) type LocalFailure = Arc<Mutex<Option<UploadError>>>;

impl Prepared {
    /// A fresh body for one PUT attempt. A file body that cannot be read, or whose bytes
    /// are no longer those checksummed, stops with an I/O error (aborting the PUT before
    /// its last byte, so the server never stores it) and leaves the reason in `failure`.
    pub(super) async fn body(&self, failure: &LocalFailure) -> Result<reqwest::Body> {
        match &self.body {
            PreparedBody::Memory(bytes) => Ok(reqwest::Body::from(bytes.clone())),
            PreparedBody::File(path) => {
                let file = tokio::fs::File::open(path).await.map_err(|e| read_error(e, Some(path)))?;
                Ok(reqwest::Body::wrap(FileBody {
                    file,
                    remaining: self.size,
                    expected_crc: self.crc32,
                    crc: Crc32::new(),
                    buffer: Vec::new(),
                    failure: failure.clone(),
                }))
            }
        }
    }
}

/// A file as an HTTP body of exactly the measured size, checksummed again as it is read.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    expected_crc: u32,
    crc: Crc32,
    buffer: Vec<u8>,
    failure: LocalFailure,
}

impl FileBody {
    fn fail(&self, failure: UploadFailure, detail: &str, source: Option<io::Error>) -> io::Error {
        // The error returned aborts the request; the one kept says why, for the caller.
        let (returned, kept) = match source {
            Some(source) => (
                io::Error::new(source.kind(), source.to_string()),
                UploadError::new(UploadStep::Put, failure, detail).with_source(source),
            ),
            None => {
                (io::Error::new(io::ErrorKind::InvalidData, detail), UploadError::new(UploadStep::Put, failure, detail))
            }
        };
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(kept);
        returned
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        // Never more than the measured size: a file that grew is sent as it was measured.
        let want = CHUNK.min(usize::try_from(this.remaining).unwrap_or(CHUNK));
        if this.buffer.len() != want {
            this.buffer = vec![0; want];
        }
        let mut read = ReadBuf::new(&mut this.buffer);
        if let Err(e) = ready!(Pin::new(&mut this.file).poll_read(cx, &mut read)) {
            return Poll::Ready(Some(Err(this.fail(UploadFailure::Read, "the file could not be read", Some(e)))));
        }
        let n = read.filled().len();
        if n == 0 {
            let detail = "the file became shorter after it was checksummed";
            return Poll::Ready(Some(Err(this.fail(UploadFailure::SourceChanged, detail, None))));
        }
        let mut chunk = std::mem::take(&mut this.buffer);
        chunk.truncate(n);
        this.crc.update(&chunk);
        this.remaining -= n as u64;
        if this.remaining == 0 && this.crc.value() != this.expected_crc {
            // Held back: the last chunk is never sent, so the server cannot store the mix.
            let detail = "the file's bytes changed after it was checksummed";
            return Poll::Ready(Some(Err(this.fail(UploadFailure::SourceChanged, detail, None))));
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a body to the end: frames until `None`.
    async fn collect(mut body: FileBody) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let frame = std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await;
            match frame {
                None => return Ok(out),
                Some(frame) => out.extend_from_slice(frame?.data_ref().expect("data frames only")),
            }
        }
    }

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("doudian-sdk-{name}-{}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    async fn file_body(path: &Path, prepared: &Prepared, failure: &LocalFailure) -> FileBody {
        FileBody {
            file: tokio::fs::File::open(path).await.unwrap(),
            remaining: prepared.size,
            expected_crc: prepared.crc32,
            crc: Crc32::new(),
            buffer: Vec::new(),
            failure: failure.clone(),
        }
    }

    #[tokio::test]
    async fn sources_are_measured_and_limited() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let expected = super::super::crc32(&data);
        let path = temp_file("measure", &data);
        for material in
            [Material::bytes(data.clone()), Material::file(&path), Material::reader(std::io::Cursor::new(data.clone()))]
        {
            let prepared = material.prepare(200_000).await.unwrap();
            assert_eq!((prepared.size, prepared.crc32), (200_000, expected));
        }
        for material in
            [Material::bytes(data.clone()), Material::file(&path), Material::reader(std::io::Cursor::new(data.clone()))]
        {
            let err = material.prepare(199_999).await.unwrap_err();
            let Error::Upload(upload) = &err else { panic!("{err:?}") };
            assert_eq!(upload.step, UploadStep::Read);
            assert!(matches!(upload.failure, UploadFailure::TooLarge { size, limit: 199_999 } if size > 199_999));
            assert!(!err.is_retryable() && !err.is_ambiguous());
        }
        let _ = std::fs::remove_file(&path);
        let missing = Material::file("/nonexistent/doudian.png").prepare(10).await.unwrap_err();
        assert!(matches!(&missing, Error::Upload(u) if u.failure == UploadFailure::Read), "{missing:?}");
        assert!(missing.to_string().contains("/nonexistent/doudian.png"), "{missing}");
    }

    #[tokio::test]
    async fn a_file_body_replays_the_file_and_refuses_changed_bytes() {
        let data: Vec<u8> = (0..150_000u32).map(|i| (i % 241) as u8).collect();
        let path = temp_file("replay", &data);
        let prepared = Material::file(&path).prepare(1 << 20).await.unwrap();
        let failure = LocalFailure::default();
        let body = file_body(&path, &prepared, &failure).await;
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(150_000));
        assert_eq!(collect(body).await.unwrap(), data);
        assert!(failure.lock().unwrap().is_none());

        // Same length, one byte different: the last chunk is held back.
        let mut changed = data.clone();
        changed[100] ^= 0xff;
        std::fs::write(&path, &changed).unwrap();
        let body = file_body(&path, &prepared, &failure).await;
        assert!(collect(body).await.is_err());
        let reason = failure.lock().unwrap().take().unwrap();
        assert_eq!((reason.step, reason.failure), (UploadStep::Put, UploadFailure::SourceChanged));

        // Shorter.
        std::fs::write(&path, &data[..1000]).unwrap();
        let body = file_body(&path, &prepared, &failure).await;
        assert!(collect(body).await.is_err());
        assert_eq!(failure.lock().unwrap().take().unwrap().failure, UploadFailure::SourceChanged);
        let _ = std::fs::remove_file(&path);
    }
}

//! One module per subcommand; each returns `Result<(), Failure>`.

pub mod call;
pub mod mcp;
pub mod methods;
pub mod mock;
pub mod orders;
pub mod push;
pub mod ship;
pub mod sign;
pub mod span;
pub mod tokens;
pub mod upload;

use doudian_sdk::error::UploadFailure;
use doudian_sdk::Error;

/// The platform (or a verification) said no.
pub const EXIT_REFUSED: u8 = 1;
/// Usage or configuration error.
pub const EXIT_CONFIG: u8 = 2;
/// Transport or decode failure.
pub const EXIT_TRANSPORT: u8 = 3;

/// A failed command: what to print on stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit_code: u8,
}

impl Failure {
    pub fn config(message: impl Into<String>) -> Self {
        Failure { message: format!("error: {}", message.into()), exit_code: EXIT_CONFIG }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let exit_code = match &error {
            Error::Api(_) | Error::Verify(_) => EXIT_REFUSED,
            // Local set-up the user can fix: the configuration, the parameters, a token
            // file, a Redis.
            Error::Config(_)
            | Error::InvalidRequest(_)
            | Error::InvalidParams { .. }
            | Error::TokenStore { .. }
            | Error::Store { .. } => EXIT_CONFIG,
            Error::Upload(upload) => match upload.failure {
                UploadFailure::Refused { .. } | UploadFailure::CrcMismatch { .. } => EXIT_REFUSED,
                UploadFailure::TooLarge { .. } | UploadFailure::Read => EXIT_CONFIG,
                _ => EXIT_TRANSPORT,
            },
            _ => EXIT_TRANSPORT,
        };
        let message = match error.api() {
            Some(api) => format!(
                "error: {} failed\n  code:     {}\n  msg:      {}\n  sub_code: {}\n  sub_msg:  {}\n  log_id:   {}",
                api.method, api.code, api.msg, api.sub_code, api.sub_msg, api.log_id
            ),
            // With its causes: the OS error of a file, the kind of a Redis failure.
            None => format!("error: {}", doudian_sdk::error::Chain(&error)),
        };
        Failure { message, exit_code }
    }
}

/// Prints a JSON value, pretty, on stdout. A closed pipe (`| head`) is not an error.
pub fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Failure::config(e.to_string()))?;
    text.push('\n');
    write_stdout(&text)
}

/// Writes `text` on stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure { message: format!("error: cannot write the result: {e}"), exit_code: EXIT_TRANSPORT })
        }
        _ => Ok(()),
    }
}

/// Unix seconds now (0 on a clock set before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

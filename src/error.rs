//! The one error type of kith. Each variant knows the HTTP status it maps to and the
//! message that may be shown to the other side; internal causes (SQL, I/O) stay in the
//! log and are never shown. The router is the only place an `Error` becomes a response.

use std::fmt;

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kith.
#[derive(Debug)]
pub enum Error {
    /// The request is malformed (400).
    BadRequest(String),
    /// Authentication is missing or did not verify (401).
    Unauthorized(String),
    /// Authenticated, but not allowed (403).
    Forbidden(String),
    /// No such thing (404).
    NotFound(String),
    /// A conflict with the current state, e.g. another import running (409).
    Conflict(String),
    /// The thing existed and is gone for good (410).
    Gone(String),
    /// Well-formed, but refused: a rule of kith's or of the protocol says no (422).
    Unprocessable(String),
    /// A refusal with another status of its own: 406, 413, 415, 426 and the like.
    Status(u16, String),
    /// Too many requests (429): the limit that was reached, when there is one to tell
    /// (`X-RateLimit-*` headers), and the seconds until the client may try again.
    RateLimited {
        /// The requests allowed per window.
        limit: Option<u32>,
        /// Seconds until the window resets (`Retry-After`).
        reset_secs: u64,
    },
    /// The database stayed locked past the busy timeout (503 with Retry-After).
    Busy,
    /// A configuration file or value is wrong (exit code 2 on the command line).
    Config(String),
    /// An outbound request was refused before it was sent, because it would reach a
    /// private or reserved address (SECURITY.md 32); the message says which (502).
    PrivateAddress(String),
    /// An outbound request failed; `transient` says whether a retry may succeed.
    Network { message: String, transient: bool },
    /// The media storage (an S3 bucket) failed or refused; the message is for the log
    /// and the owner's commands, clients see only that storage is unavailable (503).
    Storage(String),
    /// The database reported an error (its cause, for the log).
    Db(Box<dyn std::error::Error + Send + Sync>),
    /// The file system reported an error.
    Io(std::io::Error),
    /// `kith doctor` found this many failed checks (exit code 1; the checks were printed).
    Doctor(usize),
    /// Something that should not happen; the message is for the log only.
    Internal(String),
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::Conflict(_) => 409,
            Error::Gone(_) => 410,
            Error::Unprocessable(_) => 422,
            Error::Status(code, _) => *code,
            Error::RateLimited { .. } => 429,
            Error::Busy | Error::Storage(_) => 503,
            Error::Network { .. } | Error::PrivateAddress(_) => 502,
            Error::Config(_)
            | Error::Db(_)
            | Error::Io(_)
            | Error::Internal(_)
            | Error::Doctor(_) => 500,
        }
    }

    /// The message that may be shown to a client or peer; internal causes are hidden.
    pub fn public_message(&self) -> String {
        match self {
            Error::BadRequest(m)
            | Error::Unauthorized(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::Conflict(m)
            | Error::Gone(m)
            | Error::Unprocessable(m)
            | Error::Status(_, m) => m.clone(),
            Error::RateLimited { .. } => "Too many requests".into(),
            Error::Busy => "The server is busy, try again shortly".into(),
            Error::Storage(_) => "Media storage is unavailable, try again later".into(),
            Error::Network { message, .. } | Error::PrivateAddress(message) => message.clone(),
            Error::Config(_)
            | Error::Db(_)
            | Error::Io(_)
            | Error::Internal(_)
            | Error::Doctor(_) => "Internal server error".into(),
        }
    }

    /// Whether trying the same thing again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Busy | Error::RateLimited { .. } | Error::Storage(_) => true,
            Error::Network { transient, .. } => *transient,
            Error::Io(_) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "{m}"),
            Error::Db(e) => write!(f, "database: {e}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Internal(m) => write!(f, "internal: {m}"),
            Error::Storage(m) => write!(f, "storage: {m}"),
            Error::Network { message, .. } | Error::PrivateAddress(message) => {
                write!(f, "network: {message}")
            }
            other => write!(f, "{} {}", other.status(), other.public_message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::BadRequest(format!("invalid JSON: {e}"))
    }
}

//! The command-line actions beside `kith serve`'s argument parsing (which stays in the
//! binary): each file owns a group of commands, does the work through the library and
//! prints what the command says. They open the same database as a running server
//! (SQLite WAL allows it), so all but `restore` work whether or not the server runs.

pub mod account;
pub mod init;
pub mod portability;
pub mod queue;
pub mod serve;

use crate::error::Error;

/// An error as a sentence for the command line: what went wrong and, where kith knows
/// it, what to do; never an HTTP status (those are for the faces).
pub fn sentence(e: &Error) -> String {
    match e {
        Error::Config(m) => m.clone(),
        Error::Io(io) => format!("{io}"),
        Error::Db(db) => format!("the database reported an error: {db}"),
        Error::Internal(m) => format!("internal error: {m}"),
        Error::Network { message, .. } => format!("a network request failed: {message}"),
        other => other.public_message(),
    }
}

/// An I/O error of a command working on `path`, naming that path when the error does
/// not already ("Permission denied (os error 13)" alone says nothing of where).
pub fn naming(path: &std::path::Path, e: Error) -> Error {
    match e {
        Error::Io(io) if !io.to_string().contains(&path.display().to_string()) => Error::Io(
            std::io::Error::new(io.kind(), format!("{}: {io}", path.display())),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_carry_no_http_status() {
        let e = Error::Unprocessable("the password must be at least 8 characters".into());
        assert_eq!(sentence(&e), "the password must be at least 8 characters");
        assert_eq!(
            sentence(&Error::Conflict("stop kith serve first".into())),
            "stop kith serve first"
        );
    }
}

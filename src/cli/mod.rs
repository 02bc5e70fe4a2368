//! The command-line actions beside `kith serve`'s argument parsing (which stays in the
//! binary): each file owns a group of commands, does the work through the library and
//! prints what the command says. They open the same database as a running server
//! (SQLite WAL allows it), so all but `restore` work whether or not the server runs.

pub mod account;
pub mod init;
pub mod portability;
pub mod queue;
pub mod serve;

//! The `kith` command line: parse arguments, load the config, hand the command to the
//! library's `kith::cli`, print errors, choose the exit code (2 for usage and
//! configuration errors).

use kith::cli::{self, USAGE, portability};
use kith::config::Config;
use kith::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Serve,
    Init {
        public_url: String,
        username: String,
        data_dir: Option<PathBuf>,
    },
    Passwd,
    Doctor,
    Token {
        scopes: String,
    },
    Queue {
        /// `kith queue retry HOST`: the host to reset.
        retry: Option<String>,
    },
    Alias(AliasAction),
    ImportArchive {
        path: PathBuf,
        fetch: bool,
        overwrite_profile: bool,
    },
    ImportCsv {
        kind: String,
        overwrite: bool,
        path: PathBuf,
    },
    Export {
        dest: PathBuf,
    },
    Move {
        target: String,
    },
    Backup {
        dest: PathBuf,
        media: Option<PathBuf>,
    },
    /// `kith backup --to s3`: a snapshot into the bucket.
    BackupToBucket,
    Restore {
        source: PathBuf,
        media: Option<PathBuf>,
    },
    /// `kith storage migrate --to s3|local`.
    StorageMigrate {
        to: String,
    },
    Help,
    Version,
}

/// `kith alias …`.
#[derive(Debug, PartialEq)]
enum AliasAction {
    List,
    Add(String),
    Remove(String),
}

/// The flags of the moving-in-and-out commands.
#[derive(Debug, Default)]
struct MoveFlags {
    kind: Option<String>,
    overwrite: bool,
    media: Option<PathBuf>,
    no_fetch: bool,
    overwrite_profile: bool,
    to: Option<String>,
}

#[derive(Debug, PartialEq)]
struct Args {
    command: Command,
    config: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut iter = args.iter().peekable();
    let command_word = match iter.peek() {
        Some(a) if !a.starts_with('-') => iter.next().map(String::as_str),
        _ => None,
    };
    let mut config = None;
    let mut public_url = None;
    let mut username = None;
    let mut data_dir = None;
    let mut scopes = None;
    let mut help = false;
    let mut version = false;
    let mut flags = MoveFlags::default();
    let mut words = Vec::new();
    while let Some(arg) = iter.next() {
        if !arg.starts_with('-') {
            words.push(arg.clone());
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| iter.next().cloned())
                .ok_or(format!("{name} needs a value"))
        };
        match flag {
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--public-url" => public_url = Some(value("--public-url")?),
            "--username" => username = Some(value("--username")?),
            "--data-dir" => data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--scopes" => scopes = Some(value("--scopes")?),
            "--type" => flags.kind = Some(value("--type")?),
            "--media" => flags.media = Some(PathBuf::from(value("--media")?)),
            "--to" => flags.to = Some(value("--to")?),
            "--overwrite" => flags.overwrite = true,
            "--no-fetch" => flags.no_fetch = true,
            "--overwrite-profile" => flags.overwrite_profile = true,
            "-h" | "--help" => help = true,
            "-V" | "--version" => version = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let allowed: &[&str] = match command_word {
        None | Some("serve") | Some("passwd") | Some("doctor") => &["config"],
        Some("init") => &["config", "public-url", "username", "data-dir"],
        Some("token") => &["config", "scopes"],
        Some("queue") | Some("alias") | Some("export") | Some("move") => &["config"],
        Some("import") => &[
            "config",
            "type",
            "overwrite",
            "no-fetch",
            "overwrite-profile",
        ],
        Some("backup") => &["config", "media", "to"],
        Some("restore") => &["config", "media"],
        Some("storage") => &["config", "to"],
        Some(other) => return Err(format!("unknown command {other:?}")),
    };
    let takes_words = matches!(
        command_word,
        Some("queue" | "alias" | "import" | "export" | "move" | "backup" | "restore" | "storage")
    );
    if !takes_words && let Some(word) = words.first() {
        return Err(format!("unexpected argument {word:?}"));
    }
    for (name, given) in [
        ("public-url", public_url.is_some()),
        ("username", username.is_some()),
        ("data-dir", data_dir.is_some()),
        ("scopes", scopes.is_some()),
        ("type", flags.kind.is_some()),
        ("overwrite", flags.overwrite),
        ("no-fetch", flags.no_fetch),
        ("overwrite-profile", flags.overwrite_profile),
        ("media", flags.media.is_some()),
        ("to", flags.to.is_some()),
    ] {
        if given && !allowed.contains(&name) {
            return Err(format!("--{name} does not go with this command"));
        }
    }
    let command = if help {
        Command::Help
    } else if version {
        Command::Version
    } else {
        match command_word {
            None | Some("serve") => Command::Serve,
            Some("passwd") => Command::Passwd,
            Some("doctor") => Command::Doctor,
            Some("token") => Command::Token {
                scopes: scopes.unwrap_or_else(|| cli::account::DEFAULT_TOKEN_SCOPES.into()),
            },
            Some("queue") => Command::Queue {
                retry: queue_words(&words)?,
            },
            Some(word @ ("alias" | "import" | "export" | "move" | "backup" | "restore")) => {
                moving_command(word, &words, flags)?
            }
            Some("storage") => match (words.as_slice(), flags.to) {
                ([verb], Some(to)) if verb == "migrate" => {
                    if to != "s3" && to != "local" {
                        return Err(format!("storage migrate --to s3 or local, not {to:?}"));
                    }
                    Command::StorageMigrate { to }
                }
                ([verb], None) if verb == "migrate" => {
                    return Err("storage migrate needs --to s3|local".into());
                }
                ([], _) => return Err("storage needs migrate --to s3|local".into()),
                ([verb, ..], _) if verb != "migrate" => {
                    return Err(format!("unknown storage command {verb:?}"));
                }
                ([_, extra, ..], _) | ([extra], _) => {
                    return Err(format!("unexpected argument {extra:?}"));
                }
            },
            Some("init") => Command::Init {
                public_url: public_url.ok_or("init needs --public-url URL")?,
                username: username.ok_or("init needs --username NAME")?,
                data_dir,
            },
            Some(other) => return Err(format!("unknown command {other:?}")),
        }
    };
    Ok(Args { command, config })
}

/// The moving-in-and-out commands from their words and flags.
fn moving_command(word: &str, words: &[String], flags: MoveFlags) -> Result<Command, String> {
    let one = |what: &str| -> Result<String, String> {
        match words {
            [only] => Ok(only.clone()),
            [] => Err(format!("{word} needs {what}")),
            [_, extra, ..] => Err(format!("unexpected argument {extra:?}")),
        }
    };
    Ok(match word {
        "alias" => Command::Alias(match words {
            [] => AliasAction::List,
            [list] if list == "list" => AliasAction::List,
            [add, target] if add == "add" => AliasAction::Add(target.clone()),
            [remove, target] if remove == "remove" => AliasAction::Remove(target.clone()),
            [verb] if verb == "add" || verb == "remove" => {
                return Err(format!("alias {verb} needs @user@host or an actor URL"));
            }
            [verb, ..] if !["list", "add", "remove"].contains(&verb.as_str()) => {
                return Err(format!("unknown alias command {verb:?}"));
            }
            [_, _, extra, ..] | [_, extra] => {
                return Err(format!("unexpected argument {extra:?}"));
            }
            [verb] => return Err(format!("unknown alias command {verb:?}")),
        }),
        "import" => match words {
            [what, path] if what == "mastodon-archive" => {
                if flags.kind.is_some() || flags.overwrite {
                    return Err("--type and --overwrite go with import csv".into());
                }
                Command::ImportArchive {
                    path: PathBuf::from(path),
                    fetch: !flags.no_fetch,
                    overwrite_profile: flags.overwrite_profile,
                }
            }
            [what, path] if what == "csv" => {
                if flags.no_fetch || flags.overwrite_profile {
                    return Err(
                        "--no-fetch and --overwrite-profile go with import mastodon-archive".into(),
                    );
                }
                let kind = flags.kind.ok_or(
                    "import csv needs --type following|blocks|mutes|domain-blocks|bookmarks|lists",
                )?;
                if kith::portability::csv::Kind::parse(&kind).is_none() {
                    return Err(format!("unknown --type {kind:?}"));
                }
                Command::ImportCsv {
                    kind,
                    overwrite: flags.overwrite,
                    path: PathBuf::from(path),
                }
            }
            [what] if what == "mastodon-archive" || what == "csv" => {
                return Err(format!("import {what} needs a FILE"));
            }
            [what, ..] if what != "mastodon-archive" && what != "csv" => {
                return Err(format!("unknown import {what:?}: mastodon-archive or csv"));
            }
            [] => return Err("import needs mastodon-archive or csv".into()),
            [_, _, extra, ..] => return Err(format!("unexpected argument {extra:?}")),
            _ => return Err("import needs mastodon-archive FILE or csv --type TYPE FILE".into()),
        },
        "export" => Command::Export {
            dest: PathBuf::from(one("DIR or FILE.zip")?),
        },
        "move" => Command::Move {
            target: one("@user@host")?,
        },
        "backup" => match (words, flags.to.as_deref()) {
            ([], Some("s3")) if flags.media.is_none() => Command::BackupToBucket,
            (_, Some("s3")) if flags.media.is_some() => {
                return Err(
                    "--media does not go with --to s3 (uploads in the bucket stay there)".into(),
                );
            }
            ([extra, ..], Some("s3")) => return Err(format!("unexpected argument {extra:?}")),
            (_, Some(other)) => return Err(format!("backup --to s3, not {other:?}")),
            (_, None) => Command::Backup {
                dest: PathBuf::from(one("a FILE (or --to s3)")?),
                media: flags.media,
            },
        },
        _ => Command::Restore {
            source: PathBuf::from(one("a FILE")?),
            media: flags.media,
        },
    })
}

/// The host of `kith queue retry HOST`, or `None` for plain `kith queue`.
fn queue_words(words: &[String]) -> Result<Option<String>, String> {
    match words {
        [] => Ok(None),
        [retry, host] if retry == "retry" => Ok(Some(host.clone())),
        [retry] if retry == "retry" => Err("queue retry needs a HOST".into()),
        [retry, _, extra, ..] if retry == "retry" => Err(format!("unexpected argument {extra:?}")),
        [other, ..] => Err(format!("unknown queue command {other:?}")),
    }
}

/// The config path and whether a missing file may fall back to the defaults.
fn config_path(explicit: Option<PathBuf>) -> (PathBuf, bool) {
    if let Some(p) = explicit {
        return (p, false);
    }
    match std::env::var_os("KITH_CONFIG") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), false),
        _ => (PathBuf::from("kith.toml"), true),
    }
}

fn main() -> ExitCode {
    // Every command, not only the server: imports decode pictures too.
    kith::heap::return_large_blocks();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match parse_args(&args) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("kith: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kith: {}", cli::sentence(&e));
            match e {
                Error::Config(_) | Error::BadRequest(_) | Error::Unprocessable(_) => {
                    ExitCode::from(2)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Loads the config and hands the command to the library's `cli` action for it.
fn run(args: Args) -> Result<(), Error> {
    let (path, optional) = config_path(args.config);
    let load = || Config::load(&path, optional);
    match args.command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::Version => {
            println!("kith {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Init {
            public_url,
            username,
            data_dir,
        } => cli::init::run(&path, &public_url, &username, data_dir.as_deref()),
        Command::Serve => cli::serve::run(load()?),
        Command::Passwd => cli::account::run_passwd(&load()?),
        Command::Doctor => cli::doctor::run(load()?),
        Command::Token { scopes } => cli::account::run_token(&load()?, &scopes),
        Command::Queue { retry } => cli::queue::run(&load()?, retry.as_deref()),
        Command::Alias(AliasAction::List) => portability::run_alias_list(load()?),
        Command::Alias(AliasAction::Add(target)) => portability::run_alias_add(load()?, &target),
        Command::Alias(AliasAction::Remove(target)) => {
            portability::run_alias_remove(load()?, &target)
        }
        Command::ImportArchive {
            path: archive,
            fetch,
            overwrite_profile,
        } => portability::run_import_archive(load()?, &archive, fetch, overwrite_profile),
        Command::ImportCsv {
            kind,
            overwrite,
            path: file,
        } => portability::run_import_csv(load()?, &kind, overwrite, &file),
        Command::Export { dest } => portability::run_export(load()?, &dest),
        Command::Move { target } => portability::run_move(load()?, &target),
        Command::Backup { dest, media } => {
            portability::run_backup(&load()?, &dest, media.as_deref())
        }
        Command::BackupToBucket => portability::run_backup_to_bucket(&load()?),
        Command::Restore { source, media } => {
            portability::run_restore(&load()?, &source, media.as_deref())
        }
        Command::StorageMigrate { to } => cli::storage::run_migrate(&load()?, &to),
    }
}

#[cfg(test)]
#[path = "main_tests.rs"]
mod tests;

//! The `kith` command line: parse arguments, load the config, call into the library,
//! print errors, choose the exit code (2 for usage and configuration errors).

use kith::config::Config;
use kith::error::Error;
use kith::{commands, queue_cli};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
kith — one person's home on the Fediverse

Usage:
  kith serve  [--config PATH]     run the server (the default when no command is given)
  kith init   [--config PATH] --public-url URL --username NAME
                                  write a config file with these values and create the data directory
  kith passwd [--config PATH]     set the login password (read from stdin when it is not a terminal)
  kith token  [--config PATH] [--scopes \"read write follow push\"]
                                  print a new API access token for scripts and bots
  kith queue  [--config PATH]     list queued deliveries and unavailable or paused hosts
  kith queue retry HOST [--config PATH]
                                  clear HOST's failure marks and make its deliveries due now
  kith --help | --version

The config file is --config PATH, else $KITH_CONFIG, else ./kith.toml.
Without a config file, kith serve uses the built-in defaults (see config.example.toml).
";

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Serve,
    Init {
        public_url: String,
        username: String,
    },
    Passwd,
    Token {
        scopes: String,
    },
    Queue {
        /// `kith queue retry HOST`: the host to reset.
        retry: Option<String>,
    },
    Help,
    Version,
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
    let mut scopes = None;
    let mut help = false;
    let mut version = false;
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
            "--scopes" => scopes = Some(value("--scopes")?),
            "-h" | "--help" => help = true,
            "-V" | "--version" => version = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let allowed: &[&str] = match command_word {
        None | Some("serve") | Some("passwd") => &["config"],
        Some("init") => &["config", "public-url", "username"],
        Some("token") => &["config", "scopes"],
        Some("queue") => &["config"],
        Some(other) => return Err(format!("unknown command {other:?}")),
    };
    if command_word != Some("queue")
        && let Some(word) = words.first()
    {
        return Err(format!("unexpected argument {word:?}"));
    }
    for (name, given) in [
        ("public-url", public_url.is_some()),
        ("username", username.is_some()),
        ("scopes", scopes.is_some()),
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
            Some("token") => Command::Token {
                scopes: scopes.unwrap_or_else(|| commands::DEFAULT_TOKEN_SCOPES.into()),
            },
            Some("queue") => Command::Queue {
                retry: queue_words(&words)?,
            },
            Some("init") => Command::Init {
                public_url: public_url.ok_or("init needs --public-url URL")?,
                username: username.ok_or("init needs --username NAME")?,
            },
            Some(other) => return Err(format!("unknown command {other:?}")),
        }
    };
    Ok(Args { command, config })
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
            eprintln!("kith: {e}");
            match e {
                Error::Config(_) | Error::BadRequest(_) | Error::Status(422, _) => {
                    ExitCode::from(2)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn run(args: Args) -> Result<(), Error> {
    let (path, optional) = config_path(args.config);
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
        } => {
            let config = commands::init(&path, &public_url, &username)?;
            eprintln!(
                "Wrote {}. Your account will be @{}@{}; start it with: kith serve --config {}",
                path.display(),
                config.username,
                config.domain,
                path.display()
            );
            Ok(())
        }
        Command::Serve => serve(Config::load(&path, optional)?),
        Command::Passwd => {
            let config = Config::load(&path, optional)?;
            let password = read_password()?;
            commands::passwd(&config, &password)?;
            eprintln!("Password changed.");
            Ok(())
        }
        Command::Token { scopes } => {
            let config = Config::load(&path, optional)?;
            println!("{}", commands::token(&config, &scopes)?);
            Ok(())
        }
        Command::Queue { retry } => {
            let config = Config::load(&path, optional)?;
            match retry {
                None => print!("{}", queue_cli::show(&config)?),
                Some(host) => println!("{}", queue_cli::retry(&config, &host)?),
            }
            Ok(())
        }
    }
}

fn read_password() -> Result<String, Error> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            return Err(Error::BadRequest("the two passwords differ".into()));
        }
        return Ok(first);
    }
    let mut text = String::new();
    std::io::stdin().take(4096).read_to_string(&mut text)?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

fn serve(config: Config) -> Result<(), Error> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let public_url = config.public_url.clone();
    let username = config.username.clone();
    let server = kith::start(config)?;
    if let Some(password) = &server.first_run_password {
        eprintln!(
            "First run: your account @{username} was created.\n  Open {public_url}/ and log in with the password: {password}\n  \
             (shown only this once; change it with `kith passwd`)"
        );
    }
    eprintln!(
        "kith {} listening on {}, public address {public_url}",
        env!("CARGO_PKG_VERSION"),
        server.addr()
    );
    if let Some(signal) = signals.forever().next() {
        eprintln!("kith: signal {signal} received, shutting down");
    }
    server.shutdown();
    eprintln!("kith: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        parse_args(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn commands_and_flags() {
        assert_eq!(parse("").unwrap().command, Command::Serve);
        assert_eq!(
            parse("serve --config /x.toml").unwrap().config,
            Some(PathBuf::from("/x.toml"))
        );
        assert_eq!(
            parse("--config=/y.toml").unwrap().config,
            Some(PathBuf::from("/y.toml"))
        );
        assert_eq!(
            parse("init --public-url https://a.b --username me")
                .unwrap()
                .command,
            Command::Init {
                public_url: "https://a.b".into(),
                username: "me".into()
            }
        );
        assert_eq!(
            parse("token").unwrap().command,
            Command::Token {
                scopes: "read write follow push".into()
            }
        );
        assert_eq!(
            parse("token --scopes read").unwrap().command,
            Command::Token {
                scopes: "read".into()
            }
        );
        assert_eq!(parse("--version").unwrap().command, Command::Version);
        assert_eq!(parse("passwd --help").unwrap().command, Command::Help);
        assert_eq!(
            parse("queue --config /q.toml").unwrap(),
            Args {
                command: Command::Queue { retry: None },
                config: Some(PathBuf::from("/q.toml"))
            }
        );
        assert_eq!(
            parse("queue retry example.org --config /q.toml").unwrap(),
            Args {
                command: Command::Queue {
                    retry: Some("example.org".into())
                },
                config: Some(PathBuf::from("/q.toml"))
            }
        );
        assert_eq!(
            parse("queue --config=/q.toml retry 127.0.0.1:8080")
                .unwrap()
                .command,
            Command::Queue {
                retry: Some("127.0.0.1:8080".into())
            }
        );
    }

    #[test]
    fn mistakes_are_refused() {
        assert!(parse("serv").is_err());
        assert!(parse("serve --confg x").is_err());
        assert!(parse("serve --config").is_err());
        assert!(parse("init --username me").is_err());
        assert!(parse("serve --scopes read").is_err());
        assert!(parse("queue retry").is_err());
        assert!(parse("queue flush").is_err());
        assert!(parse("queue retry a.example b.example").is_err());
        assert!(parse("queue --scopes read").is_err());
        assert!(parse("serve retry").is_err());
        assert!(parse("token extra").is_err());
    }
}

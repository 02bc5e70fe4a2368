//! `kith doctor`: runs the checks of `crate::doctor` against the configured data
//! directory and public URL, prints each with ✓ or ✗ and how to fix it, and fails
//! (exit 1) when any check failed.

use crate::config::Config;
use crate::error::{Error, Result};

/// Prints the checks; an error when any failed.
pub fn run(config: Config) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let checks = crate::doctor::run(&ctx, true);
    print!("{}", crate::doctor::render(&checks));
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        println!("all {} checks passed", checks.len());
        Ok(())
    } else {
        Err(Error::Doctor(failed))
    }
}

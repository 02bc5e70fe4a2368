//! The inbox: receiving (the verification checklist) and the worker step that
//! processes queued activities.

use crate::Ctx;
use crate::error::Result;

/// Takes one batch step of inbox work; returns how many activities it handled.
pub fn run_once(_ctx: &Ctx) -> Result<usize> {
    Ok(0)
}

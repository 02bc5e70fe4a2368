//! Delivery of queued outbound activities (placeholder until the delivery queue lands).

use crate::Ctx;
use crate::error::Result;

/// Takes one batch step of delivery work; returns how many jobs it handled.
pub fn run_once(_ctx: &Ctx, _slot: usize) -> Result<usize> {
    Ok(0)
}

//! Reports the owner makes: stored, and with `forward` sent as a `Flag` to the
//! reported account's server (its shared inbox when it has one), in one transaction.

use super::{activity_id, queue};
use crate::ap::outbox;
use crate::ctx::Ctx;
use crate::db::actors::RemoteActor;
use crate::db::reports::{self, OwnReport};
use crate::error::Result;

/// Stores `report` about `target` (the reported posts' URIs in `post_uris`) and, when
/// it is to be forwarded, queues the `Flag`; returns the report's id.
pub fn report(
    ctx: &Ctx,
    report: &OwnReport,
    target: &RemoteActor,
    post_uris: &[String],
) -> Result<i64> {
    let id = ctx.db.write(|tx| {
        let id = reports::insert(tx, report)?;
        if report.forwarded {
            let mut objects = vec![target.uri.clone()];
            objects.extend(post_uris.iter().cloned());
            let flag = outbox::build_flag(
                &ctx.config,
                &activity_id(ctx, "flags"),
                &objects,
                &report.comment,
            );
            let inbox = target
                .shared_inbox
                .clone()
                .unwrap_or_else(|| target.inbox.clone());
            queue(tx, &flag, &[inbox], false, report.created_at)?;
        }
        Ok(id)
    })?;
    if report.forwarded {
        ctx.wake.delivery();
    }
    Ok(id)
}

//! What happened, told to whoever listens. The processing layer (`process`) emits an
//! [`Event`] through [`Ctx::emit`](crate::Ctx::emit) after the transaction that made it
//! true has committed; listeners (the streaming API's hub today) are plain functions
//! wired in when the context is built, so nothing below the faces calls up into them.
//! Listeners run on the emitting thread and must not block: the hub only hands the
//! event to bounded queues.

use crate::Ctx;

/// Something kith did or learnt that open streams (or other listeners) may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A status (a post or a boost) was stored: the owner's or a remote one.
    Posted(i64),
    /// A status was edited.
    Edited(i64),
    /// A status was deleted, or a boost undone; the id is the deleted row's.
    Deleted(i64),
    /// New notifications may have been committed.
    Notified,
    /// An access token was revoked: its live connections must close.
    TokenRevoked(i64),
}

/// A listener: called with every event, on the emitting thread.
pub type Listener = fn(&Ctx, &Event);

/// The listeners of one running kith, fixed when its context is built.
#[derive(Default)]
pub struct Listeners(Vec<Listener>);

impl Listeners {
    /// Listeners that run in the given order.
    pub fn new(listeners: Vec<Listener>) -> Listeners {
        Listeners(listeners)
    }

    /// Tells every listener about `event`.
    pub fn emit(&self, ctx: &Ctx, event: Event) {
        for listener in &self.0 {
            listener(ctx, &event);
        }
    }
}

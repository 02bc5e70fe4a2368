//! What happened, told to whoever listens. The processing layer (`process`) emits an
//! [`Event`] through `Ctx::emit` after the transaction that made it true has committed;
//! listeners (the streaming API's hub, Web Push) are plain functions wired in when the
//! context is built (`ctx::Listeners`), so nothing below the faces calls up into them.
//! Listeners run on the emitting thread and must not block: they only hand the event
//! to bounded queues or a durable one.

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

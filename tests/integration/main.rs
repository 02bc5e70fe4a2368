//! kith's integration tests: the real binary on loopback ports, real SQLite files in
//! temporary directories, real HTTP. One binary, one module per area.

mod api;
mod api_accounts;
mod api_oauth;
mod api_statuses;
mod api_timelines;
mod cors;
mod delivery;
mod fake_remote;
mod federation;
mod foundation;
mod limits;
mod media;
mod portability;
mod privacy;
mod retention;
mod scheduled;
mod security;
mod sse;
mod streaming;
mod support;
mod web;
mod web_forms;
mod web_portability;

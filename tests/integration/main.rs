//! kith's integration tests: the real binary on loopback ports, real SQLite files in
//! temporary directories, real HTTP. One binary, one module per area.

mod api;
mod api_accounts;
mod api_notifications;
mod api_oauth;
mod api_reports;
mod api_statuses;
mod api_tags;
mod api_timelines;
mod bombs;
mod cards;
mod cli;
mod cors;
mod csv_batches;
mod delivery;
mod doctor;
mod fake_remote;
mod federation;
mod foundation;
mod http_limits;
mod limits;
mod media;
mod portability;
mod privacy;
mod push;
mod retention;
mod scheduled;
mod security;
mod settings_profile;
mod sse;
mod streaming;
mod support;
mod web;
mod web_forms;
mod web_pages;
mod web_portability;

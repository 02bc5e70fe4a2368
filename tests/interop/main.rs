//! kith against real ActivityPub peers on loopback: the Fedify library (npm) and
//! fediverse-pasture (PyPI), installed by `scripts/install-interop`. Built only with
//! `--features interop`: `cargo test --features interop --test interop`.
//! FEDERATION.md §12 is the plan these tests follow.

mod fedify;
mod harness;
mod pasture;

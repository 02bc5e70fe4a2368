//! The HTML face of kith: public pages now, the owner's pages later. Pages are
//! rendered with maud (auto-escaping) and served with a strict CSP.

pub mod assets;
pub mod layout;
pub mod profile;

//! Time-ordered numeric ids for posts and notifications: milliseconds since the Unix
//! epoch shifted left 16 bits, plus a sequence within the millisecond. They fit an
//! `i64`, grow with time (clients compare them), and can be made for a past date
//! (imported or remote posts keep their place in time).

use std::sync::Mutex;

static LAST: Mutex<i64> = Mutex::new(0);

/// A new id for something that happened at `ms` (Unix milliseconds), unique in this process.
pub fn at(ms: i64) -> i64 {
    let base = ms.max(0) << 16;
    match LAST.lock() {
        Ok(mut last) => {
            // Within the same millisecond (or a clock step back), count up from the last id.
            let id = if base > *last { base } else { *last + 1 };
            *last = id;
            id
        }
        Err(_) => base,
    }
}

/// A new id for now.
pub fn now() -> i64 {
    at(crate::dates::now_ms())
}

/// The lowest id of millisecond `ms` — for comparing ids with times.
pub fn floor(ms: i64) -> i64 {
    ms.max(0) << 16
}

/// The millisecond an id was made for.
pub fn millis(id: i64) -> i64 {
    id >> 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_grow_and_round_trip() {
        let a = at(1_795_687_200_000);
        let b = at(1_795_687_200_000);
        assert!(b > a);
        assert_eq!(millis(a), 1_795_687_200_000);
        assert!(now() > b);
        assert!(floor(1_795_687_200_001) > a);
    }
}

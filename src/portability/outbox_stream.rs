//! Streams the items of an `OrderedCollection` file (Mastodon's `outbox.json`,
//! `likes.json`, `bookmarks.json`) one at a time: a serde visitor walks the top-level
//! object, skips every key but `orderedItems` (or `items`), and hands each element to
//! a callback as soon as it is parsed. The whole file is never in memory, only one
//! item, and an item larger than a cap is refused before it is read to the end.
//! serde_json's nesting limit (128) bounds deeply nested input (SECURITY.md 44).

use crate::error::{Error, Result};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::Read;
use std::rc::Rc;

/// What a streamed collection held besides its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Items handed to the callback.
    pub items: u64,
    /// The collection's `totalItems`, when it has one.
    pub total_items: Option<u64>,
}

/// Calls `each(index, item)` for every element of the collection's `orderedItems`,
/// in order. `name` is the file's name for messages; an item longer than
/// `max_item_bytes` of JSON text is refused. An error from `each` stops the stream
/// and is returned as it is.
pub fn for_each_item<R: Read>(
    name: &str,
    reader: R,
    max_item_bytes: u64,
    mut each: impl FnMut(u64, Value) -> Result<()>,
) -> Result<Summary> {
    let position = Rc::new(Cell::new(0u64));
    let limit = Rc::new(Cell::new(u64::MAX));
    let counted = Counted {
        inner: reader,
        position: position.clone(),
        limit: limit.clone(),
    };
    let failure = RefCell::new(None);
    let mut summary = Summary::default();
    let seed = CollectionSeed {
        each: &mut each,
        failure: &failure,
        summary: &mut summary,
        position: &position,
        limit: &limit,
        max_item_bytes,
    };
    let mut de = serde_json::Deserializer::from_reader(counted);
    let parsed = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    match parsed {
        Ok(()) => Ok(summary),
        Err(e) if e.is_io() && limit.get() != u64::MAX && position.get() > limit.get() => {
            Err(super::refused(format!(
                "{name}: item {} is larger than {max_item_bytes} bytes",
                summary.items + 1
            )))
        }
        Err(e) => Err(super::refused(format!("{name} is not valid JSON: {e}"))),
    }
}

/// A reader that counts bytes and fails once past `limit`.
struct Counted<R> {
    inner: R,
    position: Rc<Cell<u64>>,
    limit: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.position.get() > self.limit.get() {
            return Err(std::io::Error::other("item too large"));
        }
        let n = self.inner.read(buf)?;
        self.position.set(self.position.get() + n as u64);
        Ok(n)
    }
}

struct CollectionSeed<'a, F> {
    each: &'a mut F,
    failure: &'a RefCell<Option<Error>>,
    summary: &'a mut Summary,
    position: &'a Rc<Cell<u64>>,
    limit: &'a Rc<Cell<u64>>,
    max_item_bytes: u64,
}

impl<'de, F: FnMut(u64, Value) -> Result<()>> DeserializeSeed<'de> for CollectionSeed<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: FnMut(u64, Value) -> Result<()>> Visitor<'de> for CollectionSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OrderedCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "orderedItems" | "items" => map.next_value_seed(ItemsSeed {
                    each: &mut *self.each,
                    failure: self.failure,
                    summary: &mut *self.summary,
                    position: self.position,
                    limit: self.limit,
                    max_item_bytes: self.max_item_bytes,
                })?,
                "totalItems" => {
                    let total: Value = map.next_value()?;
                    self.summary.total_items = total.as_u64();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ItemsSeed<'a, F> {
    each: &'a mut F,
    failure: &'a RefCell<Option<Error>>,
    summary: &'a mut Summary,
    position: &'a Rc<Cell<u64>>,
    limit: &'a Rc<Cell<u64>>,
    max_item_bytes: u64,
}

impl<'de, F: FnMut(u64, Value) -> Result<()>> DeserializeSeed<'de> for ItemsSeed<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(u64, Value) -> Result<()>> Visitor<'de> for ItemsSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.limit
                .set(self.position.get().saturating_add(self.max_item_bytes));
            let Some(item) = seq.next_element::<Value>()? else {
                break;
            };
            self.limit.set(u64::MAX);
            let index = self.summary.items;
            self.summary.items += 1;
            if let Err(e) = (self.each)(index, item) {
                *self.failure.borrow_mut() = Some(e);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        self.limit.set(u64::MAX);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str, max: u64) -> Result<(Summary, Vec<Value>)> {
        let mut items = Vec::new();
        let summary = for_each_item("outbox.json", text.as_bytes(), max, |_, v| {
            items.push(v);
            Ok(())
        })?;
        Ok((summary, items))
    }

    #[test]
    fn items_come_one_by_one_and_other_keys_are_skipped() {
        let text = r#"{"@context": ["x", {"a": [1, {"b": 2}]}], "id": "outbox.json", "type": "OrderedCollection",
            "totalItems": 2, "orderedItems": [{"id": "a"}, {"id": "b", "deep": [[[]]]}], "after": {"x": 1}}"#;
        let (summary, items) = collect(text, 1000).unwrap();
        assert_eq!(
            summary,
            Summary {
                items: 2,
                total_items: Some(2)
            }
        );
        assert_eq!(items[1]["id"], "b");
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let truncated = r#"{"orderedItems": [{"id": "a"}, {"id": "#;
        let e = collect(truncated, 1000).unwrap_err().to_string();
        assert!(e.contains("outbox.json is not valid JSON"), "{e}");
        let big = format!(
            r#"{{"orderedItems": [{{"id": "a"}}, {{"x": "{}"}}]}}"#,
            "y".repeat(500)
        );
        let e = collect(&big, 100).unwrap_err().to_string();
        assert!(e.contains("item 2 is larger than 100 bytes"), "{e}");
        let e = collect("[1, 2]", 100).unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
        let nested = format!(
            r#"{{"orderedItems": [{}{}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(collect(&nested, 10_000).is_err(), "nesting is capped");
        let trailing = r#"{"orderedItems": []} x"#;
        assert!(collect(trailing, 100).is_err());
    }

    #[test]
    fn a_callback_error_stops_the_stream() {
        let text = r#"{"orderedItems": [1, 2, 3]}"#;
        let mut seen = 0;
        let e = for_each_item("likes.json", text.as_bytes(), 100, |i, _| {
            seen += 1;
            if i == 1 {
                return Err(Error::BadRequest("no".into()));
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(seen, 2);
        assert!(matches!(e, Error::BadRequest(_)));
    }
}

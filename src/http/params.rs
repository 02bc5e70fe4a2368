//! Request parameters of the client API, whatever the client sent: the query string,
//! a form (Rails-style `media_ids[]=1`, `poll[options][]=a`), JSON, or multipart
//! fields. Everything is normalised into one JSON object; typed getters accept the
//! forms real clients use (`0`/`1`, `"true"`, numbers as strings) and refuse the rest
//! with a 422 that names the parameter.

use super::multipart;
use crate::error::{Error, Result};
use crate::http::Req;
use serde_json::{Map, Value};

/// An uploaded file: (field name, file name, content type, bytes).
pub type UploadedFile = (String, Option<String>, Option<String>, Vec<u8>);

/// All parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: Map<String, Value>,
    /// Uploaded files: (field name, file name, content type, bytes).
    pub files: Vec<UploadedFile>,
}

fn invalid(key: &str, what: &str) -> Error {
    Error::Unprocessable(format!("Validation failed: {key} {what}"))
}

/// Inserts `value` at a Rails-style key such as `poll[options][]` or `fields_attributes[0][name]`.
fn insert(map: &mut Map<String, Value>, key: &str, value: Value) {
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut path: Vec<&str> = Vec::new();
    let mut r = rest;
    while let Some(stripped) = r.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        path.push(&stripped[..end]);
        r = &stripped[end + 1..];
    }
    let mut slot = map.entry(head.to_string()).or_insert(Value::Null);
    for segment in path {
        if segment.is_empty() {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(list) = slot {
                list.push(Value::Null);
                slot = list.last_mut().expect("just pushed");
            }
            continue;
        }
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        slot = slot
            .as_object_mut()
            .expect("just made an object")
            .entry(segment.to_string())
            .or_insert(Value::Null);
    }
    *slot = value;
}

impl Params {
    /// Collects the query string and the body (form, JSON or multipart).
    pub fn from_request(req: &Req) -> Result<Params> {
        let mut p = Params::default();
        for (k, v) in url::form_urlencoded::parse(req.query.as_bytes()) {
            insert(&mut p.map, &k, Value::String(v.into_owned()));
        }
        if req.body.is_empty() {
            return Ok(p);
        }
        let content_type = req
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(obj)) => p.map.extend(obj),
                Ok(_) => return Err(Error::BadRequest("the JSON body must be an object".into())),
                Err(e) => return Err(Error::BadRequest(format!("invalid JSON: {e}"))),
            }
        } else if content_type.starts_with("multipart/form-data") {
            let boundary = multipart::boundary(req.header("content-type").unwrap_or(""))
                .ok_or_else(|| Error::BadRequest("multipart body without a boundary".into()))?;
            for part in multipart::parse(&req.body, &boundary)? {
                if part.filename.is_some() {
                    p.files.push((
                        part.name,
                        part.filename,
                        part.content_type,
                        part.data.to_vec(),
                    ));
                } else {
                    let text = String::from_utf8_lossy(part.data).into_owned();
                    insert(&mut p.map, &part.name, Value::String(text));
                }
            }
        } else {
            for (k, v) in url::form_urlencoded::parse(&req.body) {
                insert(&mut p.map, &k, Value::String(v.into_owned()));
            }
        }
        Ok(p)
    }

    /// Parameters from a JSON object (tests and nested values).
    pub fn from_value(v: Value) -> Params {
        match v {
            Value::Object(map) => Params {
                map,
                files: Vec::new(),
            },
            _ => Params::default(),
        }
    }

    /// The raw value of a parameter.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A nested object parameter (`poll`, `source`) as its own `Params`.
    pub fn nested(&self, key: &str) -> Option<Params> {
        self.get(key)
            .filter(|v| v.is_object())
            .map(|v| Params::from_value(v.clone()))
    }

    /// A string parameter; numbers are given as their text.
    pub fn str(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(invalid(key, "must be a string")),
        }
    }

    /// A required string parameter.
    pub fn required(&self, key: &str) -> Result<String> {
        self.str(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(key, "is missing"))
    }

    /// A boolean parameter: true/false, "true"/"false", "1"/"0", 1/0.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Some(n.as_i64() == Some(1)))
            }
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "on" => Ok(Some(true)),
                "false" | "0" | "off" | "" => Ok(Some(false)),
                _ => Err(invalid(key, "must be true or false")),
            },
            Some(_) => Err(invalid(key, "must be true or false")),
        }
    }

    /// An integer parameter, as a number or a numeric string.
    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| invalid(key, "must be an integer")),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| invalid(key, "must be an integer")),
            Some(_) => Err(invalid(key, "must be an integer")),
        }
    }

    /// A list parameter: `key[]=…` repeated, a JSON array, an index-keyed object, or one value.
    pub fn list(&self, key: &str) -> Result<Vec<String>> {
        let items: Vec<Value> = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Object(obj)) => {
                let mut entries: Vec<(i64, Value)> = obj
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v.clone())))
                    .collect();
                entries.sort_by_key(|(i, _)| *i);
                entries.into_iter().map(|(_, v)| v).collect()
            }
            Some(one) => vec![one.clone()],
        };
        items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(invalid(key, "must be a list of strings")),
            })
            .collect()
    }

    /// A list of objects (`fields_attributes`), from an array or an index-keyed object.
    pub fn objects(&self, key: &str) -> Vec<Params> {
        match self.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| Params::from_value(v.clone()))
                .collect(),
            Some(Value::Object(obj)) => {
                let mut entries: Vec<(i64, &Value)> = obj
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                    .collect();
                entries.sort_by_key(|(i, _)| *i);
                entries
                    .into_iter()
                    .map(|(_, v)| Params::from_value(v.clone()))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// An id parameter (numeric string).
    pub fn id(&self, key: &str) -> Result<Option<i64>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| invalid(key, "is not a valid id")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Params {
        let mut req = Req::new("POST", "/api/v1/statuses?limit=5");
        req.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        req.body = body.as_bytes().to_vec();
        Params::from_request(&req).unwrap()
    }

    #[test]
    fn rails_style_forms() {
        let p = form(
            "status=hi&sensitive=0&media_ids[]=1&media_ids[]=2&poll[options][]=a&poll[options][]=b&poll[expires_in]=300&fields_attributes[1][name]=y&fields_attributes[0][name]=x",
        );
        assert_eq!(p.str("status").unwrap().as_deref(), Some("hi"));
        assert_eq!(p.bool("sensitive").unwrap(), Some(false));
        assert_eq!(p.list("media_ids").unwrap(), vec!["1", "2"]);
        let poll = p.nested("poll").unwrap();
        assert_eq!(poll.list("options").unwrap(), vec!["a", "b"]);
        assert_eq!(poll.int("expires_in").unwrap(), Some(300));
        let fields = p.objects("fields_attributes");
        assert_eq!(fields[0].str("name").unwrap().as_deref(), Some("x"));
        assert_eq!(
            p.int("limit").unwrap(),
            Some(5),
            "query parameters count too"
        );
    }

    #[test]
    fn json_bodies_and_types() {
        let mut req = Req::new("POST", "/api/v1/statuses");
        req.headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ));
        req.body = br#"{"status":"x","sensitive":"true","media_ids":[3,"4"],"poll":{"options":["a","b"],"expires_in":"600"},"bad":{"a":1}}"#.to_vec();
        let p = Params::from_request(&req).unwrap();
        assert_eq!(p.bool("sensitive").unwrap(), Some(true));
        assert_eq!(p.list("media_ids").unwrap(), vec!["3", "4"]);
        assert_eq!(
            p.nested("poll").unwrap().int("expires_in").unwrap(),
            Some(600)
        );
        assert_eq!(p.str("bad").unwrap_err().status(), 422);
        assert!(p.bool("status").is_err());
        req.body = b"[1,2]".to_vec();
        assert_eq!(Params::from_request(&req).unwrap_err().status(), 400);
        req.body = b"{nope".to_vec();
        assert_eq!(Params::from_request(&req).unwrap_err().status(), 400);
    }

    #[test]
    fn multipart_fields_and_files() {
        let mut req = Req::new("POST", "/api/v2/media");
        req.headers.push((
            "content-type".into(),
            "multipart/form-data; boundary=b0".into(),
        ));
        req.body = b"--b0\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nalt\r\n--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n--b0--\r\n".to_vec();
        let p = Params::from_request(&req).unwrap();
        assert_eq!(p.str("description").unwrap().as_deref(), Some("alt"));
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files[0].3, b"PNGDATA");
    }
}

//! The few XML documents kith reads from and writes to a bucket, by hand: an error's
//! code, a listing, the id of a multipart upload, and the body that completes one.
//! Servers differ in what they leave out (some send no ETag in listings), and a
//! general XML layer would cost the binary more than these few lines.

use super::s3::ObjectInfo;

/// The text of the first `<name>` element of an XML document.
pub fn xml_field(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{name}>"))? + start;
    Some(doc[start..end].trim().to_string())
}

/// The objects of a `ListObjectsV2` answer and its continuation token. Read by hand,
/// as servers differ in what they leave out (some send no ETag in listings).
pub fn parse_listing(doc: &str) -> Option<(Vec<ObjectInfo>, Option<String>)> {
    if !doc.contains("<ListBucketResult") {
        return None;
    }
    let mut objects = Vec::new();
    for chunk in doc.split("<Contents>").skip(1) {
        let entry = chunk.split("</Contents>").next()?;
        objects.push(ObjectInfo {
            key: unescape(&xml_field(entry, "Key")?),
            size: xml_field(entry, "Size")?.parse().ok()?,
            etag: xml_field(entry, "ETag")
                .map(|e| unescape(&e).trim_matches('"').to_ascii_lowercase())
                .unwrap_or_default(),
        });
    }
    let truncated = xml_field(doc, "IsTruncated").is_some_and(|t| t == "true");
    let next = xml_field(doc, "NextContinuationToken")
        .map(|t| unescape(&t))
        .filter(|_| truncated);
    Some((objects, next))
}

/// The body of `CompleteMultipartUpload`: each part's number and ETag (quoted).
pub fn complete_body(etags: &[String]) -> String {
    let mut body = String::from("<CompleteMultipartUpload>");
    for (i, etag) in etags.iter().enumerate() {
        body.push_str(&format!(
            "<Part><ETag>{}</ETag><PartNumber>{}</PartNumber></Part>",
            etag.replace('&', "&amp;").replace('<', "&lt;"),
            i + 1
        ));
    }
    body.push_str("</CompleteMultipartUpload>");
    body
}

/// Undoes XML's five escapes.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_read_with_or_without_etags() {
        let doc = "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>media/a&amp;b.png</Key><Size>12</Size><ETag>&quot;ABC&quot;</ETag></Contents>\
            <Contents><Key>media/c.png</Key><LastModified>x</LastModified><Size>3</Size></Contents>\
            <NextContinuationToken>t1</NextContinuationToken></ListBucketResult>";
        let (objects, next) = parse_listing(doc).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].key, "media/a&b.png");
        assert_eq!(objects[0].etag, "abc");
        assert_eq!(objects[1].size, 3);
        assert_eq!(objects[1].etag, "");
        assert_eq!(next.as_deref(), Some("t1"));
        assert!(parse_listing("<Error><Code>x</Code></Error>").is_none());
        let last = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
        assert_eq!(parse_listing(last), Some((Vec::new(), None)));
    }

    #[test]
    fn error_codes_are_read_from_the_document() {
        let doc = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>";
        assert_eq!(
            xml_field(doc, "Code").as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert_eq!(xml_field("", "Code"), None);
    }
}

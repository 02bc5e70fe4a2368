//! Public keys: PEM decoding and a small strict DER walk from SPKI to the PKCS#1
//! `RSAPublicKey` that ring verifies with.

use super::*;

/// Parses a PEM public key to the DER form ring verifies with (PKCS#1 RSAPublicKey).
///
/// Accepts SPKI (`BEGIN PUBLIC KEY`, the RSA key is extracted) and PKCS#1 (`BEGIN RSA
/// PUBLIC KEY`); anything else, including non-RSA keys, is a 401.
pub fn rsa_public_key_der(pem: &str) -> Result<Vec<u8>> {
    let invalid = || unauthorized("Invalid public key: expected an RSA public key in PEM");
    let (label, der) = pem_decode(pem).ok_or_else(invalid)?;
    let pkcs1 = match label {
        "RSA PUBLIC KEY" => der,
        "PUBLIC KEY" => spki_rsa_key(&der).ok_or_else(invalid)?.to_vec(),
        _ => return Err(invalid()),
    };
    if !is_rsa_public_key(&pkcs1) {
        return Err(invalid());
    }
    Ok(pkcs1)
}

/// The label and decoded body of the first PEM block.
fn pem_decode(pem: &str) -> Option<(&str, Vec<u8>)> {
    const BEGIN: &str = "-----BEGIN ";
    let rest = &pem[pem.find(BEGIN)? + BEGIN.len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let text: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some((label, STANDARD.decode(text).ok()?))
}

/// Splits one DER element with `tag` off the front of `input`: (contents, rest).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The RSAPublicKey inside an RSA SubjectPublicKeyInfo.
fn spki_rsa_key(der: &[u8]) -> Option<&[u8]> {
    // OID 1.2.840.113549.1.1.1 (rsaEncryption).
    const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (spki, rest) = der_element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (algorithm, spki) = der_element(spki, 0x30)?;
    let (oid, parameters) = der_element(algorithm, 0x06)?;
    if oid != RSA_OID || !(parameters.is_empty() || parameters == [0x05, 0x00]) {
        return None;
    }
    let (bits, rest) = der_element(spki, 0x03)?;
    let (&unused_bits, key) = bits.split_first()?;
    (rest.is_empty() && unused_bits == 0).then_some(key)
}

/// Whether `der` is exactly one SEQUENCE of two INTEGERs (modulus, exponent).
fn is_rsa_public_key(der: &[u8]) -> bool {
    let Some((sequence, rest)) = der_element(der, 0x30) else {
        return false;
    };
    rest.is_empty()
        && der_element(sequence, 0x02)
            .and_then(|(_, rest)| der_element(rest, 0x02))
            .is_some_and(|(_, rest)| rest.is_empty())
}

//! The subject common name of a CertificateSigningRequest, for NodeRestriction's kubelet CSR
//! check (spec 10.11): base64 (the API's encoding of `spec.request`), PEM, and just enough DER
//! to walk `CertificationRequest → certificationRequestInfo → subject`. No crate is pulled in
//! for this one field.

/// Why a CSR's subject could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrError {
    /// Go's `certapi.ParseCSR` error for input without a `CERTIFICATE REQUEST` PEM block;
    /// the apiserver refuses with `unable to parse csr: <this>`.
    NotPem,
    /// The PEM block did not decode to a DER request the model can read. Go's x509 error text
    /// for it is not modelled.
    Undecodable,
}

/// The PEM error text of Go's `certapi.ParseCSR`.
pub const CSR_NOT_PEM: &str = "PEM block type must be CERTIFICATE REQUEST";

/// The subject common name of a CSR's `spec.request` (base64 of a PEM `CERTIFICATE REQUEST`),
/// as Go's x509 fills `Subject.CommonName` (the last CN attribute wins).
pub fn csr_common_name(request_b64: &str) -> Result<String, CsrError> {
    let pem = base64_decode(request_b64).ok_or(CsrError::NotPem)?;
    let pem = std::str::from_utf8(&pem).map_err(|_| CsrError::NotPem)?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE REQUEST-----";
    const END: &str = "-----END CERTIFICATE REQUEST-----";
    // pem.Decode takes the first block; any other first block type is the same error.
    let start = pem.find("-----BEGIN ").ok_or(CsrError::NotPem)?;
    if !pem[start..].starts_with(BEGIN) {
        return Err(CsrError::NotPem);
    }
    let body = &pem[start + BEGIN.len()..];
    let end = body.find(END).ok_or(CsrError::NotPem)?;
    let der = base64_decode(&body[..end]).ok_or(CsrError::NotPem)?;
    der_subject_cn(&der).ok_or(CsrError::Undecodable)
}

/// Standard base64 with optional padding; whitespace ignored.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// One DER TLV at the start of `b`: (tag, contents, rest).
fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (usize::from(len0), rest)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// CertificationRequest → certificationRequestInfo → subject → last commonName (2.5.4.3).
fn der_subject_cn(der: &[u8]) -> Option<String> {
    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const CN_OID: &[u8] = &[0x55, 0x04, 0x03];
    let (tag, csr, _) = der_tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, info, _) = der_tlv(csr)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _version, rest) = der_tlv(info)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, mut rdns, _) = der_tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut cn = String::new();
    while !rdns.is_empty() {
        let (tag, mut set, rest) = der_tlv(rdns)?;
        if tag != SET {
            return None;
        }
        rdns = rest;
        while !set.is_empty() {
            let (tag, atv, rest) = der_tlv(set)?;
            if tag != SEQUENCE {
                return None;
            }
            set = rest;
            let (tag, oid, value) = der_tlv(atv)?;
            if tag != 0x06 || oid != CN_OID {
                continue;
            }
            let (vtag, v, _) = der_tlv(value)?;
            // UTF8String, PrintableString, T61String, IA5String.
            if !matches!(vtag, 0x0c | 0x13 | 0x14 | 0x16) {
                return None;
            }
            cn = String::from_utf8(v.to_vec()).ok()?;
        }
    }
    Some(cn)
}

//! crypto-basics.json: RFC 9420's labelled functions (section 5.1), built on the crypto
//! provider Conclave runs on (`conclave_protocol::Crypto` through `OpenMlsCrypto`).

use std::path::Path;

use conclave_protocol::Crypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::{Ciphersuite, HpkeCiphertext};
use serde_json::Value;
use tls_codec::{TlsSerialize, TlsSize, VLBytes};

use crate::{FileReport, read, suite};

#[derive(TlsSerialize, TlsSize)]
struct RefHashInput {
    label: VLBytes,
    value: VLBytes,
}

#[derive(TlsSerialize, TlsSize)]
struct KdfLabel {
    length: u16,
    label: VLBytes,
    context: VLBytes,
}

#[derive(TlsSerialize, TlsSize)]
struct LabeledContent {
    label: VLBytes,
    content: VLBytes,
}

fn mls_label(label: &str) -> VLBytes {
    format!("MLS 1.0 {label}").into_bytes().into()
}

fn tls(value: &impl tls_codec::Serialize) -> Result<Vec<u8>, String> {
    value.tls_serialize_detached().map_err(|e| e.to_string())
}

/// RefHash(label, value).
pub fn ref_hash(
    crypto: &Crypto,
    suite: Ciphersuite,
    label: &[u8],
    value: &[u8],
) -> Result<Vec<u8>, String> {
    let input = tls(&RefHashInput {
        label: label.to_vec().into(),
        value: value.to_vec().into(),
    })?;
    crypto
        .hash(suite.hash_algorithm(), &input)
        .map_err(|e| format!("{e:?}"))
}

/// ExpandWithLabel(secret, label, context, length).
pub fn expand_with_label(
    crypto: &Crypto,
    suite: Ciphersuite,
    secret: &[u8],
    label: &str,
    context: &[u8],
    length: usize,
) -> Result<Vec<u8>, String> {
    let info = tls(&KdfLabel {
        length: u16::try_from(length).map_err(|_| "length too large")?,
        label: mls_label(label),
        context: context.to_vec().into(),
    })?;
    crypto
        .hkdf_expand(suite.hash_algorithm(), secret, &info, length)
        .map(|s| s.as_slice().to_vec())
        .map_err(|e| format!("{e:?}"))
}

fn labeled_content(label: &str, content: &[u8]) -> Result<Vec<u8>, String> {
    tls(&LabeledContent {
        label: mls_label(label),
        content: content.to_vec().into(),
    })
}

/// VerifyWithLabel(pub, label, content, signature).
pub fn verify_with_label(
    crypto: &Crypto,
    suite: Ciphersuite,
    public: &[u8],
    label: &str,
    content: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    crypto
        .verify_signature(
            suite.signature_algorithm(),
            &labeled_content(label, content)?,
            public,
            signature,
        )
        .map_err(|e| format!("{e:?}"))
}

/// SignWithLabel(priv, label, content).
pub fn sign_with_label(
    crypto: &Crypto,
    suite: Ciphersuite,
    private: &[u8],
    label: &str,
    content: &[u8],
) -> Result<Vec<u8>, String> {
    crypto
        .sign(
            suite.signature_algorithm(),
            &labeled_content(label, content)?,
            private,
        )
        .map_err(|e| format!("{e:?}"))
}

fn encrypt_context(label: &str, context: &[u8]) -> Result<Vec<u8>, String> {
    // EncryptContext has the same layout as the signature's labelled content.
    labeled_content(label, context)
}

fn field<'a>(case: &'a Value, group: &str, name: &str) -> Result<&'a Value, String> {
    case.get(group)
        .and_then(|g| g.get(name))
        .ok_or_else(|| format!("{group}.{name} missing"))
}

fn bytes(case: &Value, group: &str, name: &str) -> Result<Vec<u8>, String> {
    let text = field(case, group, name)?
        .as_str()
        .ok_or_else(|| format!("{group}.{name} is not a string"))?;
    hex::decode(text).map_err(|e| format!("{group}.{name}: {e}"))
}

fn text<'a>(case: &'a Value, group: &str, name: &str) -> Result<&'a str, String> {
    field(case, group, name)?
        .as_str()
        .ok_or_else(|| format!("{group}.{name} is not a string"))
}

fn number(case: &Value, group: &str, name: &str) -> Result<u64, String> {
    field(case, group, name)?
        .as_u64()
        .ok_or_else(|| format!("{group}.{name} is not a number"))
}

fn expect_eq(what: &str, got: &[u8], expected: &[u8]) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, expected {}",
            hex::encode(got),
            hex::encode(expected)
        ))
    }
}

/// Checks every function of every case (one case per function and ciphersuite).
pub fn check(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<Value> = read(path)?;
    let crypto = Crypto::default();
    const FUNCTIONS: [&str; 7] = [
        "ref_hash",
        "expand_with_label",
        "derive_secret",
        "derive_tree_secret",
        "sign_with_label",
        "verify_with_label",
        "encrypt_with_label",
    ];
    for case in &cases {
        let code_point = case
            .get("cipher_suite")
            .and_then(Value::as_u64)
            .ok_or("cipher_suite missing")? as u16;
        let suite = match suite(code_point) {
            Ok(s) => s.to_openmls(),
            Err(reason) => {
                report.skip_many(FUNCTIONS.len(), reason);
                continue;
            }
        };
        for function in FUNCTIONS {
            let result = check_function(&crypto, suite, case, function);
            report.record(format!("suite 0x{code_point:04x} {function}"), result);
        }
    }
    Ok(())
}

fn check_function(
    crypto: &Crypto,
    suite: Ciphersuite,
    c: &Value,
    function: &str,
) -> Result<(), String> {
    match function {
        "ref_hash" => {
            let g = "ref_hash";
            let out = ref_hash(
                crypto,
                suite,
                text(c, g, "label")?.as_bytes(),
                &bytes(c, g, "value")?,
            )?;
            expect_eq(g, &out, &bytes(c, g, "out")?)
        }
        "expand_with_label" => {
            let g = "expand_with_label";
            let out = expand_with_label(
                crypto,
                suite,
                &bytes(c, g, "secret")?,
                text(c, g, "label")?,
                &bytes(c, g, "context")?,
                number(c, g, "length")? as usize,
            )?;
            expect_eq(g, &out, &bytes(c, g, "out")?)
        }
        "derive_secret" => {
            let g = "derive_secret";
            let out = expand_with_label(
                crypto,
                suite,
                &bytes(c, g, "secret")?,
                text(c, g, "label")?,
                &[],
                suite.hash_length(),
            )?;
            expect_eq(g, &out, &bytes(c, g, "out")?)
        }
        "derive_tree_secret" => {
            let g = "derive_tree_secret";
            let generation =
                u32::try_from(number(c, g, "generation")?).map_err(|e| e.to_string())?;
            let out = expand_with_label(
                crypto,
                suite,
                &bytes(c, g, "secret")?,
                text(c, g, "label")?,
                &generation.to_be_bytes(),
                number(c, g, "length")? as usize,
            )?;
            expect_eq(g, &out, &bytes(c, g, "out")?)
        }
        "verify_with_label" => {
            let g = "sign_with_label";
            verify_with_label(
                crypto,
                suite,
                &bytes(c, g, "pub")?,
                text(c, g, "label")?,
                &bytes(c, g, "content")?,
                &bytes(c, g, "signature")?,
            )
        }
        "sign_with_label" => {
            // Signatures may be randomized (ECDSA): sign, then verify with the vector's key.
            let g = "sign_with_label";
            let label = text(c, g, "label")?;
            let content = bytes(c, g, "content")?;
            let signature = sign_with_label(crypto, suite, &bytes(c, g, "priv")?, label, &content)?;
            verify_with_label(
                crypto,
                suite,
                &bytes(c, g, "pub")?,
                label,
                &content,
                &signature,
            )
        }
        "encrypt_with_label" => {
            let g = "encrypt_with_label";
            let info = encrypt_context(text(c, g, "label")?, &bytes(c, g, "context")?)?;
            let plaintext = bytes(c, g, "plaintext")?;
            let given = HpkeCiphertext {
                kem_output: bytes(c, g, "kem_output")?.into(),
                ciphertext: bytes(c, g, "ciphertext")?.into(),
            };
            let private = bytes(c, g, "priv")?;
            let opened = crypto
                .hpke_open(suite.hpke_config(), &given, &private, &info, &[])
                .map_err(|e| format!("DecryptWithLabel: {e:?}"))?;
            expect_eq("DecryptWithLabel", &opened, &plaintext)?;
            // EncryptWithLabel is randomized: seal to the vector's key, then open.
            let sealed = crypto
                .hpke_seal(
                    suite.hpke_config(),
                    &bytes(c, g, "pub")?,
                    &info,
                    &[],
                    &plaintext,
                )
                .map_err(|e| format!("EncryptWithLabel: {e:?}"))?;
            let reopened = crypto
                .hpke_open(suite.hpke_config(), &sealed, &private, &info, &[])
                .map_err(|e| format!("EncryptWithLabel round trip: {e:?}"))?;
            expect_eq("EncryptWithLabel round trip", &reopened, &plaintext)
        }
        other => Err(format!("unknown function {other}")),
    }
}

//! `inspect_key_package`: what the server checks before it stores a key package and an
//! inviter before it adds one, on bytes anyone with an account can publish. Raw bytes, or a
//! real key package edited; what it accepts must carry a valid signature by the key it names.

use std::sync::LazyLock;

use conclave_protocol::{Crypto, GroupConfig, inspect_key_package};

use crate::edit::Input;
use crate::world::Device;

static TEMPLATES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let device = Device::new("alice");
    vec![device.key_package(&GroupConfig::default())]
});

static CRYPTO: LazyLock<Crypto> = LazyLock::new(Crypto::default);

/// The target.
pub fn run(data: &[u8]) {
    let Some(input) = Input::from_bytes(data) else {
        return;
    };
    let bytes = input.bytes(&TEMPLATES);
    if let Ok(info) = inspect_key_package(&*CRYPTO, &bytes) {
        assert!(!info.signature_key.is_empty());
    }
}

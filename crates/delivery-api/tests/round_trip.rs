//! Every body of the wire protocol survives its JSON encoding unchanged, for any value:
//! what one side writes is what the other reads (binary fields through base64 included).

use conclave_delivery_api::*;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_vec(value).expect("encodes");
    let back: T = serde_json::from_slice(&json).expect("decodes");
    assert_eq!(&back, value);
}

fn bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes)
}

/// Any text: the wire does not check names (the server does, by the credential's rules).
fn name() -> impl Strategy<Value = String> {
    any::<String>()
}

fn device_ref() -> impl Strategy<Value = DeviceRef> {
    (name(), name()).prop_map(|(user, device)| DeviceRef { user, device })
}

fn kind() -> impl Strategy<Value = MessageKind> {
    prop_oneof![
        Just(MessageKind::Commit),
        Just(MessageKind::Proposal),
        Just(MessageKind::Application),
        Just(MessageKind::Welcome),
    ]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    use ErrorCode::*;
    proptest::sample::select(vec![
        BadRequest,
        Unauthorized,
        Replay,
        Forbidden,
        NotFound,
        NameTaken,
        StaleEpoch,
        PayloadTooLarge,
        TooManyRecipients,
        TooManyKeyPackages,
        RateLimited,
        DeviceRevoked,
        Conflict,
        QueueFull,
        TooManyDevices,
        TooManyConnections,
        Internal,
        Unknown,
    ])
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let welcome = (
        proptest::collection::vec(device_ref(), 0..4),
        bytes(),
        bytes(),
    )
        .prop_map(|(recipients, message, ratchet_tree)| WelcomeEnvelope {
            recipients,
            message,
            ratchet_tree,
        });
    (
        bytes(),
        any::<u64>(),
        kind(),
        proptest::collection::vec(device_ref(), 0..4),
        bytes(),
        proptest::option::of(welcome),
        proptest::collection::vec(device_ref(), 0..3),
        proptest::option::of(bytes()),
    )
        .prop_map(
            |(group_id, epoch, kind, recipients, message, welcome, removed, link_token)| Envelope {
                group_id,
                epoch,
                kind,
                recipients,
                message,
                welcome,
                removed,
                link_token,
            },
        )
}

fn queue_page() -> impl Strategy<Value = QueuePage> {
    let item = (
        any::<u64>(),
        device_ref(),
        kind(),
        bytes(),
        any::<u64>(),
        bytes(),
        proptest::option::of(bytes()),
    )
        .prop_map(
            |(seq, sender, kind, group_id, epoch, message, ratchet_tree)| QueueItem {
                seq,
                sender,
                kind,
                group_id,
                epoch,
                message,
                ratchet_tree,
            },
        );
    (proptest::collection::vec(item, 0..4), any::<bool>())
        .prop_map(|(items, more)| QueuePage { items, more })
}

proptest! {
    #[test]
    fn envelopes(value in envelope()) {
        round_trips(&value);
    }

    #[test]
    fn queue_pages(value in queue_page()) {
        round_trips(&value);
    }

    #[test]
    fn errors(
        error in error_code(),
        message in any::<String>(),
        current_epoch in proptest::option::of(any::<u64>()),
        recipients in proptest::collection::vec(device_ref(), 0..3),
    ) {
        round_trips(&ErrorBody { error, message, current_epoch, recipients });
    }

    #[test]
    fn registrations_and_devices(
        signature_key in bytes(),
        ciphersuite in any::<u16>(),
        device in name(),
        user in name(),
        added_at in any::<u64>(),
        last_seen in proptest::option::of(any::<u64>()),
        chunk in bytes(),
    ) {
        round_trips(&RegisterRequest { signature_key: signature_key.clone(), ciphersuite });
        let info = DeviceInfo {
            device: device.clone(),
            signature_key: signature_key.clone(),
            ciphersuite,
            added_at,
            last_seen,
            revoked_at: last_seen,
        };
        round_trips(&DeviceGrant {
            device: device.clone(),
            signature_key: signature_key.clone(),
            ciphersuite,
        });
        round_trips(&RevokeRequest { device: device.clone() });
        round_trips(&LinkChunk { data: chunk });
        round_trips(&AddDeviceRequest { device, signature_key, ciphersuite });
        round_trips(&info);
        let devices = DevicesResponse { user: user.clone(), devices: vec![info] };
        round_trips(&devices);
        round_trips(&DirectoryRequest { users: vec![user.clone()] });
        round_trips(&DirectoryResponse { users: vec![devices] });
        round_trips(&ClaimRequest { user: user.clone(), device: None, ciphersuite: None });
        round_trips(&ClaimRequest { user, device: Some("d".into()), ciphersuite: Some(0x4d) });
    }

    #[test]
    fn key_packages(
        packages in proptest::collection::vec(bytes(), 0..4),
        last_resort in proptest::option::of(bytes()),
        available in any::<u32>(),
        has_last_resort in any::<bool>(),
        user in name(),
        device in name(),
        unavailable in proptest::collection::vec(name(), 0..3),
    ) {
        round_trips(&PublishKeyPackages {
            ciphersuite: None,
            key_packages: packages.clone(),
            last_resort: last_resort.clone(),
        });
        round_trips(&PublishKeyPackages {
            ciphersuite: Some(0x0003),
            key_packages: packages.clone(),
            last_resort: last_resort.clone(),
        });
        let stock = KeyPackageStock { ciphersuite: 1, available, has_last_resort };
        round_trips(&stock);
        round_trips(&KeyPackageStocks { suites: vec![stock] });
        let key_packages: Vec<ClaimedKeyPackage> = packages
            .into_iter()
            .map(|key_package| ClaimedKeyPackage {
                device: device.clone(),
                key_package,
                last_resort: has_last_resort,
            })
            .collect();
        round_trips(&ClaimResponse { user, key_packages, unavailable });
    }

    #[test]
    fn small_bodies(
        group_id in bytes(),
        epoch in any::<u64>(),
        votes in any::<u32>(),
        voters in any::<u32>(),
        seq in any::<u64>(),
    ) {
        round_trips(&RejectRequest { group_id, epoch });
        round_trips(&RejectResponse { votes, voters, epoch });
        round_trips(&SendResponse { epoch });
        round_trips(&AckRequest { up_to: seq });
        round_trips(&AckResponse { deleted: seq });
        round_trips(&PushFrame { seq });
    }
}

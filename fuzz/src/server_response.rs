//! The client's reading of what the server (or a network attacker, over plain HTTP to a
//! local server) answers: every response body and push frame the client parses, chosen by
//! the first byte. Parsing never panics, and what parses encodes back to the same value.

use conclave_delivery_api::{
    AckResponse, ClaimResponse, DeviceInfo, DevicesResponse, DirectoryResponse, ErrorBody,
    KeyPackageStock, KeyPackageStocks, PushFrame, QueuePage, RejectResponse, SendResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        let encoded = serde_json::to_vec(&value).expect("a parsed value encodes");
        let again: T = serde_json::from_slice(&encoded).expect("an encoded value parses");
        assert_eq!(again, value, "a value changed through a round trip");
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 11 {
        0 => round_trip::<QueuePage>(body),
        1 => round_trip::<PushFrame>(body),
        2 => round_trip::<ErrorBody>(body),
        3 => round_trip::<ClaimResponse>(body),
        4 => round_trip::<DevicesResponse>(body),
        5 => round_trip::<DirectoryResponse>(body),
        6 => {
            round_trip::<KeyPackageStock>(body);
            round_trip::<KeyPackageStocks>(body);
        }
        7 => round_trip::<SendResponse>(body),
        8 => round_trip::<RejectResponse>(body),
        9 => round_trip::<AckResponse>(body),
        _ => round_trip::<DeviceInfo>(body),
    }
}

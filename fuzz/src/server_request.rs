//! The server's reading of a request, which anyone on the network can send: the whole router
//! (header parsing, signature checks, body limits, JSON bodies, handlers) of a real
//! `conclave-ds` over a real SQLite file, with a registered device. The request is signed by
//! that device or not, its body raw or a valid body edited. Whatever comes in, the answer is
//! never a 5xx (a client's mistake is a 4xx) and nothing panics.

use std::sync::{Arc, LazyLock};

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use conclave_delivery::{Config, DeliveryStore, Durability, Server, SqliteStore};
use conclave_delivery_api::auth::{fresh_identity, headers, sign_request};
use conclave_delivery_api::paths;
use conclave_protocol::{GroupConfig, Identity};
use tower::ServiceExt;

use crate::edit::{Edit, apply};
use crate::world::Device;

const ROUTES: &[&str] = &[
    paths::HEALTH,
    paths::METRICS,
    paths::REGISTER,
    paths::DEVICES,
    "/v1/users/alice/devices",
    paths::DIRECTORY,
    paths::KEY_PACKAGES,
    paths::KEY_PACKAGE_STOCK,
    paths::CLAIM,
    paths::MESSAGES,
    paths::REJECT,
    paths::QUEUE,
    paths::QUEUE_ACK,
    paths::PUSH,
    paths::DEVICE_GRANTS,
    paths::DEVICE_REVOKE,
    LINK_CHUNK,
    paths::BLOBS,
    BLOB_CHUNK,
    GROUP_INFO,
    GROUP_JOIN,
    GROUP_REQUESTS,
    GROUP_REJOIN,
    GROUP_REJOIN_KEY,
];

/// A group's sealed GroupInfo, its join-by-link endpoint and its requests (a group id is
/// lowercase hex).
const GROUP_INFO: &str = "/v1/groups/0707070707070707/info";
const GROUP_JOIN: &str = "/v1/groups/0707070707070707/join";
const GROUP_REQUESTS: &str = "/v1/groups/0707070707070707/requests";
/// A member's ask for the rejoin key, and an answer to one.
const GROUP_REJOIN: &str = "/v1/groups/0707070707070707/rejoin";
const GROUP_REJOIN_KEY: &str = "/v1/groups/0707070707070707/rejoin/key";

/// How many routes the seeds cover (one POST and one GET each).
pub(crate) const ROUTE_COUNT: u8 = ROUTES.len() as u8;

/// A blob chunk's path (a blob id is 32 hex characters).
const BLOB_CHUNK: &str = "/v1/blobs/07070707070707070707070707070707/0";

/// A link chunk's path (a link id is 64 hex characters).
const LINK_CHUNK: &str =
    "/v1/links/0707070707070707070707070707070707070707070707070707070707070707/1";

/// Body templates (the seeds use the one of their route's index, modulo this).
pub(crate) const TEMPLATES: u8 = 13;

const HEADERS: &[&str] = &[
    headers::USER,
    headers::DEVICE,
    headers::TIMESTAMP,
    headers::NONCE,
    headers::SIGNATURE,
    headers::NEW_KEY_SIGNATURE,
    "content-type",
    "content-length",
    "authorization",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
];

#[derive(Arbitrary, Debug)]
enum Path {
    Route { index: u8, query: Option<String> },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum BodyInput {
    Raw(Vec<u8>),
    Edited { template: u8, edits: Vec<Edit> },
}

#[derive(Arbitrary, Debug)]
enum Signing {
    /// Signed by alice's device over exactly this request.
    Valid,
    /// alice's headers with the fuzzer's signature.
    Forged(Vec<u8>),
    /// No signature headers.
    None,
}

#[derive(Arbitrary, Debug)]
struct Request {
    post: bool,
    path: Path,
    body: BodyInput,
    signing: Signing,
    headers: Vec<(u8, String)>,
}

struct World {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    alice: Identity,
    bodies: Vec<Vec<u8>>,
    _dir: tempfile::TempDir,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let alice = Device::new("alice");
    let store = SqliteStore::open(&dir.path().join("ds.sqlite"), Durability::Process)
        .expect("the database opens");
    let nonce = conclave_delivery::store::Nonce {
        nonce: "0".repeat(32),
        expires_at: u64::MAX / 2,
    };
    store
        .register(
            "alice",
            "d",
            alice.identity.signature_public_key(),
            1,
            10,
            nonce,
        )
        .expect("alice registers");
    let mut config = Config::new(dir.path().join("unused.sqlite"));
    // The fuzzer sends as fast as it can, all as alice: limits that would stop exactly that
    // would stop the fuzzer from reaching the handlers.
    config.limits.requests_per_second = u32::MAX / 2;
    config.limits.burst = u32::MAX / 2;
    config.limits.registrations_per_hour = u32::MAX / 2;
    config.limits.claims_per_target = u32::MAX / 2;
    config.durability = Durability::Process;
    let server = Server::with_store(Arc::new(store), config).expect("the server starts");
    let key_package = alice.key_package(&GroupConfig::default());
    let b64 = |bytes: &[u8]| serde_json::to_value(conclave_delivery_api::Bytes(bytes.to_vec()));
    let bodies = [
        serde_json::json!({"signature_key": b64(alice.identity.signature_public_key()).ok(), "ciphersuite": 1}),
        serde_json::json!({"device": "phone", "signature_key": b64(b"key").ok(), "ciphersuite": 1}),
        serde_json::json!({"users": ["alice", "bob"]}),
        serde_json::json!({"key_packages": [b64(&key_package).ok()], "last_resort": b64(&key_package).ok()}),
        serde_json::json!({"user": "alice"}),
        serde_json::json!({"group_id": b64(b"g").ok(), "epoch": 0, "kind": "commit",
            "recipients": [{"user": "alice", "device": "d"}], "message": b64(&key_package).ok(),
            "welcome": {"recipients": [], "message": b64(b"w").ok(), "ratchet_tree": b64(b"t").ok()},
            "removed": []}),
        serde_json::json!({"group_id": b64(b"g").ok(), "epoch": 3}),
        serde_json::json!({"up_to": 7}),
        serde_json::json!({"device": "tablet", "signature_key": b64(b"key").ok(), "ciphersuite": 1}),
        serde_json::json!({"device": "phone"}),
        serde_json::json!({"data": b64(b"sealed").ok()}),
        serde_json::json!({"ask": b64(b"signed ask").ok()}),
        serde_json::json!({"device": {"user": "alice", "device": "d"}, "key": b64(b"sealed key").ok()}),
    ]
    .iter()
    .map(|v| serde_json::to_vec(v).expect("JSON"))
    .collect();
    World {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime"),
        router: server.router(),
        alice: alice.identity,
        bodies,
        _dir: dir,
    }
});

/// The target.
pub fn run(data: &[u8]) {
    let Ok(input) = Request::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let world = &*WORLD;
    let path = match &input.path {
        Path::Route { index, query } => {
            let route = ROUTES[usize::from(*index) % ROUTES.len()];
            match query {
                Some(q) => format!("{route}?{q}"),
                None => route.to_owned(),
            }
        }
        Path::Raw(raw) => raw.clone(),
    };
    let body = match &input.body {
        BodyInput::Raw(bytes) => bytes.clone(),
        BodyInput::Edited { template, edits } => apply(
            &world.bodies[usize::from(*template) % world.bodies.len()],
            edits,
        ),
    };
    let method = if input.post { "POST" } else { "GET" };
    let mut request = axum::http::Request::builder().method(method).uri(&path);
    match &input.signing {
        Signing::None => {}
        signing => {
            let id = fresh_identity("alice", "d");
            let Ok(signed) = sign_request(&world.alice, method, &path, &body, &id) else {
                return;
            };
            for (name, value) in signed {
                let value = match signing {
                    Signing::Forged(signature) if name == headers::SIGNATURE => {
                        String::from_utf8_lossy(signature).into_owned()
                    }
                    _ => value,
                };
                request = request.header(name, value);
            }
        }
    }
    for (which, value) in &input.headers {
        request = request.header(HEADERS[usize::from(*which) % HEADERS.len()], value.as_str());
    }
    let Ok(request) = request.body(Body::from(body)) else {
        return; // not a request hyper would have parsed
    };
    let response = world
        .runtime
        .block_on(world.router.clone().oneshot(request))
        .expect("the router is infallible");
    assert!(
        !response.status().is_server_error(),
        "{method} {path}: a request got {}",
        response.status()
    );
}

#[cfg(test)]
fn world_templates() -> usize {
    WORLD.bodies.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_are_signed_requests_of_each_route_with_a_template_body() {
        let seeds = crate::seeds::all();
        let requests: Vec<Request> = seeds
            .iter()
            .filter(|(t, _, _)| *t == "server_request")
            .map(|(_, _, bytes)| Request::arbitrary_take_rest(Unstructured::new(bytes)).unwrap())
            .collect();
        assert_eq!(requests.len(), 2 * ROUTES.len());
        assert_eq!(world_templates(), usize::from(TEMPLATES));
        for (n, request) in requests.iter().enumerate() {
            assert_eq!(request.post, n % 2 == 1, "{request:?}");
            assert!(
                matches!(request.path, Path::Route { index, query: None } if usize::from(index) == n / 2),
                "{request:?}"
            );
            assert!(
                matches!(&request.body, BodyInput::Edited { edits, .. } if edits.is_empty()),
                "{request:?}"
            );
            assert!(matches!(request.signing, Signing::Valid), "{request:?}");
            assert!(request.headers.is_empty(), "{request:?}");
        }
    }
}

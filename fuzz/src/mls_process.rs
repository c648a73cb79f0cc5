//! `Group::process` on bytes another member or the server sent. bob is a member of two real
//! groups (handshakes encrypted, and in the clear) and processes raw bytes, or one of the
//! messages carol made in them (an application message, a proposal, a commit), edited. On
//! any error bob's group must be unchanged: the same epoch and epoch authenticator, and it
//! still reads what alice sends next (checked every 64th refusal, to keep the pace up).

use std::sync::Mutex;

use conclave_protocol::{Group, HandshakeFraming};

use crate::edit::Input;
use crate::world::{Device, config, group, member};

struct State {
    alice: Device,
    bob: Device,
    /// Per group: alice's and bob's.
    groups: Vec<(Group, Group)>,
    /// (group index, message) for bob to process.
    templates: Vec<(usize, Vec<u8>)>,
    refusals: u64,
}

fn build() -> State {
    let (alice, bob, carol) = (
        Device::new("alice"),
        Device::new("bob"),
        Device::new("carol"),
    );
    let mut groups = Vec::new();
    let mut templates = Vec::new();
    for (index, framing) in [HandshakeFraming::Encrypted, HandshakeFraming::Plaintext]
        .into_iter()
        .enumerate()
    {
        let config = config(framing);
        let (alices, welcome, tree) = group(&alice, &config, &[&bob, &carol]);
        let bobs = Group::join(&bob.provider, &config, &welcome, Some(&tree)).expect("bob joins");
        let mut carols =
            Group::join(&carol.provider, &config, &welcome, Some(&tree)).expect("carol joins");
        let (p, id) = (&carol.provider, &carol.identity);
        templates.push((
            index,
            carols.encrypt(p, id, b"hello, bob").expect("a message"),
        ));
        templates.push((
            index,
            carols
                .propose_remove(p, id, &member("alice"))
                .expect("a proposal"),
        ));
        templates.push((index, carols.self_update(p, id).expect("a commit").commit));
        groups.push((alices, bobs));
    }
    State {
        alice,
        bob,
        groups,
        templates,
        refusals: 0,
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// The target.
pub fn run(data: &[u8]) {
    let Some(input) = Input::from_bytes(data) else {
        return;
    };
    let mut slot = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let state = slot.get_or_insert_with(build);
    let messages: Vec<Vec<u8>> = state.templates.iter().map(|(_, m)| m.clone()).collect();
    let bytes = input.bytes(&messages);
    let index = match &input {
        Input::Raw(raw) => usize::from(raw.first().copied().unwrap_or(0)) % state.groups.len(),
        Input::Edited(edited) => {
            state.templates[usize::from(edited.template) % state.templates.len()].0
        }
    };
    let State {
        alice,
        bob,
        groups,
        refusals,
        ..
    } = state;
    let (alices, bobs) = &mut groups[index];
    let before = (bobs.epoch(), bobs.epoch_authenticator());
    match bobs.process(&bob.provider, &bytes) {
        // A commit accepted (a template, or an edit that kept it valid): bob is in the next
        // epoch, where the templates no longer fit. Start again from fresh groups. (An
        // accepted message or proposal leaves the epoch as it was: its template is spent,
        // the others still fit.)
        Ok(_) if bobs.epoch() != before.0 => *slot = None,
        Ok(_) => {}
        Err(_) => {
            assert_eq!(
                before,
                (bobs.epoch(), bobs.epoch_authenticator()),
                "a refused message changed the group"
            );
            *refusals += 1;
            if *refusals % 64 == 0 {
                let next = alices
                    .encrypt(&alice.provider, &alice.identity, b"still there?")
                    .expect("alice sends");
                bobs.process(&bob.provider, &next)
                    .expect("after a refused message, the group still reads the next one");
            }
        }
    }
}

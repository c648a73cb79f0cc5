//! `Group::process` on bytes another member or the server sent. bob is a member of two real
//! groups (handshakes encrypted, and in the clear) and processes raw bytes, or one of the
//! messages carol made in them (an application message, a proposal, a commit), edited. On
//! any error bob's group must be unchanged: the same epoch and epoch authenticator, and it
//! still reads what alice sends next (checked every 64th refusal, to keep the pace up).
//!
//! An accepted commit moves bob to the next epoch, where the templates no longer fit: the
//! world goes back to how it was built by restoring alice's and bob's stored state and
//! reloading their groups from it (making the world again, three identities and two groups,
//! took the rate from ~900 runs/s to ~190 as the fuzzer found more commits that pass).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use conclave_protocol::{Group, GroupId, HandshakeFraming, MemoryProvider};
use openmls_traits::OpenMlsProvider;

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
    /// alice's and bob's stored values as built, and the groups' ids, to go back to.
    built: (Rows, Rows, Vec<GroupId>),
}

type Rows = HashMap<Vec<u8>, Vec<u8>>;

fn rows(provider: &MemoryProvider) -> Rows {
    provider
        .storage()
        .values
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn set_rows(provider: &MemoryProvider, rows: &Rows) {
    *provider
        .storage()
        .values
        .write()
        .unwrap_or_else(PoisonError::into_inner) = rows.clone();
}

impl State {
    /// Back to the state `build` made: the stored values, and the groups loaded from them.
    fn restore(&mut self) {
        let (alice_rows, bob_rows, ids) = &self.built;
        set_rows(&self.alice.provider, alice_rows);
        set_rows(&self.bob.provider, bob_rows);
        for ((alices, bobs), id) in self.groups.iter_mut().zip(ids) {
            *alices = Group::load(&self.alice.provider, id).expect("alice's group reloads");
            *bobs = Group::load(&self.bob.provider, id).expect("bob's group reloads");
        }
    }
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
        let message = carols.encrypt(p, id, b"hello, bob").expect("a message");
        // A commit bob accepts (carol may update her own leaf), made before the proposal so
        // that it does not carry it: carol may propose to remove alice, not commit it.
        let commit = carols.self_update(p, id).expect("a commit").commit;
        carols.discard_pending_commit(p).expect("discarded");
        let proposal = carols
            .propose_remove(p, id, &member("alice"))
            .expect("a proposal");
        templates.extend([(index, message), (index, proposal), (index, commit)]);
        groups.push((alices, bobs));
    }
    let built = (
        rows(&alice.provider),
        rows(&bob.provider),
        groups.iter().map(|(alices, _)| alices.id()).collect(),
    );
    State {
        alice,
        bob,
        groups,
        templates,
        refusals: 0,
        built,
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// The target.
pub fn run(data: &[u8]) {
    let Some(input) = Input::from_bytes(data) else {
        return;
    };
    let mut slot = STATE.lock().unwrap_or_else(PoisonError::into_inner);
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
    let next_epoch = match bobs.process(&bob.provider, &bytes) {
        // A commit accepted (a template, or an edit that kept it valid): bob is in the next
        // epoch, where the templates no longer fit. (An accepted message or proposal leaves
        // the epoch as it was: its template is spent, the others still fit.)
        Ok(_) => bobs.epoch() != before.0,
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
            false
        }
    };
    if next_epoch {
        state.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After `restore` the world is the one `build` made: the same commit is accepted
    /// again (it would be refused as from a past epoch otherwise), and alice and bob still
    /// talk.
    #[test]
    fn a_restored_world_takes_the_same_commit_again() {
        let mut state = build();
        // Each group's templates are carol's message, proposal and commit, in that order.
        let templates = state.templates.clone();
        assert_eq!(templates.len(), 6);
        for group in templates.chunks(3) {
            let (index, commit) = (group[2].0, &group[2].1);
            for _ in 0..2 {
                let epoch = state.groups[index].1.epoch();
                state.groups[index]
                    .1
                    .process(&state.bob.provider, commit)
                    .expect("carol's commit is accepted");
                assert_eq!(state.groups[index].1.epoch(), epoch + 1);
                state.restore();
                assert_eq!(state.groups[index].1.epoch(), epoch);
                let (alices, bobs) = &mut state.groups[index];
                let next = alices
                    .encrypt(&state.alice.provider, &state.alice.identity, b"still here")
                    .expect("alice sends");
                bobs.process(&state.bob.provider, &next)
                    .expect("bob reads alice after the restore");
            }
        }
    }
}

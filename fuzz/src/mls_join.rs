//! `Group::join` on a Welcome and ratchet tree another member or the server sent: raw bytes,
//! or a real Welcome and tree for the joiner, either edited. A refused join leaves no group
//! behind; an accepted one must be a group the joiner is a member of.

use std::sync::Mutex;

use arbitrary::{Arbitrary, Unstructured};
use conclave_protocol::{Group, GroupConfig};

use crate::edit::{Edit, apply};
use crate::world::{Device, group};

#[derive(Arbitrary, Debug)]
enum Input {
    Raw {
        welcome: Vec<u8>,
        tree: Option<Vec<u8>>,
    },
    Edited {
        welcome: Vec<Edit>,
        tree: Vec<Edit>,
        without_tree: bool,
    },
}

struct State {
    joiner: Device,
    welcome: Vec<u8>,
    tree: Vec<u8>,
}

fn build() -> State {
    let (creator, joiner, other) = (
        Device::new("alice"),
        Device::new("bob"),
        Device::new("carol"),
    );
    let (_, welcome, tree) = group(&creator, &GroupConfig::default(), &[&joiner, &other]);
    State {
        joiner,
        welcome,
        tree,
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// The target.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut slot = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let state = slot.get_or_insert_with(build);
    let (welcome, tree) = match &input {
        Input::Raw { welcome, tree } => (welcome.clone(), tree.clone()),
        Input::Edited {
            welcome,
            tree,
            without_tree,
        } => (
            apply(&state.welcome, welcome),
            (!without_tree).then(|| apply(&state.tree, tree)),
        ),
    };
    let joined = Group::join(
        &state.joiner.provider,
        &GroupConfig::default(),
        &welcome,
        tree.as_deref(),
    );
    if let Ok(group) = joined {
        let me = group.own_leaf_index();
        let members = group.members().expect("a joined group lists its members");
        assert!(
            members
                .iter()
                .any(|m| m.leaf_index == me && m.id.user.as_str() == "bob"),
            "joined a group as someone else"
        );
        // The key package is used up: the next input needs a fresh invitation.
        *slot = None;
    }
}

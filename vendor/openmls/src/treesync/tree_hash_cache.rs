//! CONCLAVE PATCH 4: tree hashes of a [`TreeSync`](super::TreeSync)'s nodes,
//! kept between commits.
//!
//! Every commit needs the tree hash of the new tree (twice: for the new group
//! context and for the staged diff) and the tree hashes of the committer's
//! copath (for parent hashes). Computed from scratch each time, that is
//! O(members) hashing and serialization per commit, about half of processing a
//! commit in a group of 1,000. A subtree the commit did not touch has the same
//! hash as in the previous epoch, so the hashes of the current tree are kept
//! here: filled as they are computed, and forgotten for the nodes a merged diff
//! replaced and their ancestors. Only the unchanged subtrees of a diff use them;
//! the changed part is always computed.
//!
//! The cache is not serialized (a loaded tree starts empty and fills on first
//! use), so stored state is the same as without it.

use std::{fmt, sync::OnceLock};

use openmls_traits::types::Ciphersuite;

use crate::binary_tree::{
    array_representation::{node_position, self_and_ancestor_positions, TreeNodeIndex, TreeSize},
    StagedMlsBinaryTreeDiff,
};

use super::treesync_node::{TreeSyncLeafNode, TreeSyncParentNode};

/// One slot per node of the tree, by position; made on first use for the
/// tree's size and ciphersuite.
#[derive(Default)]
pub(crate) struct TreeHashCache {
    slots: OnceLock<Slots>,
}

struct Slots {
    ciphersuite: Ciphersuite,
    size: TreeSize,
    hashes: Vec<OnceLock<Vec<u8>>>,
}

impl TreeHashCache {
    /// The slot for `node`'s tree hash in a tree of `size` nodes hashed with
    /// `ciphersuite`, or `None` when the cache was made for another size or
    /// ciphersuite (then the caller computes without it).
    pub(crate) fn slot(
        &self,
        ciphersuite: Ciphersuite,
        size: TreeSize,
        node: TreeNodeIndex,
    ) -> Option<&OnceLock<Vec<u8>>> {
        let slots = self.slots.get_or_init(|| Slots {
            ciphersuite,
            size,
            hashes: (0..size.u32()).map(|_| OnceLock::new()).collect(),
        });
        if slots.ciphersuite != ciphersuite || slots.size != size {
            return None;
        }
        slots.hashes.get(node_position(node))
    }

    /// Forgets what `diff` makes stale when merged into a tree of `size` nodes:
    /// the hashes of the nodes it replaces and of their ancestors, or
    /// everything when it changes the tree's size.
    pub(crate) fn forget_changed_by(
        &mut self,
        size: TreeSize,
        diff: &StagedMlsBinaryTreeDiff<TreeSyncLeafNode, TreeSyncParentNode>,
    ) {
        let Some(slots) = self.slots.get_mut() else {
            return;
        };
        if slots.size != size || diff.tree_size() != size {
            self.slots = OnceLock::new();
            return;
        }
        for node in diff.changed_nodes() {
            for position in self_and_ancestor_positions(node, size) {
                if let Some(slot) = slots.hashes.get_mut(position) {
                    slot.take();
                }
            }
        }
    }
}

impl Clone for TreeHashCache {
    fn clone(&self) -> Self {
        let slots = OnceLock::new();
        if let Some(s) = self.slots.get() {
            let _ = slots.set(Slots {
                ciphersuite: s.ciphersuite,
                size: s.size,
                hashes: s.hashes.clone(),
            });
        }
        Self { slots }
    }
}

/// A cache says nothing about the tree, so trees compare and print without it.
impl PartialEq for TreeHashCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for TreeHashCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TreeHashCache")
    }
}

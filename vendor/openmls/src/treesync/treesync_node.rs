//! This module contains the [`TreeSyncNode`] struct and its implementation.

use std::{collections::HashSet, sync::OnceLock};

use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::Ciphersuite;
use serde::{Deserialize, Serialize};
use tls_codec::{Serialize as _, VLByteSlice};

use crate::{
    binary_tree::array_representation::{tree::TreeNode, LeafNodeIndex},
    error::LibraryError,
};

use super::{hashes::TreeHashInput, LeafNode, Node, ParentNode};

/// A node in the MLS tree.
pub(crate) enum TreeSyncNode {
    Leaf(Box<TreeSyncLeafNode>),
    Parent(Box<TreeSyncParentNode>),
}

impl From<Node> for TreeSyncNode {
    fn from(node: Node) -> Self {
        match node {
            Node::LeafNode(leaf) => TreeSyncNode::Leaf(Box::new((*leaf).into())),
            Node::ParentNode(parent) => TreeSyncNode::Parent(Box::new((*parent).into())),
        }
    }
}

impl From<TreeSyncNode> for Option<Node> {
    fn from(tsn: TreeSyncNode) -> Self {
        match tsn {
            TreeSyncNode::Leaf(leaf) => (*leaf).into(),
            TreeSyncNode::Parent(parent) => (*parent).into(),
        }
    }
}

impl From<TreeNode<TreeSyncLeafNode, TreeSyncParentNode>> for TreeSyncNode {
    fn from(tree_node: TreeNode<TreeSyncLeafNode, TreeSyncParentNode>) -> Self {
        match tree_node {
            TreeNode::Leaf(leaf) => TreeSyncNode::Leaf(leaf),
            TreeNode::Parent(parent) => TreeSyncNode::Parent(parent),
        }
    }
}

impl From<TreeSyncNode> for TreeNode<TreeSyncLeafNode, TreeSyncParentNode> {
    fn from(tsn: TreeSyncNode) -> Self {
        match tsn {
            TreeSyncNode::Leaf(leaf) => TreeNode::Leaf(leaf),
            TreeSyncNode::Parent(parent) => TreeNode::Parent(parent),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
/// This intermediate struct on top of `Option<Node>` allows us to cache tree
/// hash values. Blank nodes are represented by [`TreeSyncNode`] instances where
/// `node = None`.
pub(crate) struct TreeSyncLeafNode {
    // CONCLAVE PATCH 8: stored as TLS bytes (see stored_node.rs).
    #[serde(with = "super::stored_node::option")]
    node: Option<LeafNode>,
    // CONCLAVE PATCH 20: the node's TLS encoding, made the first time the leaf is
    // hashed (patch 22) or the tree stored, and reused every time after. The whole
    // tree is stored after every commit; encoding each leaf again, from a dozen
    // small allocations scattered over the heap, was a quarter of processing a
    // commit at 5,000 members. A leaf's node never changes in place (a new leaf
    // node makes a new `TreeSyncLeafNode`), so the encoding cannot go stale.
    #[serde(skip)]
    encoded: OnceLock<Vec<u8>>,
}

#[cfg(any(test, feature = "test-utils"))]
impl PartialEq for TreeSyncLeafNode {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// Stored exactly as patch 8 stores it: a struct with the one field `node`.
impl Serialize for TreeSyncLeafNode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut state = serializer.serialize_struct("TreeSyncLeafNode", 1)?;
        let encoded = self.encoded().map_err(serde::ser::Error::custom)?;
        state.serialize_field("node", &encoded.map(serde_bytes::Bytes::new))?;
        state.end()
    }
}

impl TreeSyncLeafNode {
    /// Create a blank [`TreeSyncLeafNode`].
    pub(in crate::treesync) fn blank() -> Self {
        Self::default()
    }

    /// Return a reference to the contained `Option<Node>`.
    pub(in crate::treesync) fn node(&self) -> &Option<LeafNode> {
        &self.node
    }

    /// Compute the tree hash for this node, thus populating the `tree_hash`
    /// field.
    pub(in crate::treesync) fn compute_tree_hash(
        &self,
        crypto: &impl OpenMlsCrypto,
        ciphersuite: Ciphersuite,
        leaf_index: LeafNodeIndex,
    ) -> Result<Vec<u8>, LibraryError> {
        // CONCLAVE PATCH 22: the hash input holds the leaf's TLS encoding, so the
        // encoding kept for storage (patch 20) is made here, once, and hashed. A
        // joiner hashes every leaf on all cores (patch 21) and then stores the tree
        // on one: before, each leaf was encoded twice, the second time on one core.
        match self.encoded().map_err(LibraryError::missing_bound_check)? {
            None => TreeHashInput::new_leaf(&leaf_index, None).hash(crypto, ciphersuite),
            Some(encoded) => {
                // TreeHashInput: node_type leaf (1), then LeafNodeHashInput:
                // uint32 leaf_index, optional<LeafNode> present (1), the leaf node.
                let mut input = Vec::with_capacity(6 + encoded.len());
                input.push(1);
                input.extend_from_slice(&leaf_index.u32().to_be_bytes());
                input.push(1);
                input.extend_from_slice(encoded);
                crypto
                    .hash(ciphersuite.hash_algorithm(), &input)
                    .map_err(LibraryError::unexpected_crypto_error)
            }
        }
    }

    /// The node's TLS encoding, made on first use and kept (CONCLAVE PATCH 20); `None`
    /// for a blank leaf.
    fn encoded(&self) -> Result<Option<&[u8]>, tls_codec::Error> {
        let Some(node) = &self.node else {
            return Ok(None);
        };
        if let Some(encoded) = self.encoded.get() {
            return Ok(Some(encoded));
        }
        let encoded = node.tls_serialize_detached()?;
        Ok(Some(self.encoded.get_or_init(|| encoded)))
    }
}

impl From<LeafNode> for TreeSyncLeafNode {
    fn from(node: LeafNode) -> Self {
        Self {
            node: Some(node),
            encoded: OnceLock::new(),
        }
    }
}

impl From<LeafNode> for Box<TreeSyncLeafNode> {
    fn from(node: LeafNode) -> Self {
        Box::new(node.into())
    }
}

impl From<TreeSyncLeafNode> for Option<Node> {
    fn from(tsln: TreeSyncLeafNode) -> Self {
        tsln.node.map(|n| Node::LeafNode(Box::new(n)))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "test-utils"), derive(PartialEq))]
/// This intermediate struct on top of `Option<Node>` allows us to cache tree
/// hash values. Blank nodes are represented by [`TreeSyncNode`] instances where
/// `node = None`.
pub(crate) struct TreeSyncParentNode {
    // CONCLAVE PATCH 8: stored as TLS bytes (see stored_node.rs).
    #[serde(with = "super::stored_node::option")]
    node: Option<ParentNode>,
}

impl TreeSyncParentNode {
    /// Create a blank [`TreeSyncParentNode`].
    pub(in crate::treesync) fn blank() -> Self {
        Self::default()
    }

    /// Return a reference to the contained `Option<Node>`.
    pub(in crate::treesync) fn node(&self) -> &Option<ParentNode> {
        &self.node
    }

    /// Return a mutable reference to the contained `Option<Node>`.
    pub(in crate::treesync) fn node_mut(&mut self) -> &mut Option<ParentNode> {
        &mut self.node
    }

    /// Compute the tree hash for this node. Leaf nodes from the exclusion list
    /// are filtered out.
    pub(in crate::treesync) fn compute_tree_hash(
        &self,
        crypto: &impl OpenMlsCrypto,
        ciphersuite: Ciphersuite,
        left_hash: Vec<u8>,
        right_hash: Vec<u8>,
        exclusion_list: &HashSet<&LeafNodeIndex>,
    ) -> Result<Vec<u8>, LibraryError> {
        let hash = if exclusion_list.is_empty() {
            // If the exclusion list is empty, we can just use the parent node
            TreeHashInput::new_parent(
                self.node.as_ref(),
                VLByteSlice(&left_hash),
                VLByteSlice(&right_hash),
            )
            .hash(crypto, ciphersuite)?
        } else if let Some(parent_node) = self.node.as_ref() {
            // If the exclusion list is not empty, we need to create a new
            // parent node without the excluded indices in the unmerged leaves.
            let mut new_node = parent_node.clone();
            let unmerged_leaves = new_node
                .unmerged_leaves()
                .iter()
                .filter(|leaf| !exclusion_list.contains(leaf))
                .cloned()
                .collect();
            new_node.set_unmerged_leaves(unmerged_leaves);
            TreeHashInput::new_parent(
                Some(&new_node),
                VLByteSlice(&left_hash),
                VLByteSlice(&right_hash),
            )
            .hash(crypto, ciphersuite)?
        } else {
            // If the node is blank
            TreeHashInput::new_parent(None, VLByteSlice(&left_hash), VLByteSlice(&right_hash))
                .hash(crypto, ciphersuite)?
        };

        Ok(hash)
    }
}

impl From<ParentNode> for TreeSyncParentNode {
    fn from(node: ParentNode) -> Self {
        Self { node: Some(node) }
    }
}

impl From<ParentNode> for Box<TreeSyncParentNode> {
    fn from(node: ParentNode) -> Self {
        Box::new(TreeSyncParentNode { node: Some(node) })
    }
}

impl From<TreeSyncParentNode> for Option<Node> {
    fn from(tspn: TreeSyncParentNode) -> Self {
        tspn.node.map(|n| Node::ParentNode(Box::new(n)))
    }
}

//! The runners of the IETF's MLS test vectors (<https://github.com/mlswg/mls-implementations>)
//! whose checks reach openmls's internals, for an application built on openmls to run the
//! vectors against the code it ships. Each takes one case of its vector file, as the file's
//! JSON deserializes, and says whether openmls agrees with it.

/// `tree-math.json`: the array tree's index arithmetic (root, left, right, parent and
/// sibling of every node) for one tree size.
pub use crate::binary_tree::array_representation::kat_treemath::{
    run_test_vector as check_tree_math, TmTestVectorError, TreeMathTestVector,
};

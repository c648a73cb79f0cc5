//! Structured inputs: a valid message made by the target, and edits to it chosen by the
//! fuzzer. Random bytes would almost never get past the first length prefix of an MLS
//! message; an edited valid one reaches every field behind it.

use arbitrary::{Arbitrary, Unstructured};

/// One change to a byte string; positions wrap around its length.
#[derive(Arbitrary, Debug, Clone)]
pub enum Edit {
    /// Sets one byte.
    Set { at: u32, byte: u8 },
    /// Flips bits of one byte.
    Xor { at: u32, mask: u8 },
    /// Inserts bytes.
    Insert { at: u32, bytes: Vec<u8> },
    /// Removes up to `len` bytes.
    Remove { at: u32, len: u16 },
    /// Cuts the rest off.
    Truncate { at: u32 },
}

/// Which template, and the edits to apply to it.
#[derive(Arbitrary, Debug, Clone)]
pub struct Edited {
    /// The template's index (wraps around the number of templates).
    pub template: u8,
    /// The edits, in order.
    pub edits: Vec<Edit>,
}

/// A target's input: raw bytes, or a template with edits. The first byte chooses (even:
/// raw), so that raw inputs are the fuzzer's bytes as they are.
#[derive(Debug, Clone)]
pub enum Input {
    /// The bytes as they are.
    Raw(Vec<u8>),
    /// A valid message, edited.
    Edited(Edited),
}

impl Input {
    /// Reads an input from the fuzzer's bytes (`None` if too few).
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        let (&tag, rest) = data.split_first()?;
        if tag & 1 == 0 {
            return Some(Input::Raw(rest.to_vec()));
        }
        Edited::arbitrary_take_rest(Unstructured::new(rest))
            .ok()
            .map(Input::Edited)
    }

    /// The bytes to feed the parser, given the templates.
    pub fn bytes(&self, templates: &[Vec<u8>]) -> Vec<u8> {
        match self {
            Input::Raw(bytes) => bytes.clone(),
            Input::Edited(edited) if templates.is_empty() => apply(&[], &edited.edits),
            Input::Edited(edited) => apply(
                &templates[usize::from(edited.template) % templates.len()],
                &edited.edits,
            ),
        }
    }
}

/// `template` with `edits` applied.
pub fn apply(template: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = template.to_vec();
    for edit in edits {
        let at = |at: u32| (at as usize) % (bytes.len() + 1);
        match edit {
            Edit::Set { at: i, byte } => {
                if !bytes.is_empty() {
                    let i = (*i as usize) % bytes.len();
                    bytes[i] = *byte;
                }
            }
            Edit::Xor { at: i, mask } => {
                if !bytes.is_empty() {
                    let i = (*i as usize) % bytes.len();
                    bytes[i] ^= *mask;
                }
            }
            Edit::Insert { at: i, bytes: new } => {
                let i = at(*i);
                bytes.splice(i..i, new.iter().copied());
            }
            Edit::Remove { at: i, len } => {
                let i = at(*i);
                let end = (i + usize::from(*len)).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate { at: i } => {
                let i = at(*i);
                bytes.truncate(i);
            }
        }
    }
    bytes
}

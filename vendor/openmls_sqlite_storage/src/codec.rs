use serde::Serialize;

pub trait Codec: Default {
    type Error: std::error::Error + std::fmt::Debug + Send + Sync + 'static;

    fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, Self::Error>;
    fn from_slice<T: serde::de::DeserializeOwned>(slice: &[u8]) -> Result<T, Self::Error>;

    /// Encodes a stored value (an entity, never a key). Conclave patch 2: a codec may write
    /// values in a form other than keys' (keys must keep their bytes, since rows are found by
    /// them), as long as `from_slice` reads both.
    fn entity_to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, Self::Error> {
        Self::to_vec(value)
    }
}

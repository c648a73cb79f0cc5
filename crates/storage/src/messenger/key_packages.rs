//! This device's published key packages: which exist, so that their private keys go once no
//! Welcome can use them (see migration V7).

use conclave_protocol::{CipherSuite, PublishedKeyPackage};
use rusqlite::{OptionalExtension, params};

use crate::{StoreError, Tx};

impl Tx<'_> {
    /// Records key packages about to be published.
    pub fn record_key_packages(
        &self,
        packages: &[PublishedKeyPackage],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut insert = self.connection().prepare_cached(
            "INSERT OR IGNORE INTO published_key_packages
                 (reference, last_resort, not_after, published_at, ciphersuite)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for package in packages {
            insert.execute(params![
                package.reference,
                package.last_resort,
                package.not_after as i64,
                now,
                package.ciphersuite.code_point(),
            ])?;
        }
        Ok(())
    }

    /// Files the packages recorded before suites were (migration V12) under `suite`, the
    /// suite the device registered with: they are in it.
    pub fn adopt_unsorted_key_packages(&self, suite: CipherSuite) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(
                "UPDATE published_key_packages SET ciphersuite = ?1 WHERE ciphersuite = 0",
            )?
            .execute([suite.code_point()])?;
        Ok(())
    }

    /// When the current last-resort package of `suite` was published (ms); `None` if none
    /// is recorded.
    pub fn last_resort_published_at(&self, suite: CipherSuite) -> Result<Option<i64>, StoreError> {
        Ok(self
            .connection()
            .prepare_cached(
                "SELECT MAX(published_at) FROM published_key_packages
                 WHERE last_resort = 1 AND retired_at IS NULL AND ciphersuite = ?1",
            )?
            .query_row([suite.code_point()], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten())
    }

    /// Marks every last-resort package of `suite` but `current` replaced, at `now` (ms).
    pub fn retire_last_resorts(
        &self,
        suite: CipherSuite,
        current: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(
                "UPDATE published_key_packages SET retired_at = ?2
                 WHERE last_resort = 1 AND retired_at IS NULL AND reference != ?1
                   AND ciphersuite = ?3",
            )?
            .execute(params![current, now, suite.code_point()])?;
        Ok(())
    }

    /// The packages no Welcome can use any more at `now` (ms), given `grace` (ms) for
    /// Welcomes still queued: one-time packages past their lifetime, last-resort packages
    /// replaced by a newer one.
    pub fn key_packages_to_forget(&self, now: i64, grace: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT reference FROM published_key_packages
             WHERE (last_resort = 0 AND not_after * 1000 + ?2 < ?1)
                OR (retired_at IS NOT NULL AND retired_at + ?2 < ?1)",
        )?;
        let rows = stmt.query_map(params![now, grace], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every package recorded (for a device that must drop them all: a revoked one).
    pub fn published_key_packages(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT reference FROM published_key_packages")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets a package whose private keys were deleted.
    pub fn forget_key_package(&self, reference: &[u8]) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached("DELETE FROM published_key_packages WHERE reference = ?1")?
            .execute([reference])?;
        Ok(())
    }
}

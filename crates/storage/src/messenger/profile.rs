//! The profile's own records: its identity and server, settings, and the sync cursor.

use conclave_protocol::IdentityRecord;
use rusqlite::{OptionalExtension, params};

use crate::{StoreError, Tx};

impl Tx<'_> {
    /// Records this device's identity and server (once; later calls update the server).
    pub fn set_profile(
        &self,
        identity: &IdentityRecord,
        server_url: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(identity).map_err(|e| StoreError::InvalidData(e.to_string()))?;
        self.connection().execute(
            "INSERT INTO profile (id, identity, server_url, created_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET identity = excluded.identity,
                                            server_url = excluded.server_url",
            params![json, server_url, now],
        )?;
        Ok(())
    }

    /// The server this profile uses.
    pub fn server_url(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection()
            .query_row("SELECT server_url FROM profile WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// A per-profile setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets a per-profile setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.connection().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Deletes a per-profile setting.
    pub fn delete_setting(&self, key: &str) -> Result<(), StoreError> {
        self.connection()
            .execute("DELETE FROM settings WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The last queue sequence processed from `server` (0 if none).
    pub fn cursor(&self, server: &str) -> Result<u64, StoreError> {
        Ok(self
            .connection()
            .prepare_cached("SELECT last_seq FROM sync_cursors WHERE server = ?1")?
            .query_row([server], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64)
    }

    /// Moves the cursor forward to `seq` (never backward).
    pub fn advance_cursor(&self, server: &str, seq: u64) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(
                "INSERT INTO sync_cursors (server, last_seq) VALUES (?1, ?2)
             ON CONFLICT (server) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
            )?
            .execute(params![server, seq as i64])?;
        Ok(())
    }
}

-- openmls_sqlite_storage's keyed tables as WITHOUT ROWID tables.
--
-- As rowid tables, SQLite keeps each of them twice: the rows in rowid order, and an index of
-- the primary key. The crate writes with `INSERT OR REPLACE`, which for a rowid table deletes
-- the old row and appends the new one under a new rowid: every write changed the old row's
-- page, the table's last page, the index and the b-tree above them, and freed and reallocated
-- the row's overflow pages. A message (which rewrites its group's message secrets) put 4-7
-- pages into the WAL, a commit the whole ratchet tree. In a WITHOUT ROWID table the row lives
-- in the key's b-tree, and a replacement of the same size is written over the old row, page
-- by page, skipping pages whose bytes did not change: a message now writes one page, and a
-- commit only the pages of the tree it changed. docs/PERFORMANCE.md has the figures.
--
-- Every statement of the crate on these tables names the full primary key, so row order
-- never mattered. `openmls_proposals` (read back in insertion order) and
-- `openmls_own_leaf_nodes` (AUTOINCREMENT) stay as they are. Rows are copied as they are.

CREATE TABLE openmls_group_data_v6 (
    provider_version INTEGER NOT NULL,
    group_id BLOB NOT NULL,
    data_type TEXT NOT NULL,
    group_data BLOB NOT NULL,
    PRIMARY KEY (group_id, data_type)
) WITHOUT ROWID;
INSERT INTO openmls_group_data_v6 (provider_version, group_id, data_type, group_data)
SELECT provider_version, group_id, data_type, group_data FROM openmls_group_data;
DROP TABLE openmls_group_data;
ALTER TABLE openmls_group_data_v6 RENAME TO openmls_group_data;

CREATE TABLE openmls_encryption_keys_v6 (
    provider_version INTEGER NOT NULL,
    public_key BLOB PRIMARY KEY,
    key_pair BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO openmls_encryption_keys_v6 (provider_version, public_key, key_pair)
SELECT provider_version, public_key, key_pair FROM openmls_encryption_keys;
DROP TABLE openmls_encryption_keys;
ALTER TABLE openmls_encryption_keys_v6 RENAME TO openmls_encryption_keys;

CREATE TABLE openmls_epoch_keys_pairs_v6 (
    provider_version INTEGER NOT NULL,
    group_id BLOB NOT NULL,
    epoch_id BLOB NOT NULL,
    leaf_index INTEGER NOT NULL,
    key_pairs BLOB NOT NULL,
    PRIMARY KEY (group_id, epoch_id, leaf_index)
) WITHOUT ROWID;
INSERT INTO openmls_epoch_keys_pairs_v6 (provider_version, group_id, epoch_id, leaf_index, key_pairs)
SELECT provider_version, group_id, epoch_id, leaf_index, key_pairs FROM openmls_epoch_keys_pairs;
DROP TABLE openmls_epoch_keys_pairs;
ALTER TABLE openmls_epoch_keys_pairs_v6 RENAME TO openmls_epoch_keys_pairs;

CREATE TABLE openmls_key_packages_v6 (
    provider_version INTEGER NOT NULL,
    key_package_ref BLOB PRIMARY KEY,
    key_package BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO openmls_key_packages_v6 (provider_version, key_package_ref, key_package)
SELECT provider_version, key_package_ref, key_package FROM openmls_key_packages;
DROP TABLE openmls_key_packages;
ALTER TABLE openmls_key_packages_v6 RENAME TO openmls_key_packages;

CREATE TABLE openmls_psks_v6 (
    provider_version INTEGER NOT NULL,
    psk_id BLOB PRIMARY KEY,
    psk_bundle BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO openmls_psks_v6 (provider_version, psk_id, psk_bundle)
SELECT provider_version, psk_id, psk_bundle FROM openmls_psks;
DROP TABLE openmls_psks;
ALTER TABLE openmls_psks_v6 RENAME TO openmls_psks;

CREATE TABLE openmls_signature_keys_v6 (
    provider_version INTEGER NOT NULL,
    public_key BLOB PRIMARY KEY,
    signature_key BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO openmls_signature_keys_v6 (provider_version, public_key, signature_key)
SELECT provider_version, public_key, signature_key FROM openmls_signature_keys;
DROP TABLE openmls_signature_keys;
ALTER TABLE openmls_signature_keys_v6 RENAME TO openmls_signature_keys;

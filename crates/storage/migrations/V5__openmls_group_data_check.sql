-- openmls_sqlite_storage's `openmls_group_data` checks `data_type IN (...)`, and the crate
-- prepares its statements anew for every call: SQLite compiled the list into each statement
-- and built a temporary index of it for every row (V4 says more). Every MLS operation writes
-- here: each message its message secrets, each commit six rows or more. Written with `=` /
-- `OR` the check runs cheaply but compiles dearly (~10 % of a persisted commit); without it,
-- a self-update's persisting costs a quarter less. The check guarded nothing a bug could
-- reach: the only writer is that crate, which takes the value from a closed Rust enum.
-- Same table otherwise; rows and rowids copied as they are. A later openmls_sqlite_storage
-- migration that rebuilds the table again replaces this one, which is harmless (only slower).
CREATE TABLE openmls_group_data_v5 (
    provider_version INTEGER NOT NULL,
    group_id BLOB NOT NULL,
    data_type TEXT NOT NULL,
    group_data BLOB NOT NULL,
    PRIMARY KEY (group_id, data_type)
);

INSERT INTO openmls_group_data_v5 (rowid, provider_version, group_id, data_type, group_data)
SELECT rowid, provider_version, group_id, data_type, group_data FROM openmls_group_data;

DROP TABLE openmls_group_data;

ALTER TABLE openmls_group_data_v5 RENAME TO openmls_group_data;

//! Conclave patch 1: every statement through the connection's prepared-statement cache.
//!
//! Upstream prepares each statement anew on every call. A commit runs 20 to 30 of them, so
//! compiling SQL was a fifth of a small group's persisted commit. A caller should raise the
//! connection's cache capacity (rusqlite's default is 16) above the ~30 distinct statements
//! here plus its own.

use rusqlite::{Connection, Params, Row};

/// `Connection::execute` with the statement taken from the cache.
pub(crate) fn execute<P: Params>(
    connection: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}

/// `Connection::query_row` with the statement taken from the cache.
pub(crate) fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
    connection: &Connection,
    sql: &str,
    params: P,
    f: F,
) -> rusqlite::Result<T> {
    connection.prepare_cached(sql)?.query_row(params, f)
}

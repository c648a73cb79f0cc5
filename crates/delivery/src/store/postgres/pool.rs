//! The PostgreSQL store's connections: each on a thread of its own with a small runtime, so
//! that the synchronous [`super::super::DeliveryStore`] (called from tokio's blocking pool,
//! or from anywhere) runs a whole transaction there and waits for its answer; and [`Db`],
//! the one transaction a job sees, with each connection's prepared statements cached.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, sync_channel};
use std::sync::{Arc, Mutex};

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::super::StoreError;

/// Why a job failed: a refusal of the store's own, or the database's error (kept whole, so
/// that a serialization failure or a deadlock can be told apart and retried).
#[derive(Debug)]
pub(super) enum PgError {
    Store(StoreError),
    Db(tokio_postgres::Error),
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> Self {
        PgError::Store(e)
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Store(e) => e,
            PgError::Db(e) => StoreError::Internal(match e.as_db_error() {
                Some(db) => format!("postgres: {}: {}", db.code().code(), db.message()),
                None => format!("postgres: {e}"),
            }),
        }
    }
}

/// Whether the database gave up on a transaction that would succeed if run again: the
/// deadlock detector chose it, or a serialization check failed.
fn retryable(e: &PgError) -> bool {
    matches!(e, PgError::Db(e) if e.code().is_some_and(|code| {
        *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
    }))
}

/// Times a transaction the database gave up on is run again before its error is returned.
const RETRIES: usize = 8;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The store's connections: `size` threads taking jobs from one queue.
pub(super) struct Pool {
    jobs: Mutex<Sender<Job>>,
}

impl Pool {
    /// Starts `size` connection threads (each connects when its first job comes, and again
    /// after its connection is lost).
    pub(super) fn start(
        config: tokio_postgres::Config,
        size: usize,
        node: i64,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..size.max(1) {
            let rx = rx.clone();
            let config = config.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Internal(format!("postgres runtime: {e}")))?;
            std::thread::Builder::new()
                .name(format!("ds-postgres-{n}"))
                .spawn(move || {
                    let mut connection = Connection {
                        runtime,
                        config,
                        node,
                        client: None,
                        statements: RefCell::new(HashMap::new()),
                    };
                    while let Some(job) = next_job(&rx) {
                        job(&mut connection);
                    }
                })
                .map_err(|e| StoreError::Internal(e.to_string()))?;
        }
        Ok(Self {
            jobs: Mutex::new(tx),
        })
    }

    /// Runs `f` in a transaction (READ COMMITTED) on one of the connections, again when the
    /// database gives up on it for a deadlock or a serialization failure; commits if it
    /// returns `Ok`, rolls back otherwise.
    pub(super) fn transaction<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: AsyncFnMut(&Db<'_>) -> Result<T, PgError> + Send + 'static,
    {
        self.run(move |connection| connection.run(true, f))
    }

    /// Runs `f`, a read whose statements each stand alone, outside a transaction: each sees
    /// what was committed when it started.
    pub(super) fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: AsyncFnMut(&Db<'_>) -> Result<T, PgError> + Send + 'static,
    {
        self.run(move |connection| connection.run(false, f))
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply_tx, reply_rx) = sync_channel(1);
        let job: Job = Box::new(move |connection| {
            let _ = reply_tx.send(f(connection));
        });
        self.jobs
            .lock()
            .map_err(|_| StoreError::Internal("postgres pool lock poisoned".into()))?
            .send(job)
            .map_err(|_| StoreError::Internal("postgres connections stopped".into()))?;
        reply_rx
            .recv()
            .map_err(|_| StoreError::Internal("postgres connection thread stopped".into()))?
    }
}

fn next_job(rx: &Mutex<Receiver<Job>>) -> Option<Job> {
    rx.lock().ok()?.recv().ok()
}

/// One connection thread's state.
struct Connection {
    runtime: tokio::runtime::Runtime,
    config: tokio_postgres::Config,
    node: i64,
    client: Option<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
}

impl Connection {
    fn run<T, F>(&mut self, in_transaction: bool, mut f: F) -> Result<T, StoreError>
    where
        F: AsyncFnMut(&Db<'_>) -> Result<T, PgError>,
    {
        let Connection {
            runtime,
            config,
            node,
            client,
            statements,
        } = self;
        runtime.block_on(async {
            let mut attempt = 0;
            loop {
                attempt += 1;
                if client.as_ref().is_none_or(Client::is_closed) {
                    statements.borrow_mut().clear();
                    *client = Some(connect(config).await?);
                }
                let Some(connected) = client.as_mut() else {
                    continue;
                };
                if !in_transaction {
                    let db = Db {
                        tx: Session::Autocommit(connected),
                        statements,
                        node: *node,
                    };
                    match f(&db).await {
                        Err(e) if retryable(&e) && attempt <= RETRIES => continue,
                        Err(PgError::Db(e)) if e.is_closed() => {
                            *client = None;
                            return Err(PgError::Db(e).into());
                        }
                        other => return other.map_err(StoreError::from),
                    }
                }
                let db = Db {
                    tx: Session::Transaction {
                        client: connected,
                        begun: Cell::new(false),
                    },
                    statements,
                    node: *node,
                };
                let result = match f(&db).await {
                    Ok(value) => db.tx.end("COMMIT").await.map(|()| value),
                    Err(e) => {
                        // Rolled back here and now, not left for the next job to find.
                        let _ = db.tx.end("ROLLBACK").await;
                        Err(e)
                    }
                };
                match result {
                    Err(e) if retryable(&e) && attempt <= RETRIES => continue,
                    Err(PgError::Db(e)) if e.is_closed() => {
                        *client = None;
                        return Err(PgError::Db(e).into());
                    }
                    other => return other.map_err(StoreError::from),
                }
            }
        })
    }
}

/// Connects, and drives the connection on this thread's runtime.
pub(super) async fn connect(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Internal(format!("cannot connect to postgres: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection lost");
        }
    });
    Ok(client)
}

/// The transaction a job runs in, with its connection's prepared statements.
pub(super) struct Db<'a> {
    tx: Session<'a>,
    statements: &'a RefCell<HashMap<&'static str, Statement>>,
    node: i64,
}

/// Where a job's statements go: its transaction, or (a read of one statement's snapshot at a
/// time) the connection itself, which saves the round trips of `BEGIN` and `COMMIT`.
enum Session<'a> {
    /// A transaction whose `BEGIN` is sent with its first statement, in one round trip
    /// (tokio-postgres sends a request when its future is first polled, in that order), and
    /// not at all by a job that sends none.
    Transaction {
        client: &'a Client,
        begun: Cell<bool>,
    },
    Autocommit(&'a Client),
}

impl Session<'_> {
    fn client(&self) -> &Client {
        match self {
            Session::Transaction { client, .. } | Session::Autocommit(client) => client,
        }
    }

    /// `statement`, after the transaction's `BEGIN` if it is the first.
    async fn begun<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, tokio_postgres::Error> {
        match self {
            Session::Transaction { client, begun } if !begun.replace(true) => {
                let ((), out) = tokio::try_join!(client.batch_execute("BEGIN"), statement)?;
                Ok(out)
            }
            _ => statement.await,
        }
    }

    /// Ends a transaction that began (`COMMIT` or `ROLLBACK`).
    async fn end(&self, with: &str) -> Result<(), PgError> {
        match self {
            Session::Transaction { client, begun } if begun.get() => {
                Ok(client.batch_execute(with).await?)
            }
            _ => Ok(()),
        }
    }

    async fn prepare(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        self.client().prepare(sql).await
    }

    async fn query(
        &self,
        statement: &Statement,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.begun(self.client().query(statement, params)).await
    }

    async fn query_opt(
        &self,
        statement: &Statement,
        params: &Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        self.begun(self.client().query_opt(statement, params)).await
    }

    async fn query_one(
        &self,
        statement: &Statement,
        params: &Params<'_>,
    ) -> Result<Row, tokio_postgres::Error> {
        self.begun(self.client().query_one(statement, params)).await
    }

    async fn execute(
        &self,
        statement: &Statement,
        params: &Params<'_>,
    ) -> Result<u64, tokio_postgres::Error> {
        self.begun(self.client().execute(statement, params)).await
    }
}

/// A statement's parameters.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

impl Db<'_> {
    /// The node this store serves (in its notifications, so that it ignores its own).
    pub(super) fn node(&self) -> i64 {
        self.node
    }

    async fn statement(&self, sql: &'static str) -> Result<Statement, PgError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).await?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    /// Every row.
    pub(super) async fn query(
        &self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.query(&statement, params).await?)
    }

    /// The row, if there is one (an error if there are more).
    pub(super) async fn query_opt(
        &self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.query_opt(&statement, params).await?)
    }

    /// The one row.
    pub(super) async fn query_one(
        &self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Row, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.query_one(&statement, params).await?)
    }

    /// The rows changed.
    pub(super) async fn execute(
        &self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<u64, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.execute(&statement, params).await?)
    }
}

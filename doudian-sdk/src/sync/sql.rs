//! The synchroniser's SQL sink (cargo feature `sql`): SQLite as the embedded default,
//! PostgreSQL for several machines, on `sqlx` with runtime queries (no database at build
//! time).
//!
//! * `orders`: one row per `(shop_id, order_id)` with the columns an application filters
//!   on (`order_status`, `main_status`, `create_time`, `update_time`, `pay_time`,
//!   `order_amount`, `pay_amount`; Unix seconds and fen as the platform sends them) and
//!   the whole order as JSON in `body` (`JSON` in PostgreSQL: checked and kept as text,
//!   which costs far less to write than `JSONB`, and takes `->`/`->>` all the same;
//!   index `(body::jsonb)` expressions where queries need it; compressed with lz4 where
//!   the server has it, which halves the database's CPU on an initial sync); encrypted
//!   receiver fields stay as sent.
//! * `sync_checkpoints`: one row per shop, `(update_time, complete)`.
//! * `sync_leases`: which process syncs which shop until when ([`SqlSink::try_lease`]).
//!
//! The tables are created by migrations embedded in the crate, run by sqlx's migrator
//! when the sink connects (its `_sqlx_migrations` table records them; PostgreSQL takes an
//! advisory lock, so processes starting together migrate once).
//!
//! A [`store`](SyncSink::store) is one transaction: the orders are upserted, each only
//! over a row whose `update_time` is the same or older (`ON CONFLICT … DO UPDATE … WHERE
//! excluded.update_time >= orders.update_time`), and the checkpoint only forward.
//!
//! One driver for both: sqlx's `Any` pool. The statements are the same on both databases
//! but for the JSON column's cast and the database clock, chosen when connecting; the
//! application and the CLI take either URL without two code paths.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

use super::{Checkpoint, SinkError, SyncSink};
use crate::api::order::Order;

/// The database behind a [`SqlSink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (`sqlite:PATH`; the file is created when missing).
    Sqlite,
    /// PostgreSQL (`postgres://…`).
    Postgres,
}

impl Backend {
    /// The backend of a database URL, if it is one the sink takes.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The database's clock, Unix seconds, as SQL.
    fn now(self) -> &'static str {
        match self {
            Backend::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
        }
    }

    /// The placeholder of the JSON body.
    fn json(self, placeholder: &str) -> String {
        match self {
            Backend::Sqlite => placeholder.to_owned(),
            Backend::Postgres => format!("CAST({placeholder} AS JSON)"),
        }
    }

    /// The migrations, oldest first: (version, description, SQL). Never edit one that
    /// shipped (sqlx refuses a database whose applied migration's checksum changed): add
    /// the next.
    fn migrations(self) -> &'static [(i64, &'static str, &'static str)] {
        const TABLES: &str = "orders, sync_checkpoints, sync_leases";
        match self {
            Backend::Sqlite => &[(1, TABLES, include_str!("sql/sqlite_001_orders.sql"))],
            Backend::Postgres => &[
                (1, TABLES, include_str!("sql/postgres_001_orders.sql")),
                (2, "lz4 for order bodies", include_str!("sql/postgres_002_lz4_body.sql")),
            ],
        }
    }
}

/// A failure of the SQL sink: connecting, migrating or a statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The URL is not `sqlite:…` or `postgres://…`.
    #[error("`{0}` is not a database URL the order sink takes: use sqlite:PATH or postgres://USER@HOST/DB")]
    Url(String),
    /// The database refused or failed.
    #[error("{context}: {source}")]
    Database {
        /// What the sink was doing.
        context: &'static str,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// The embedded migrations failed.
    #[error("migrating the order tables: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An order that cannot be stored.
    #[error("order {order_id}: {message}")]
    Order {
        /// The order id, when it has one.
        order_id: String,
        /// Why.
        message: String,
    },
}

fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> SqlError {
    move |source| SqlError::Database { context, source }
}

/// The embedded migrations of one backend, for sqlx's migrator.
#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let migrations = self.0.migrations().iter().map(|&(version, description, sql)| {
            Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
        });
        let migrations = migrations.collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// A row of `orders` without its body, for checks and reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct StoredOrder {
    /// The shop.
    pub shop_id: String,
    /// The order id.
    pub order_id: String,
    /// `order_status`.
    pub order_status: Option<i64>,
    /// `update_time`, Unix seconds.
    pub update_time: i64,
}

/// A lease row: `holder` syncs `shop_id` until `expires_at` (the database's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The shop.
    pub shop_id: String,
    /// Who holds it.
    pub holder: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The SQL sink: `SqlSink::connect("sqlite:orders.db")` or `("postgres://…")`.
#[derive(Clone)]
pub struct SqlSink {
    pool: AnyPool,
    backend: Backend,
}

impl fmt::Debug for SqlSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSink").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl SqlSink {
    /// Connects to `url` (`sqlite:PATH`, created when missing, or `postgres://…`) and
    /// creates or updates the tables.
    pub async fn connect(url: &str) -> Result<SqlSink, SqlError> {
        let backend = Backend::of_url(url).ok_or_else(|| SqlError::Url(url.to_owned()))?;
        sqlx::any::install_default_drivers();
        let url = match backend {
            // Create the file when missing.
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            // WAL: readers do not block the writer; a busy database is waited for, since
            // several processes (or the leases of several) may share the file. NORMAL
            // synchronisation stays consistent through a crash of the process.
            options = options.max_connections(4).after_connect(sqlite_pragmas);
        } else {
            options = options.max_connections(8);
        }
        let pool = options.connect(&url).await.map_err(db("connecting to the order database"))?;
        Self::from_pool(pool, backend).await
    }

    /// The sink on an open pool of `backend`; creates or updates the tables.
    pub async fn from_pool(pool: AnyPool, backend: Backend) -> Result<SqlSink, SqlError> {
        Migrator::new(Embedded(backend)).await?.run(&pool).await?;
        Ok(SqlSink { pool, backend })
    }

    /// The database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Stores the orders and moves the checkpoint, in one transaction.
    pub async fn store_orders(
        &self,
        shop: &str,
        orders: &[Order],
        checkpoint: Option<Checkpoint>,
    ) -> Result<(), SqlError> {
        // One version per order (the newest; PostgreSQL refuses to upsert a row twice in
        // one statement), then one multi-row statement per 100 orders.
        let mut newest: std::collections::HashMap<String, OrderRow> = std::collections::HashMap::new();
        for row in orders.iter().map(row_of) {
            let row = row?;
            match newest.get(&row.order_id) {
                Some(kept) if kept.update_time > row.update_time => {}
                _ => {
                    newest.insert(row.order_id.clone(), row);
                }
            }
        }
        let rows: Vec<OrderRow> = newest.into_values().collect();
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let statement = upsert_orders(self.backend, chunk.len());
            let mut query = sqlx::query(&statement);
            for row in chunk {
                query = query
                    .bind(shop)
                    .bind(row.order_id.as_str())
                    .bind(row.order_status)
                    .bind(row.main_status)
                    .bind(row.create_time)
                    .bind(row.update_time)
                    .bind(row.pay_time)
                    .bind(row.order_amount)
                    .bind(row.pay_amount)
                    .bind(row.body.as_str());
            }
            query.execute(&mut *tx).await.map_err(db("storing orders"))?;
        }
        if let Some(checkpoint) = checkpoint {
            let statement = format!(
                "INSERT INTO sync_checkpoints (shop_id, update_time, complete, saved_at) VALUES ($1, $2, $3, {now}) \
                 ON CONFLICT (shop_id) DO UPDATE SET update_time = excluded.update_time, \
                 complete = excluded.complete, saved_at = excluded.saved_at \
                 WHERE excluded.update_time > sync_checkpoints.update_time \
                 OR (excluded.update_time = sync_checkpoints.update_time \
                 AND excluded.complete >= sync_checkpoints.complete)",
                now = self.backend.now()
            );
            sqlx::query(&statement)
                .bind(shop)
                .bind(checkpoint.update_time)
                .bind(i64::from(checkpoint.complete))
                .execute(&mut *tx)
                .await
                .map_err(db("saving the checkpoint"))?;
        }
        tx.commit().await.map_err(db("committing orders and checkpoint"))
    }

    /// The stored checkpoint of `shop`.
    pub async fn load_checkpoint(&self, shop: &str) -> Result<Option<Checkpoint>, SqlError> {
        let row = sqlx::query("SELECT update_time, complete FROM sync_checkpoints WHERE shop_id = $1")
            .bind(shop)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading the checkpoint"))?;
        row.map(|row| checkpoint_of(&row)).transpose()
    }

    /// Every shop's checkpoint, by shop id.
    pub async fn checkpoints(&self) -> Result<Vec<(String, Checkpoint)>, SqlError> {
        let rows = sqlx::query("SELECT shop_id, update_time, complete FROM sync_checkpoints ORDER BY shop_id")
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading the checkpoints"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("shop_id").map_err(db("reading a checkpoint"))?, checkpoint_of(row)?)))
            .collect()
    }

    /// The stored orders (without their bodies), of one shop or of all, sorted.
    pub async fn stored_orders(&self, shop: Option<&str>) -> Result<Vec<StoredOrder>, SqlError> {
        let query = match shop {
            Some(shop) => sqlx::query(
                "SELECT shop_id, order_id, order_status, update_time FROM orders WHERE shop_id = $1 \
                 ORDER BY shop_id, order_id",
            )
            .bind(shop.to_owned()),
            None => sqlx::query(
                "SELECT shop_id, order_id, order_status, update_time FROM orders ORDER BY shop_id, order_id",
            ),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(db("reading the orders"))?;
        rows.iter()
            .map(|row| {
                Ok(StoredOrder {
                    shop_id: row.try_get("shop_id")?,
                    order_id: row.try_get("order_id")?,
                    order_status: row.try_get("order_status")?,
                    update_time: row.try_get("update_time")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("reading an order"))
    }

    /// The stored JSON of one order, as text.
    pub async fn order_body(&self, shop: &str, order_id: &str) -> Result<Option<String>, SqlError> {
        let select = match self.backend {
            Backend::Sqlite => "SELECT body FROM orders WHERE shop_id = $1 AND order_id = $2",
            Backend::Postgres => "SELECT CAST(body AS TEXT) AS body FROM orders WHERE shop_id = $1 AND order_id = $2",
        };
        let row = sqlx::query(select)
            .bind(shop)
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading an order"))?;
        row.map(|row| row.try_get("body")).transpose().map_err(db("reading an order"))
    }

    /// Takes or renews `holder`'s lease on `shop` for `ttl`: `true` when `holder` holds it
    /// now (it was free, expired, or already `holder`'s), `false` while another holder's
    /// lease runs. Expiry is judged by the database's clock, so the processes' clocks
    /// need not agree.
    ///
    /// An atomic upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE` the lease is the
    /// holder's or expired): one statement, so two processes cannot both win, on
    /// PostgreSQL and SQLite alike. A holder that dies stops renewing, and its shops go to
    /// the next process that asks once `ttl` has passed.
    pub async fn try_lease(&self, shop: &str, holder: &str, ttl: Duration) -> Result<bool, SqlError> {
        let statement = format!(
            "INSERT INTO sync_leases (shop_id, holder, expires_at) VALUES ($1, $2, {now} + $3) \
             ON CONFLICT (shop_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE sync_leases.holder = excluded.holder OR sync_leases.expires_at <= {now}",
            now = self.backend.now()
        );
        let ttl = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX / 2);
        let done = sqlx::query(&statement)
            .bind(shop)
            .bind(holder)
            .bind(ttl)
            .execute(&self.pool)
            .await
            .map_err(db("taking a lease"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up `holder`'s lease on `shop` (nothing when another holds it).
    pub async fn release_lease(&self, shop: &str, holder: &str) -> Result<(), SqlError> {
        sqlx::query("DELETE FROM sync_leases WHERE shop_id = $1 AND holder = $2")
            .bind(shop)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(db("releasing a lease"))?;
        Ok(())
    }

    /// Every lease row (running or expired), by shop.
    pub async fn leases(&self) -> Result<Vec<Lease>, SqlError> {
        let rows = sqlx::query("SELECT shop_id, holder, expires_at FROM sync_leases ORDER BY shop_id")
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading the leases"))?;
        rows.iter()
            .map(|row| {
                Ok(Lease {
                    shop_id: row.try_get("shop_id")?,
                    holder: row.try_get("holder")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("reading a lease"))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Orders per upsert statement: 1,000 parameters, within SQLite's and PostgreSQL's limits.
const ROWS_PER_STATEMENT: usize = 100;

/// The upsert of `rows` orders (10 parameters each): a row is replaced only by a version
/// at least as new.
fn upsert_orders(backend: Backend, rows: usize) -> String {
    let mut values = String::with_capacity(rows * 80);
    for row in 0..rows {
        let p = row * 10;
        if row > 0 {
            values.push_str(", ");
        }
        values.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, {}, {})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8,
            p + 9,
            backend.json(&format!("${}", p + 10)),
            backend.now()
        ));
    }
    format!(
        "INSERT INTO orders (shop_id, order_id, order_status, main_status, create_time, update_time, pay_time, \
         order_amount, pay_amount, body, stored_at) VALUES {values} \
         ON CONFLICT (shop_id, order_id) DO UPDATE SET order_status = excluded.order_status, \
         main_status = excluded.main_status, create_time = excluded.create_time, \
         update_time = excluded.update_time, pay_time = excluded.pay_time, \
         order_amount = excluded.order_amount, pay_amount = excluded.pay_amount, body = excluded.body, \
         stored_at = excluded.stored_at \
         WHERE excluded.update_time >= orders.update_time"
    )
}

fn sqlite_pragmas(
    conn: &mut sqlx::AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 30000", "PRAGMA synchronous = NORMAL"] {
            sqlx::query(pragma).execute(&mut *conn).await?;
        }
        Ok(())
    })
}

fn checkpoint_of(row: &AnyRow) -> Result<Checkpoint, SqlError> {
    let update_time: i64 = row.try_get("update_time").map_err(db("reading a checkpoint"))?;
    let complete: i64 = row.try_get("complete").map_err(db("reading a checkpoint"))?;
    Ok(Checkpoint { update_time, complete: complete != 0 })
}

/// The columns of one order.
struct OrderRow {
    order_id: String,
    order_status: Option<i64>,
    main_status: Option<i64>,
    create_time: Option<i64>,
    update_time: i64,
    pay_time: Option<i64>,
    order_amount: Option<i64>,
    pay_amount: Option<i64>,
    body: String,
}

fn row_of(order: &Order) -> Result<OrderRow, SqlError> {
    let order_id = order.order_id.as_ref().map(ToString::to_string);
    let cannot = |message: &str| SqlError::Order {
        order_id: order_id.clone().unwrap_or_else(|| "(none)".to_owned()),
        message: message.to_owned(),
    };
    let update_time = order.update_time.ok_or_else(|| cannot("no update_time"))?;
    let body = serde_json::to_string(order).map_err(|e| cannot(&format!("cannot be written as JSON: {e}")))?;
    Ok(OrderRow {
        order_id: order_id.clone().ok_or_else(|| cannot("no order_id"))?,
        order_status: order.order_status.map(|s| s.code()),
        main_status: order.main_status.map(|s| s.code()),
        create_time: order.create_time,
        update_time,
        pay_time: order.pay_time,
        order_amount: order.order_amount,
        pay_amount: order.pay_amount,
        body,
    })
}

impl SyncSink for SqlSink {
    fn store<'a>(
        &'a self,
        shop: &'a str,
        orders: &'a [Order],
        checkpoint: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move { Ok(self.store_orders(shop, orders, checkpoint).await?) })
    }

    fn checkpoint<'a>(&'a self, shop: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, SinkError>> {
        Box::pin(async move { Ok(self.load_checkpoint(shop).await?) })
    }
}

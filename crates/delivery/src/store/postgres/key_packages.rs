//! Key packages on PostgreSQL: publishing within a device's limit (its row locked), and
//! claims that hand each one-time package out once across nodes (`FOR UPDATE SKIP LOCKED`:
//! a claim never waits for another's package, it takes the next, or the last resort).

use conclave_delivery_api::{ClaimResponse, ClaimedKeyPackage, KeyPackageStock};

use super::super::rules::{as_seconds, now};
use super::super::{KeyPackageEntry, Nonce, StoreError};
use super::devices::{insert_nonce, seen};
use super::pool::{Db, PgError};

pub(super) async fn stock(db: &Db<'_>, device: i64) -> Result<KeyPackageStock, PgError> {
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE NOT last_resort), COUNT(*) FILTER (WHERE last_resort)
             FROM key_packages WHERE device_id = $1 AND not_after >= $2",
            &[&device, &as_seconds(now())],
        )
        .await?;
    Ok(KeyPackageStock {
        available: u32::try_from(row.try_get::<_, i64>(0)?).unwrap_or(u32::MAX),
        has_last_resort: row.try_get::<_, i64>(1)? > 0,
    })
}

pub(super) async fn publish(
    db: &Db<'_>,
    device: i64,
    key_packages: &[KeyPackageEntry],
    last_resort: Option<&KeyPackageEntry>,
    max: u32,
    nonce: &Nonce,
) -> Result<KeyPackageStock, PgError> {
    insert_nonce(db, device, nonce).await?;
    // Locks the device's row: two publications of one device count each other's packages.
    seen(db, device).await?;
    let before = stock(db, device).await?;
    if before.available as usize + key_packages.len() > max as usize {
        return Err(StoreError::TooManyKeyPackages { max }.into());
    }
    let data: Vec<&[u8]> = key_packages.iter().map(|kp| kp.data.as_slice()).collect();
    let not_after: Vec<i64> = key_packages
        .iter()
        .map(|kp| as_seconds(kp.not_after))
        .collect();
    db.execute(
        "INSERT INTO key_packages (device_id, data, last_resort, not_after)
         SELECT $1, data, FALSE, not_after FROM unnest($2::bytea[], $3::bigint[])
             AS t(data, not_after)",
        &[&device, &data, &not_after],
    )
    .await?;
    if let Some(kp) = last_resort {
        db.execute(
            "DELETE FROM key_packages WHERE device_id = $1 AND last_resort",
            &[&device],
        )
        .await?;
        db.execute(
            "INSERT INTO key_packages (device_id, data, last_resort, not_after)
             VALUES ($1, $2, TRUE, $3)",
            &[&device, &kp.data, &as_seconds(kp.not_after)],
        )
        .await?;
    }
    stock(db, device).await
}

pub(super) async fn claim(
    db: &Db<'_>,
    by: i64,
    user: &str,
    device: Option<&str>,
    one_time: bool,
    nonce: &Nonce,
) -> Result<ClaimResponse, PgError> {
    insert_nonce(db, by, nonce).await?;
    let devices = db
        .query(
            "SELECT d.id, d.name FROM devices d JOIN users u ON u.id = d.user_id
             WHERE u.name = $1 AND d.revoked_at IS NULL AND ($2::text IS NULL OR d.name = $2)
             ORDER BY d.id",
            &[&user, &device],
        )
        .await?;
    if devices.is_empty() {
        return Err(StoreError::NoSuchUser(user.to_owned()).into());
    }
    let mut response = ClaimResponse {
        user: user.to_owned(),
        key_packages: Vec::new(),
        unavailable: Vec::new(),
    };
    let now = as_seconds(now());
    for row in devices {
        let (id, name): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        // A one-time package first (deleted as it is handed out; one another claim holds
        // is skipped, not waited for), else the last-resort one (never deleted).
        let one = if one_time {
            db.query_opt(
                "DELETE FROM key_packages WHERE id = (
                     SELECT id FROM key_packages
                     WHERE device_id = $1 AND NOT last_resort AND not_after >= $2
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING data",
                &[&id, &now],
            )
            .await?
        } else {
            None
        };
        let (found, last_resort) = match one {
            Some(row) => (Some(row), false),
            None => (
                db.query_opt(
                    "SELECT data FROM key_packages
                     WHERE device_id = $1 AND last_resort AND not_after >= $2
                     ORDER BY id LIMIT 1",
                    &[&id, &now],
                )
                .await?,
                true,
            ),
        };
        match found {
            Some(row) => response.key_packages.push(ClaimedKeyPackage {
                device: name,
                key_package: row.try_get::<_, Vec<u8>>(0)?.into(),
                last_resort,
            }),
            None => response.unavailable.push(name),
        }
    }
    Ok(response)
}

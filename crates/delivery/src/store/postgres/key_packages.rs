//! Key packages on PostgreSQL: publishing within a device's limit (its row locked), and
//! claims that hand each one-time package out once across nodes (`FOR UPDATE SKIP LOCKED`:
//! a claim never waits for another's package, it takes the next, or the last resort).

use conclave_delivery_api::{ClaimResponse, ClaimedKeyPackage, KeyPackageStock, KeyPackageStocks};

use super::super::rules::{as_seconds, now};
use super::super::{KeyPackageEntry, Nonce, StoreError};
use super::devices::{insert_nonce, seen};
use super::pool::{Db, PgError};

/// A device's publication of packages in one suite.
pub(super) struct Publication<'a> {
    pub(super) device: i64,
    pub(super) ciphersuite: u16,
    pub(super) key_packages: &'a [KeyPackageEntry],
    pub(super) last_resort: Option<&'a KeyPackageEntry>,
    /// The most one-time packages the device may keep in the suite.
    pub(super) max: u32,
}

/// A claim of one package per device of a user.
pub(super) struct Claim<'a> {
    pub(super) by: i64,
    pub(super) user: &'a str,
    pub(super) device: Option<&'a str>,
    /// Absent: each device's registered suite.
    pub(super) ciphersuite: Option<u16>,
    pub(super) one_time: bool,
}

pub(super) async fn stocks(db: &Db<'_>, device: i64) -> Result<KeyPackageStocks, PgError> {
    let rows = db
        .query(
            "SELECT ciphersuite, COUNT(*) FILTER (WHERE NOT last_resort),
                    COUNT(*) FILTER (WHERE last_resort)
             FROM key_packages WHERE device_id = $1 AND not_after >= $2
             GROUP BY ciphersuite ORDER BY ciphersuite",
            &[&device, &as_seconds(now())],
        )
        .await?;
    let suites = rows
        .iter()
        .map(|row| {
            Ok(KeyPackageStock {
                ciphersuite: suite(row.try_get(0)?)?,
                available: u32::try_from(row.try_get::<_, i64>(1)?).unwrap_or(u32::MAX),
                has_last_resort: row.try_get::<_, i64>(2)? > 0,
            })
        })
        .collect::<Result<_, PgError>>()?;
    Ok(KeyPackageStocks { suites })
}

fn suite(value: i32) -> Result<u16, PgError> {
    u16::try_from(value)
        .map_err(|_| StoreError::Internal(format!("stored ciphersuite {value}")).into())
}

pub(super) async fn publish(
    db: &Db<'_>,
    new: &Publication<'_>,
    nonce: &Nonce,
) -> Result<KeyPackageStock, PgError> {
    let (device, ciphersuite) = (new.device, i32::from(new.ciphersuite));
    insert_nonce(db, device, nonce).await?;
    // Locks the device's row: two publications of one device count each other's packages.
    seen(db, device).await?;
    let before = stocks(db, device).await?.of(new.ciphersuite);
    if before.available as usize + new.key_packages.len() > new.max as usize {
        return Err(StoreError::TooManyKeyPackages { max: new.max }.into());
    }
    let data: Vec<&[u8]> = new
        .key_packages
        .iter()
        .map(|kp| kp.data.as_slice())
        .collect();
    let not_after: Vec<i64> = new
        .key_packages
        .iter()
        .map(|kp| as_seconds(kp.not_after))
        .collect();
    db.execute(
        "INSERT INTO key_packages (device_id, ciphersuite, data, last_resort, not_after)
         SELECT $1, $2, data, FALSE, not_after FROM unnest($3::bytea[], $4::bigint[])
             AS t(data, not_after)",
        &[&device, &ciphersuite, &data, &not_after],
    )
    .await?;
    if let Some(kp) = new.last_resort {
        db.execute(
            "DELETE FROM key_packages WHERE device_id = $1 AND ciphersuite = $2 AND last_resort",
            &[&device, &ciphersuite],
        )
        .await?;
        db.execute(
            "INSERT INTO key_packages (device_id, ciphersuite, data, last_resort, not_after)
             VALUES ($1, $2, $3, TRUE, $4)",
            &[&device, &ciphersuite, &kp.data, &as_seconds(kp.not_after)],
        )
        .await?;
    }
    Ok(stocks(db, device).await?.of(new.ciphersuite))
}

pub(super) async fn claim(
    db: &Db<'_>,
    claim: &Claim<'_>,
    nonce: &Nonce,
) -> Result<ClaimResponse, PgError> {
    let (user, one_time) = (claim.user, claim.one_time);
    insert_nonce(db, claim.by, nonce).await?;
    let devices = db
        .query(
            "SELECT d.id, d.name, d.ciphersuite FROM devices d JOIN users u ON u.id = d.user_id
             WHERE u.name = $1 AND d.revoked_at IS NULL AND ($2::text IS NULL OR d.name = $2)
             ORDER BY d.id",
            &[&user, &claim.device],
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
        let suite = match claim.ciphersuite {
            Some(asked) => i32::from(asked),
            None => row.try_get::<_, i32>(2)?,
        };
        // A one-time package first (deleted as it is handed out; one another claim holds
        // is skipped, not waited for), else the last-resort one (never deleted).
        let one = if one_time {
            db.query_opt(
                "DELETE FROM key_packages WHERE id = (
                     SELECT id FROM key_packages
                     WHERE device_id = $1 AND ciphersuite = $2 AND NOT last_resort
                       AND not_after >= $3
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING data",
                &[&id, &suite, &now],
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
                     WHERE device_id = $1 AND ciphersuite = $2 AND last_resort AND not_after >= $3
                     ORDER BY id LIMIT 1",
                    &[&id, &suite, &now],
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

//! Users and devices on PostgreSQL: registration, grants, revocation, the directory, and the
//! nonces every write stores. A change bounded per user (devices, grants) locks the user's
//! row first, so that two nodes adding devices at once still count each other's.

use conclave_delivery_api::{DeviceGrant, DeviceInfo};

use super::super::rules::now;
use super::super::{DeviceRecord, Nonce, StoreError};
use super::notify;
use super::pool::{Db, PgError};
use super::queue::dequeue_device;

/// Stores a write's nonce; a nonce seen before (on any node) is a replay. Refused too for a
/// device revoked meanwhile: a node that has not yet heard of a revocation on another still
/// lets the revoked device write nothing.
pub(super) async fn insert_nonce(db: &Db<'_>, device: i64, nonce: &Nonce) -> Result<(), PgError> {
    let inserted = db
        .execute(
            "INSERT INTO nonces (device_id, nonce, expires_at)
             SELECT $1, $2, $3 WHERE NOT EXISTS
                 (SELECT 1 FROM devices WHERE id = $1 AND revoked_at IS NOT NULL)
             ON CONFLICT DO NOTHING",
            &[&device, &nonce.nonce, &(nonce.expires_at as i64)],
        )
        .await?;
    if inserted == 0 {
        let revoked = db
            .query_opt(
                "SELECT 1 FROM devices WHERE id = $1 AND revoked_at IS NOT NULL",
                &[&device],
            )
            .await?;
        return Err(match revoked {
            Some(_) => StoreError::DeviceRevoked,
            None => StoreError::Replay,
        }
        .into());
    }
    Ok(())
}

/// The user of `device`, its row locked until the transaction ends.
pub(super) async fn lock_user_of(db: &Db<'_>, device: i64) -> Result<i64, PgError> {
    let row = db
        .query_one(
            "SELECT id FROM users WHERE id = (SELECT user_id FROM devices WHERE id = $1)
             FOR UPDATE",
            &[&device],
        )
        .await?;
    Ok(row.try_get(0)?)
}

async fn live_devices(db: &Db<'_>, user_id: i64) -> Result<i64, PgError> {
    let row = db
        .query_one(
            "SELECT COUNT(*) FROM devices WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user_id],
        )
        .await?;
    Ok(row.try_get(0)?)
}

async fn insert_device(
    db: &Db<'_>,
    user_id: i64,
    user: &str,
    device: &str,
    key: &[u8],
    ciphersuite: u16,
) -> Result<DeviceRecord, PgError> {
    let row = db
        .query_opt(
            "INSERT INTO devices (user_id, name, signature_key, ciphersuite, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, name) DO NOTHING RETURNING id",
            &[
                &user_id,
                &device,
                &key,
                &i32::from(ciphersuite),
                &(now() as i64),
            ],
        )
        .await?;
    let Some(row) = row else {
        return Err(StoreError::NameTaken(format!("{user}/{device}")).into());
    };
    Ok(DeviceRecord {
        id: row.try_get(0)?,
        user: user.to_owned(),
        device: device.to_owned(),
        signature_key: key.to_vec(),
        ciphersuite,
        revoked: false,
    })
}

/// Notes that a device showed signs of life (and locks its row).
pub(super) async fn seen(db: &Db<'_>, device: i64) -> Result<(), PgError> {
    db.execute(
        "UPDATE devices SET last_seen = $2 WHERE id = $1",
        &[&device, &(now() as i64)],
    )
    .await?;
    Ok(())
}

fn ciphersuite(value: i32) -> Result<u16, PgError> {
    u16::try_from(value)
        .map_err(|_| StoreError::Internal(format!("stored ciphersuite {value}")).into())
}

fn record(r: &tokio_postgres::Row) -> Result<DeviceRecord, PgError> {
    Ok(DeviceRecord {
        id: r.try_get(0)?,
        user: r.try_get(1)?,
        device: r.try_get(2)?,
        signature_key: r.try_get(3)?,
        ciphersuite: ciphersuite(r.try_get(4)?)?,
        revoked: r.try_get(5)?,
    })
}

pub(super) async fn all_devices(db: &Db<'_>) -> Result<Vec<DeviceRecord>, PgError> {
    db.query(
        "SELECT d.id, u.name, d.name, d.signature_key, d.ciphersuite, d.revoked_at IS NOT NULL
         FROM devices d JOIN users u ON u.id = d.user_id",
        &[],
    )
    .await?
    .iter()
    .map(record)
    .collect()
}

pub(super) async fn devices_named(
    db: &Db<'_>,
    names: &[(String, String)],
) -> Result<Vec<DeviceRecord>, PgError> {
    let (users, devices): (Vec<&str>, Vec<&str>) = names
        .iter()
        .map(|(user, device)| (user.as_str(), device.as_str()))
        .unzip();
    db.query(
        "SELECT d.id, u.name, d.name, d.signature_key, d.ciphersuite, d.revoked_at IS NOT NULL
         FROM unnest($1::text[], $2::text[]) AS n(user_name, device_name)
         JOIN users u ON u.name = n.user_name
         JOIN devices d ON d.user_id = u.id AND d.name = n.device_name",
        &[&users, &devices],
    )
    .await?
    .iter()
    .map(record)
    .collect()
}

/// See [`super::super::DeliveryStore::register`].
pub(super) struct Registration<'a> {
    pub(super) user: &'a str,
    pub(super) device: &'a str,
    pub(super) key: &'a [u8],
    pub(super) ciphersuite: u16,
    pub(super) max_devices: u32,
}

pub(super) async fn register(
    db: &Db<'_>,
    new: &Registration<'_>,
    nonce: &Nonce,
) -> Result<DeviceRecord, PgError> {
    let created = db
        .query_opt(
            "INSERT INTO users (name, created_at) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&new.user, &(now() as i64)],
        )
        .await?;
    let user_id = match created {
        Some(row) => row.try_get(0)?,
        None => {
            // An existing user: only a device one of its devices granted, with that key.
            db.query_one(
                "SELECT id FROM users WHERE name = $1 FOR UPDATE",
                &[&new.user],
            )
            .await?;
            let granted = db
                .query_opt(
                    "DELETE FROM device_grants
                     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND name = $2
                       AND signature_key = $3 AND ciphersuite = $4 AND expires_at >= $5
                     RETURNING user_id",
                    &[
                        &new.user,
                        &new.device,
                        &new.key,
                        &i32::from(new.ciphersuite),
                        &(now() as i64),
                    ],
                )
                .await?;
            let Some(granted) = granted else {
                return Err(StoreError::NameTaken(new.user.to_owned()).into());
            };
            let user_id: i64 = granted.try_get(0)?;
            if live_devices(db, user_id).await? >= i64::from(new.max_devices) {
                return Err(StoreError::TooManyDevices {
                    max: new.max_devices,
                }
                .into());
            }
            user_id
        }
    };
    let record = insert_device(db, user_id, new.user, new.device, new.key, new.ciphersuite).await?;
    insert_nonce(db, record.id, nonce).await?;
    notify::device_changed(db, new.user, new.device).await?;
    Ok(record)
}

pub(super) async fn grant_device(
    db: &Db<'_>,
    by: &DeviceRecord,
    grant: &DeviceGrant,
    expires_at: u64,
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by.id, nonce).await?;
    let user_id = lock_user_of(db, by.id).await?;
    let taken = db
        .query_opt(
            "SELECT 1 FROM devices WHERE user_id = $1 AND name = $2",
            &[&user_id, &grant.device],
        )
        .await?;
    if taken.is_some() {
        return Err(StoreError::NameTaken(format!("{}/{}", by.user, grant.device)).into());
    }
    db.execute(
        "INSERT INTO device_grants (user_id, name, signature_key, ciphersuite, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, name) DO UPDATE SET signature_key = excluded.signature_key,
             ciphersuite = excluded.ciphersuite, expires_at = excluded.expires_at",
        &[
            &user_id,
            &grant.device,
            &grant.signature_key.0,
            &i32::from(grant.ciphersuite),
            &(expires_at as i64),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn revoke_device(
    db: &Db<'_>,
    by: &DeviceRecord,
    device: &str,
    nonce: &Nonce,
) -> Result<DeviceRecord, PgError> {
    insert_nonce(db, by.id, nonce).await?;
    let user_id = lock_user_of(db, by.id).await?;
    let found = db
        .query_opt(
            "SELECT id, signature_key, ciphersuite FROM devices
             WHERE user_id = $1 AND name = $2 AND revoked_at IS NULL",
            &[&user_id, &device],
        )
        .await?;
    let Some(found) = found else {
        return Err(StoreError::NoSuchDevice(format!("{}/{device}", by.user)).into());
    };
    let id: i64 = found.try_get(0)?;
    db.execute(
        "UPDATE devices SET revoked_at = $2 WHERE id = $1",
        &[&id, &(now() as i64)],
    )
    .await?;
    db.execute("DELETE FROM group_members WHERE device_id = $1", &[&id])
        .await?;
    db.execute("DELETE FROM key_packages WHERE device_id = $1", &[&id])
        .await?;
    dequeue_device(db, id, i64::MAX, None).await?;
    notify::device_changed(db, &by.user, device).await?;
    Ok(DeviceRecord {
        id,
        user: by.user.clone(),
        device: device.to_owned(),
        signature_key: found.try_get(1)?,
        ciphersuite: ciphersuite(found.try_get(2)?)?,
        revoked: true,
    })
}

pub(super) async fn add_device(
    db: &Db<'_>,
    by: &DeviceRecord,
    new: &Registration<'_>,
    nonce: &Nonce,
) -> Result<DeviceRecord, PgError> {
    insert_nonce(db, by.id, nonce).await?;
    let user_id = lock_user_of(db, by.id).await?;
    if live_devices(db, user_id).await? >= i64::from(new.max_devices) {
        return Err(StoreError::TooManyDevices {
            max: new.max_devices,
        }
        .into());
    }
    let record = insert_device(db, user_id, &by.user, new.device, new.key, new.ciphersuite).await?;
    notify::device_changed(db, &by.user, new.device).await?;
    Ok(record)
}

pub(super) async fn user_devices(db: &Db<'_>, user: &str) -> Result<Vec<DeviceInfo>, PgError> {
    let devices = db
        .query(
            "SELECT d.name, d.signature_key, d.ciphersuite, d.created_at, d.last_seen,
                    d.revoked_at
             FROM devices d JOIN users u ON u.id = d.user_id
             WHERE u.name = $1 ORDER BY d.id",
            &[&user],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceInfo {
                device: r.try_get(0)?,
                signature_key: r.try_get::<_, Vec<u8>>(1)?.into(),
                ciphersuite: ciphersuite(r.try_get(2)?)?,
                added_at: r.try_get::<_, i64>(3)? as u64,
                last_seen: r.try_get::<_, Option<i64>>(4)?.map(|t| t as u64),
                revoked_at: r.try_get::<_, Option<i64>>(5)?.map(|t| t as u64),
            })
        })
        .collect::<Result<Vec<_>, PgError>>()?;
    if devices.is_empty() {
        return Err(StoreError::NoSuchUser(user.to_owned()).into());
    }
    Ok(devices)
}

/// A device's `user/device` name.
pub(super) async fn device_ref(
    db: &Db<'_>,
    id: i64,
) -> Result<conclave_delivery_api::DeviceRef, PgError> {
    let row = db
        .query_one(
            "SELECT u.name, d.name FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = $1",
            &[&id],
        )
        .await?;
    Ok(conclave_delivery_api::DeviceRef {
        user: row.try_get(0)?,
        device: row.try_get(1)?,
    })
}

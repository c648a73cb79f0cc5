//! The device at the server: registration, and the stock of key packages others add it by.

use std::time::{Duration, Instant};

use conclave_delivery_api::{ErrorCode, KeyPackageStock, PublishKeyPackages, RegisterRequest};
use conclave_protocol::CipherSuite;

use super::{Engine, now_ms};
use crate::{ClientError, Result};

/// Setting: the device is registered at the server.
const REGISTERED: &str = "registered";
/// How often the key-package stock is checked.
const STOCK_CHECK: Duration = Duration::from_secs(600);

impl Engine {
    /// Registers this device unless that is already recorded. A crash after the server
    /// registered us but before we recorded it is recognised: the server then accepts our
    /// signature.
    pub(crate) async fn ensure_registered(&mut self) -> Result<()> {
        if self
            .store
            .lock()
            .transaction()?
            .setting(REGISTERED)?
            .as_deref()
            == Some("1")
        {
            return Ok(());
        }
        let request = RegisterRequest {
            signature_key: self.identity.signature_public_key().to_vec().into(),
            ciphersuite: self.identity.ciphersuite().code_point(),
        };
        match self.ds.register(&request).await {
            Ok(_) => {}
            Err(ClientError::Server {
                code: ErrorCode::NameTaken,
                ..
            }) => {
                // Ours (registered before a crash) if the server accepts our signature.
                match self.ds.key_package_stock().await {
                    Ok(_) => {}
                    Err(ClientError::Server {
                        code: ErrorCode::Unauthorized,
                        ..
                    }) => {
                        return Err(ClientError::NameTaken(
                            self.identity.member().user.to_string(),
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        tx.set_setting(REGISTERED, "1")?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps the server's stock of this device's key packages at the configured level in
    /// each suite the device takes part in, replaces each suite's last-resort package when it
    /// is due, and deletes the private keys of packages no Welcome can use any more.
    pub(crate) async fn top_up_key_packages(&mut self) -> Result<u32> {
        self.top_up_key_packages_to(self.config.key_package_stock)
            .await
    }

    /// [`Engine::top_up_key_packages`] to `target` one-time packages in the device's own
    /// suite: more than the usual stock for a linked device about to be added to many
    /// conversations at once (each Welcome uses one). Returns how many one-time packages were
    /// published, in all suites.
    pub(crate) async fn top_up_key_packages_to(&mut self, target: u32) -> Result<u32> {
        self.forget_used_up_key_packages()?;
        let own = self.identity.ciphersuite();
        {
            let mut store = self.store.lock();
            let tx = store.transaction()?;
            tx.adopt_unsorted_key_packages(own)?;
            tx.commit()?;
        }
        let stocks = self.ds.key_package_stock().await?;
        self.last_stock_check = Some(Instant::now());
        let mut published = 0;
        for suite in self.suites() {
            let target = if suite == own {
                target
            } else {
                self.config.key_package_stock
            };
            let stock = stocks.of(suite.code_point());
            published += self.top_up_suite(suite, stock, target).await?;
        }
        Ok(published)
    }

    /// Tops one suite's stock up to `target`, and replaces its last-resort package if due.
    async fn top_up_suite(
        &mut self,
        suite: CipherSuite,
        stock: KeyPackageStock,
        target: u32,
    ) -> Result<u32> {
        let now = now_ms();
        let rotate_last_resort = !stock.has_last_resort || {
            let published = self
                .store
                .lock()
                .transaction()?
                .last_resort_published_at(suite)?;
            let rotation = self.config.last_resort_rotation.as_millis() as i64;
            published.is_none_or(|at| now - at >= rotation)
        };
        if stock.available * 2 >= target && !rotate_last_resort {
            return Ok(0);
        }
        let count = target.saturating_sub(stock.available);
        let config = self.group_config(suite);
        // The private keys are stored before the packages are published: a Welcome for a
        // published package always finds its key.
        let (packages, last_resort) = {
            let mut store = self.store.lock();
            let tx = store.transaction()?;
            let provider = tx.provider();
            let packages = self
                .identity
                .key_packages(&provider, &config, count as usize)?;
            let last_resort = if rotate_last_resort {
                Some(self.identity.last_resort_key_package(&provider, &config)?)
            } else {
                None
            };
            tx.record_key_packages(&packages, now)?;
            tx.record_key_packages(last_resort.as_slice(), now)?;
            tx.commit()?;
            (packages, last_resort)
        };
        let new_last_resort = last_resort.as_ref().map(|p| p.reference.clone());
        let body = PublishKeyPackages {
            ciphersuite: Some(suite.code_point()),
            key_packages: packages.into_iter().map(|p| p.bytes.into()).collect(),
            last_resort: last_resort.map(|p| p.bytes.into()),
        };
        self.ds.publish_key_packages(&body).await?;
        // The server replaced the suite's previous last-resort package: its keys go after
        // the grace.
        if let Some(current) = new_last_resort {
            let mut store = self.store.lock();
            let tx = store.transaction()?;
            tx.retire_last_resorts(suite, &current, now_ms())?;
            tx.commit()?;
        }
        Ok(count)
    }

    /// Deletes the private keys of this device's key packages that no Welcome can use any
    /// more: one-time packages past their lifetime, last-resort packages replaced by a newer
    /// one, each after [`ClientConfig::key_package_grace`](crate::ClientConfig).
    fn forget_used_up_key_packages(&mut self) -> Result<()> {
        let grace = self.config.key_package_grace.as_millis() as i64;
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        let used_up = tx.key_packages_to_forget(now_ms(), grace)?;
        if used_up.is_empty() {
            return Ok(());
        }
        let provider = tx.provider();
        for reference in &used_up {
            self.identity.delete_key_package(&provider, reference)?;
            tx.forget_key_package(reference)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub(super) async fn top_up_if_due(&mut self) -> Result<()> {
        let due = self
            .last_stock_check
            .is_none_or(|t| t.elapsed() >= STOCK_CHECK);
        if due {
            self.top_up_key_packages().await?;
        }
        Ok(())
    }
}

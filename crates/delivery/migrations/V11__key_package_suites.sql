-- Key packages per ciphersuite: a device publishes packages for every suite its signature key
-- signs in (an Ed25519 device for 0x0001, 0x0003 and the X-Wing draft suite), each suite with
-- its own stock and last-resort package, and a claim for a group takes the group's suite.
-- Packages stored before this migration are in the suite their device registered with.
ALTER TABLE key_packages ADD COLUMN ciphersuite INTEGER NOT NULL DEFAULT 0;
UPDATE key_packages
   SET ciphersuite = (SELECT d.ciphersuite FROM devices d WHERE d.id = key_packages.device_id);
DROP INDEX key_packages_by_device;
CREATE INDEX key_packages_by_device ON key_packages (device_id, ciphersuite, last_resort, id);

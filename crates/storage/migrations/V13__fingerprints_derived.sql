-- A device's fingerprint is a function of its name and key (1,024 hashes): it is derived
-- when shown rather than stored, so that meeting thousands of devices at once (joining a
-- large conversation) costs no hashing. The key it derives from stays.
ALTER TABLE devices DROP COLUMN fingerprint;

-- A conversation this device was added to by someone this profile had never talked to: an
-- invitation request, which the user accepts or declines. Until accepted, nothing is sent to
-- the group (no message, commit or key rotation); what arrives is still read, to keep up.
ALTER TABLE conversations ADD COLUMN request INTEGER NOT NULL DEFAULT 0;

-- What each device's queue holds, kept with every enqueue and dequeue so that a delivery
-- can check the recipients' quotas without counting their queues. `queued_bytes` counts the
-- message (and ratchet tree) once per queue row that refers to it: what the device would
-- fetch, not what the disk holds (each message is stored once).
ALTER TABLE devices ADD COLUMN queued_items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN queued_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE devices SET
    queued_items = (SELECT COUNT(*) FROM queue WHERE queue.device_id = devices.id),
    queued_bytes = (SELECT COALESCE(SUM(length(m.message) + COALESCE(length(m.ratchet_tree), 0)), 0)
                    FROM queue q JOIN messages m ON m.id = q.message_id
                    WHERE q.device_id = devices.id);

-- Delivery receipts: how far each member has received a conversation, and how far this
-- device has told the authors of what it received.
CREATE TABLE delivery_receipts (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_name       TEXT    NOT NULL,
    up_to           INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_name)
) WITHOUT ROWID;

ALTER TABLE conversations ADD COLUMN delivery_sent INTEGER NOT NULL DEFAULT 0;

-- What arrived before this version is not reported: its authors have long moved on.
UPDATE conversations SET delivery_sent = COALESCE(
    (SELECT MAX(id) FROM messages WHERE messages.conversation_id = conversations.id), 0);

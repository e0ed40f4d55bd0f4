-- Device store, version 5: visits signed by the device (issue 12;
-- docs/sync-protocol.md §6.1).

-- outbox.device_signature: the tablet's signature (schema.DeviceSignature
-- as JSON) of the visit or amendment the mutation signs, sent with it;
-- '' for any other mutation. The tablet's own key is in sync_state
-- (device_key: the Ed25519 seed, base64), made on first start.
ALTER TABLE outbox ADD COLUMN device_signature TEXT NOT NULL DEFAULT '';

-- An account setting of spec §4.4: revoking the only certificate of an
-- order through PUT /certificate/{id}/revoke leaves the order active (it
-- can be reissued) unless this is set, when the order is revoked with it.
ALTER TABLE accounts ADD COLUMN revoke_order_with_certificate INTEGER NOT NULL DEFAULT 0;

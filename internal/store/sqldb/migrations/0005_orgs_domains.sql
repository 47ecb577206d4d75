-- Issue 4: organizations and domains. Verified contacts of organization
-- validations, and the domains' owner, validation types and DCV state.
ALTER TABLE organization_validations ADD COLUMN verified_users TEXT NOT NULL DEFAULT '[]'; -- JSON []store.Contact

ALTER TABLE domains ADD COLUMN organization_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN container_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE domains ADD COLUMN validation_types TEXT NOT NULL DEFAULT '[]'; -- JSON array: ov, ev
ALTER TABLE domains ADD COLUMN dcv_method TEXT NOT NULL DEFAULT 'email';
ALTER TABLE domains ADD COLUMN dcv_token TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN dcv_token_expires TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN email_array TEXT NOT NULL DEFAULT '[]';
ALTER TABLE domains ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN last_submitted_at TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN dcv_status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE domains ADD COLUMN dcv_validated_method TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN dcv_approved_at TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN dcv_expires_at TEXT NOT NULL DEFAULT '';
CREATE INDEX domains_account_dcv ON domains(account_id, dcv_status, dcv_expires_at);
